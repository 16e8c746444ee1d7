"""`serve` with artifacts other than our own: pickled Boosters from the older images, and junk."""
import os
import pickle
import time

import numpy as np
import requests
import xgboost as xgb

from helpers import served
from xgb_data import csv_bytes


def _model_dir(base):
    d = os.path.join(str(base), "model")
    os.makedirs(d, exist_ok=True)
    return d


def test_pickled_booster_from_older_images_is_served(tmp_path):
    rng = np.random.RandomState(1)
    X = rng.rand(60, 4).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(np.float32)
    bst = xgb.train({"objective": "binary:logistic", "base_score": 0.5}, xgb.DMatrix(X, label=y), 3)
    with open(os.path.join(_model_dir(tmp_path), "xgboost-model"), "wb") as f:
        pickle.dump(bst, f)
    with served(tmp_path, "xgboost") as s:
        res = s.post(csv_bytes(X[:7]), "text/csv", "application/json")
        assert res.status_code == 200, res.text
        got = [p["score"] for p in res.json()["predictions"]]
        np.testing.assert_allclose(got, bst.inplace_predict(X[:7]), atol=1e-6)


def _refused(base, needle):
    with served(base, "xgboost", wait_ready=False) as s:
        deadline = time.time() + 60
        while True:
            try:
                r = requests.get(s.url + "/ping", timeout=10)
                break
            except requests.RequestException:
                assert time.time() < deadline, s.log()
                time.sleep(0.2)
        assert r.status_code != 200
        assert needle in r.text and needle in s.log(), (r.text, s.log())
        assert s.post(b"1,2\n", "text/csv").status_code >= 500


def test_other_artifacts_are_refused_with_a_reason(tmp_path):
    with open(os.path.join(_model_dir(tmp_path / "junk"), "xgboost-model"), "wb") as f:
        f.write(b"this is not a model")
    _refused(tmp_path / "junk", "neither an xgboost model")
    with open(os.path.join(_model_dir(tmp_path / "pkl"), "xgboost-model"), "wb") as f:
        pickle.dump({"not": "a booster"}, f)
    _refused(tmp_path / "pkl", "not an xgboost Booster")
