"""Data for the docker smoke test (tests/images): a few noisy daily sines in JSON Lines."""
import json

import numpy as np


def _series(n, length, seed):
    rng = np.random.RandomState(seed)
    t = np.arange(length)
    return [{"start": "2024-01-01", "target": (10 + 3 * np.sin(2 * np.pi * t / 7 + i)
                                               + rng.randn(length) * 0.3).round(3).tolist()}
            for i in range(n)]


def _jsonl(records):
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def smoke(root):
    train = _series(6, 80, 0)
    test = _series(6, 90, 0)
    config = {"num_samples": 10, "output_types": ["mean", "quantiles"], "quantiles": ["0.1", "0.9"]}
    body = json.dumps({"instances": [{"start": r["start"], "target": r["target"][:60]} for r in train[:2]],
                       "configuration": config}).encode()
    return {
        "channels": {"train": {"content_type": "application/jsonlines", "files": {"train.json": _jsonl(train)}},
                     "test": {"content_type": "application/jsonlines", "files": {"test.json": _jsonl(test)}}},
        "serve": {"body": body, "content_type": "application/json", "accept": "application/json", "records": 2},
        "transform": {"files": {"in.jsonl": _jsonl([{"start": r["start"], "target": r["target"][:60]}
                                                    for r in train[:3]])},
                      "content_type": "application/jsonlines", "accept": "application/jsonlines", "split": "Line",
                      "records": {"in.jsonl": 3}},
    }
