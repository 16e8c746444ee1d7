"""Bad hyperparameters and data: ClientError in output/failure naming the hyperparameter, or the file
and the line/record; no model written."""
import os

import numpy as np
import pytest
import scipy.sparse as sp

import containers.pca as pkg
from contract import declaration
from contract.errors import ClientError
from helpers import job_dir, run_train
from pcadata import ALGO, RECORDIO, client_hyperparameters, csv, dense_recordio, digits, sparse_recordio

DECL = declaration.load(os.path.join(os.path.dirname(pkg.__file__), "algorithm.yaml"))
X = digits()[:300].astype(np.float32)
GOOD = {"feature_dim": 64, "num_components": 5, "mini_batch_size": 100}


def _fail(tmp_path, hp, channels):
    base = job_dir(tmp_path, hp, channels)
    r = run_train(base, ALGO)
    assert r.rc != 0, r.log[-2000:]
    assert r.failure is not None and r.failure.startswith("ClientError: "), r.failure
    assert not os.path.exists(os.path.join(r.model_dir, "model_algo-1"))
    return r.failure


def _rec(data, name="part-7.pbr"):
    return {"train": {"content_type": RECORDIO, "files": {name: data}}}


@pytest.mark.parametrize("hp, words", [
    (dict(GOOD, num_components=65), ["num_components", "65", "feature_dim 64"]),
    (dict(GOOD, extra_components=5), ["extra_components", "randomized"]),
])
def test_bad_hyperparameters_name_themselves(tmp_path, hp, words):
    failure = _fail(tmp_path, hp, _rec(dense_recordio(X)))
    for w in words:
        assert w in failure, failure


@pytest.mark.parametrize("hp, words", [
    (dict(GOOD, algorithm_mode="fast"), ["algorithm_mode", "regular", "randomized"]),
    ({"feature_dim": 64, "mini_batch_size": 100}, ["num_components", "missing"]),
    (dict(GOOD, subtract_mean="maybe"), ["subtract_mean"]),
    (dict(GOOD, extra_components=-2), ["extra_components"]),
    (dict(GOOD, mini_batch_size=0), ["mini_batch_size"]),
    (dict(GOOD, num_component=3), ["num_component"]),
])
def test_declaration_rejects(hp, words):
    """The declared types and ranges, through the validation `train` runs before reading data."""
    with pytest.raises(ClientError) as e:
        declaration.validate(DECL["hyperparameters"], {k: str(v) for k, v in hp.items()}, DECL["ignored"])
    for w in words:
        assert w in str(e.value), str(e.value)


def test_declaration_accepts_what_the_client_and_the_service_send():
    hp = declaration.validate(DECL["hyperparameters"], dict(
        client_hyperparameters(num_components=3, algorithm_mode="randomized", subtract_mean=False,
                               extra_components=-1),
        force_dense="true", epochs="1", _kvstore="dist_sync", _num_kv_servers="auto", _num_gpus="auto",
        _log_level="info", _tuning_objective_metric=""), DECL["ignored"])
    assert hp == {"feature_dim": 64, "mini_batch_size": 500, "num_components": 3,
                  "algorithm_mode": "randomized", "subtract_mean": False, "extra_components": -1}


def test_wrong_feature_dim_names_the_file_and_record(tmp_path):
    failure = _fail(tmp_path, dict(GOOD, feature_dim=60), _rec(dense_recordio(X)))
    assert "part-7.pbr" in failure and "record 0" in failure and "feature_dim is 60" in failure, failure


def test_sparse_key_beyond_feature_dim(tmp_path):
    wide = sp.hstack([sp.csr_matrix(X), sp.csr_matrix(np.ones((len(X), 1), np.float32))]).tocsr()
    failure = _fail(tmp_path, GOOD, _rec(sparse_recordio(wide)))
    assert "part-7.pbr" in failure and "feature_dim is 64" in failure, failure


def test_non_numeric_csv_field_names_the_file_and_line(tmp_path):
    lines = csv(X).decode().splitlines()
    lines[41] = lines[41].replace(",", ",abc,", 1).rsplit(",", 1)[0]
    failure = _fail(tmp_path, GOOD, {"train": {"content_type": "text/csv;label_size=0",
                                               "files": {"bad.csv": ("\n".join(lines) + "\n").encode()}}})
    assert "bad.csv" in failure and "line 42" in failure, failure
