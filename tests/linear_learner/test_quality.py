"""Model quality against scikit-learn on the same split, through the real train and serve programs."""
import json

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler

from lldata import ALGO, csv_bytes


def _served_predictions(model, X):
    srv = model.server
    r = srv.post(csv_bytes(X), "text/csv", "application/json")
    assert r.status_code == 200, r.text
    return json.loads(r.text)["predictions"]


def _sk_accuracy(m):
    sc = StandardScaler().fit(m.Xtr)
    lr = LogisticRegression(max_iter=2000).fit(sc.transform(m.Xtr), m.ytr)
    return lr.score(sc.transform(m.Xte), m.yte)


def test_binary_accuracy_matches_logistic_regression(binary_model):
    m = binary_model
    preds = _served_predictions(m, m.Xte)
    acc = np.mean([p["predicted_label"] == int(t) for p, t in zip(preds, m.yte)])
    assert acc >= _sk_accuracy(m) - 0.01
    logged = m.result.metrics(r"test binary_classification_accuracy <score>=(\S+)")
    assert abs(logged[0] - acc) < 1e-9


def test_multiclass_accuracy_matches_logistic_regression(multiclass_model):
    m = multiclass_model
    preds = _served_predictions(m, m.Xte)
    acc = np.mean([p["predicted_label"] == int(t) for p, t in zip(preds, m.yte)])
    assert acc >= _sk_accuracy(m) - 0.01
    assert abs(m.result.metrics(r"test multiclass_accuracy <score>=(\S+)")[0] - acc) < 1e-9


def test_regression_rmse_matches_ridge(regression_model):
    m = regression_model
    preds = _served_predictions(m, m.Xte)
    rmse = float(np.sqrt(np.mean((np.array([p["score"] for p in preds]) - m.yte) ** 2)))
    sc = StandardScaler().fit(m.Xtr)
    ridge = Ridge().fit(sc.transform(m.Xtr), m.ytr)
    sk = float(np.sqrt(np.mean((ridge.predict(sc.transform(m.Xte)) - m.yte) ** 2)))
    assert rmse <= 1.05 * sk, (rmse, sk)
    assert abs(m.result.metrics(r"test rmse <loss>=(\S+)")[0] - rmse) / rmse < 1e-4
