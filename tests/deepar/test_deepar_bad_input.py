"""Bad training input: a ClientError naming the record (file and line) or the hyperparameter."""
import pytest

import deepar_data as dd
from helpers import job_dir, run_train

HP = {"time_freq": "M", "prediction_length": 4, "context_length": 4, "epochs": 1}
GOOD = {"start": "2001-01-01 00:00:00", "target": [float(v) for v in range(1, 30)]}


@pytest.mark.parametrize("bad, hp, words", [
    ({"start": "2001-01-01", "target": [0.0] * 20 + [None]}, {}, ["train.json line 2", "only zeros"]),
    ({"start": "2001-01-01", "target": [1.0, 2.0, 3.0]}, {}, ["train.json line 2", "fewer than"]),
    ({"start": "the first of May", "target": [1.0] * 20}, {}, ["train.json line 2", "start"]),
    ({"start": "2001-01-01", "target": [1.0] * 20, "dynamic_feat": [[1.0] * 19]},
     {"num_dynamic_feat": "1"}, ["train.json line 2", "dynamic_feat", "length"]),
    (None, {"time_freq": "Q"}, ["time_freq", "Q"]),
    (None, {"likelihood": "poisson"}, ["likelihood"]),
])
def test_deepar_bad_training_input_is_client_error(tmp_path, bad, hp, words):
    first = dict(GOOD, dynamic_feat=[[0.0] * 29]) if "num_dynamic_feat" in hp else GOOD
    records = [first] + ([bad] if bad else [])
    job_dir(tmp_path, dict(HP, **hp), {"train": {"files": {"train.json": dd.jsonl(records)}}})
    r = run_train(tmp_path, dd.ALGO)
    assert r.rc != 0
    assert r.failure and r.failure.startswith("ClientError"), (r.failure, r.log[-2000:])
    for w in words:
        assert w in r.failure, (w, r.failure)
