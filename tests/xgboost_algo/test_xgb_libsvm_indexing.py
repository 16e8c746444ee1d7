"""libsvm indexing as xgboost's parser heuristic reads it: no index 0 anywhere means 1-based, in training
(train and validation decided together) and in requests (each request by itself, as the image does)."""
import os
import re

import numpy as np
import pytest
import scipy.sparse
import xgboost as xgb

from helpers import job_dir, run_train, served
from xgb_data import GUIDE, load_model

# the image's own request sample (test_abalone.py): 8 features, 1-based
SAMPLE = b"10 1:2 2:0.645 3:0.515 4:0.15 5:1.212 6:0.515 7:0.2055 8:0.385"


def _sparse(X):
    """What a libsvm line means: absent features are missing, not 0."""
    return scipy.sparse.csr_matrix(X.astype(np.float32))


def _one_based(X, y):
    return ("\n".join("%g " % t + " ".join("%d:%g" % (j + 1, v) for j, v in enumerate(row) if v != 0)
                      for row, t in zip(X, y)) + "\n").encode()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("onebased")
    rng = np.random.RandomState(7)
    X = np.round(rng.rand(240, 8) * 3, 3)
    X[rng.rand(240, 8) < 0.2] = 0  # sparse rows; column 0 is sometimes absent, never index 0
    y = np.round(X[:, 0] * 4 + X[:, 7] + rng.rand(240), 3)
    train, val = _one_based(X[:200], y[:200]), _one_based(X[200:], y[200:])
    # the validation file goes through the Python parser (a comment line): same decision, same shift
    job_dir(base, {"num_round": 5, "max_depth": 3, "eval_metric": "rmse"},
            {"train": {"content_type": "text/x-libsvm", "files": {"abalone.train": train}},
             "validation": {"content_type": "libsvm", "files": {"v": b"# held out\n" + val}}})
    r = run_train(base, "xgboost")
    assert r.rc == 0, r.log
    path = os.path.join(str(base), "train.libsvm")
    with open(path, "wb") as f:
        f.write(train)
    return base, r, X, y, path


def test_one_based_file_gives_the_service_model(trained):
    base, r, X, y, path = trained
    model = load_model(os.path.join(r.model_dir, "xgboost-model"))
    assert model.num_features() == 8 and "index i is feature i-1" in r.log
    params = dict(GUIDE, max_depth=3, eval_metric="rmse")
    # xgboost's parser with its detection heuristic: the same model, tree for tree
    detected = xgb.DMatrix(path + "?format=libsvm&indexing_mode=-1")
    ref = xgb.train(params, detected, 5)
    assert model.get_dump() == ref.get_dump()
    # DMatrix('file?format=libsvm') reads indices as written (9 columns, column 0 empty): the same
    # trees with every feature one higher, and the same predictions on the file
    as_written = xgb.DMatrix(path + "?format=libsvm")
    assert as_written.num_col() == 9
    ref0 = xgb.train(params, as_written, 5)
    shifted = [re.sub(r"\[f(\d+)<", lambda m: "[f%d<" % (int(m.group(1)) - 1), t) for t in ref0.get_dump()]
    assert model.get_dump() == shifted
    np.testing.assert_allclose(model.predict(detected), ref0.predict(as_written), atol=1e-6)
    # the validation channel was read the same way: its metric is the model's rmse on it
    last = float(re.findall(r"validation-rmse:([0-9.]+)", r.log)[-1])
    pred = model.inplace_predict(_sparse(X[200:]))
    assert abs(last - np.sqrt(np.mean((pred - y[200:]) ** 2))) < 1e-4


def test_one_based_requests_are_answered_like_the_service(trained):
    base, r, X, y, path = trained
    model = load_model(os.path.join(r.model_dir, "xgboost-model"))
    expected = model.inplace_predict(_sparse(X[:5]))
    sample = model.inplace_predict(np.array([[2, 0.645, 0.515, 0.15, 1.212, 0.515, 0.2055, 0.385]], np.float32))
    with served(base, "xgboost") as s:
        res = s.post(SAMPLE, "text/libsvm", "application/json")  # the image's integration request
        assert res.status_code == 200, res.text
        np.testing.assert_allclose([res.json()["predictions"][0]["score"]], sample, atol=1e-6)
        res = s.post(SAMPLE, "text/libsvm", "text/csv")
        np.testing.assert_allclose([float(v) for v in res.text.split(",")], sample, atol=1e-6)
        # without labels, several records, the image's short content type name
        body = b"\n".join(line.split(b" ", 1)[1] for line in _one_based(X[:5], y[:5]).splitlines())
        res = s.post(body, "libsvm", "application/json")
        assert res.status_code == 200, res.text
        np.testing.assert_allclose([p["score"] for p in res.json()["predictions"]], expected, atol=1e-6)
        # a 0-based request is read as written
        zero = b"0:2 1:0.645 2:0.515 3:0.15 4:1.212 5:0.515 6:0.2055 7:0.385"
        np.testing.assert_allclose([s.post(zero, "text/libsvm", "application/json").json()["predictions"][0]
                                    ["score"]], sample, atol=1e-6)
        # a ninth feature is a 400 naming it, and the server keeps serving
        res = s.post(SAMPLE + b" 9:1", "text/libsvm")
        assert res.status_code == 400 and "feature index 8" in res.text and "8 features" in res.text
        assert s.post(SAMPLE, "text/libsvm").status_code == 200
