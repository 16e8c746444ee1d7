"""Data for the docker smoke test (tests/images): a tiny two-class corpus for supervised mode."""
import numpy as np

POS = "good great fine nice lovely superb".split()
NEG = "bad awful poor nasty dull terrible".split()


def _lines(n, seed):
    rng = np.random.RandomState(seed)
    out = []
    for i in range(n):
        label, words = ("pos", POS) if i % 2 else ("neg", NEG)
        out.append("__label__%s %s" % (label, " ".join(rng.choice(words, size=6))))
    return out


def smoke(root):
    body = b'{"instances": ["good great nice", "awful poor dull"], "configuration": {"k": 1}}'
    batch = "".join('{"source": "%s", "k": 1}\n' % " ".join(line.split()[1:]) for line in _lines(10, 3))
    return {
        "channels": {"train": {"content_type": "text/plain",
                               "files": {"train.txt": ("\n".join(_lines(400, 0)) + "\n").encode()}},
                     "validation": {"content_type": "text/plain",
                                    "files": {"v.txt": ("\n".join(_lines(100, 1)) + "\n").encode()}}},
        "serve": {"body": body, "content_type": "application/json", "accept": "application/json", "records": 2},
        "transform": {"files": {"in.jsonl": batch.encode()}, "content_type": "application/jsonlines",
                      "accept": "application/jsonlines", "split": "Line", "records": {"in.jsonl": 10}},
    }
