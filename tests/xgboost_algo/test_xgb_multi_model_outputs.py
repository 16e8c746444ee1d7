"""`serve` as a multi-model endpoint (SAGEMAKER_MULTI_MODEL=true, two workers: the loaded models are the
same whichever answers), with SAGEMAKER_INFERENCE_OUTPUT selecting the image's fields per objective."""
import io
import json
import math
import os

import numpy as np
import pytest
import requests
import xgboost as xgb

from helpers import served
from xgb_data import as_read, csv_bytes

KEYS = ["predicted_label", "labels", "probability", "probabilities", "raw_score", "raw_scores", "predicted_score"]


def _model(base, name, params, X, y, rounds=3, files=("xgboost-model",)):
    d = os.path.join(str(base), "models", name)
    os.makedirs(d)
    bsts = []
    for i, f in enumerate(files):
        bst = xgb.train(dict(params, seed=i, subsample=0.8), xgb.DMatrix(X, label=y), rounds)
        bst.save_model(os.path.join(d, f))
        bsts.append(bst)
    return d, bsts


def _expected(objective, raw, num_class=0):
    """The image's fields (serve_utils.get_selected_predictions), written out per objective."""
    out = []
    for r in raw:
        if objective == "binary:logistic":
            p = float(r)
            rec = {"predicted_label": int(p > 0.5), "labels": [0, 1], "probability": p,
                   "probabilities": [1 - p, p], "raw_score": p, "raw_scores": [1 - p, p]}
        elif objective == "multi:softprob":
            rec = {"predicted_label": int(np.argmax(r)), "labels": list(range(num_class)),
                   "probability": float(max(r)), "probabilities": [float(v) for v in r],
                   "raw_score": float(max(r)), "raw_scores": [float(v) for v in r]}
        else:
            rec = {"predicted_score": float(r)}
        rec.update((k, float("nan")) for k in KEYS if k not in rec)
        out.append(rec)
    return out


def _same(got, want):
    assert set(got) == set(want)
    for k in want:
        a, b = np.asarray(got[k], dtype=np.float64), np.asarray(want[k], dtype=np.float64)
        assert a.shape == b.shape and np.allclose(a, b, atol=1e-6, equal_nan=True), (k, got[k], want[k])


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    base = tmp_path_factory.mktemp("mme")
    rng = np.random.RandomState(5)
    X = as_read(rng.rand(200, 4))
    models = {
        "binary": _model(base, "binary", {"objective": "binary:logistic"}, X, (X[:, 0] > 0.5).astype(np.float32)),
        "softprob": _model(base, "softprob", {"objective": "multi:softprob", "num_class": 3}, X,
                           np.minimum(2, (X[:, 1] * 3).astype(int)).astype(np.float32)),
        # what k-fold training leaves: several files, served as the mean of their predictions
        "folds": _model(base, "folds", {"objective": "reg:squarederror"}, X, X[:, 2] * 5,
                        files=("xgboost-model-0", "xgboost-model-1")),
    }
    env = {"SAGEMAKER_MULTI_MODEL": "true", "SAGEMAKER_MODEL_SERVER_WORKERS": "2",
           "SAGEMAKER_INFERENCE_OUTPUT": ",".join(KEYS)}
    with served(base, "xgboost", env=env) as s:
        yield s, models, X


def _load(s, name, url):
    return requests.post(s.url + "/models", data=json.dumps({"model_name": name, "url": url}),
                         headers={"Content-Type": "application/json"}, timeout=60)


def _invoke(s, name, body, accept="application/json", ctype="text/csv"):
    return requests.post(s.url + "/models/%s/invoke" % name, data=body,
                         headers={"Content-Type": ctype, "Accept": accept}, timeout=60)


def test_management_api_answers_as_the_inference_toolkit(endpoint):
    s, models, X = endpoint
    assert requests.get(s.url + "/models", timeout=10).json() == {"models": []}
    r = requests.delete(s.url + "/models/nope", timeout=10)
    assert r.status_code == 404 and r.json() == {"code": 404, "type": "ModelNotFoundException",
                                                 "message": "Model not found: nope"}
    r = _invoke(s, "nope", csv_bytes(X[:1]))
    assert r.status_code == 404 and r.json()["message"] == "Model not found: nope"
    r = requests.post(s.url + "/models", data=json.dumps({"model_name": "x"}),
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400 and r.json()["message"] == "Parameter url is required."
    assert _load(s, "ghost", "/nonexistent/dir").status_code == 404
    for name, (url, _) in models.items():
        r = _load(s, name, url)
        assert r.status_code == 200 and r.json() == {"status": "Workers scaled"}, r.text
    r = _load(s, "binary", models["binary"][0])
    assert r.status_code == 409 and r.json() == {"code": 409, "type": "ConflictStatusException",
                                                 "message": "Model binary is already registered."}
    listed = requests.get(s.url + "/models", timeout=10).json()
    assert listed == {"models": [{"modelName": n, "modelUrl": models[n][0]} for n in sorted(models)]}
    page = requests.get(s.url + "/models?limit=2", timeout=10).json()
    assert [m["modelName"] for m in page["models"]] == ["binary", "folds"] and page["nextPageToken"] == "2"
    assert requests.get(s.url + "/models/softprob", timeout=10).json() == {"modelName": "softprob",
                                                                           "modelUrl": models["softprob"][0]}
    # every worker answers for every loaded model, and none for an unloaded one
    for _ in range(6):
        assert _invoke(s, "binary", csv_bytes(X[:2])).status_code == 200
    r = requests.delete(s.url + "/models/binary", timeout=10)
    assert r.status_code == 200 and r.json() == {"status": 'Model "binary" unregistered'}
    for _ in range(6):
        assert _invoke(s, "binary", csv_bytes(X[:2])).status_code == 404
    assert _load(s, "binary", models["binary"][0]).status_code == 200
    for _ in range(4):
        assert _invoke(s, "binary", csv_bytes(X[:2])).status_code == 200
    r = _invoke(s, "binary", b"1,2\n")  # the model's own 400, the endpoint keeps serving
    assert r.status_code == 400 and "4 features" in r.text
    assert _invoke(s, "softprob", csv_bytes(X[:2])).status_code == 200


@pytest.mark.parametrize("name", ["binary", "softprob", "folds"])
def test_selected_fields_per_objective(endpoint, name):
    s, models, X = endpoint
    if requests.get(s.url + "/models/" + name, timeout=10).status_code == 404:
        assert _load(s, name, models[name][0]).status_code == 200
    bsts = models[name][1]
    raw = np.mean([b.inplace_predict(X[:4]) for b in bsts], axis=0)
    objective = json.loads(bsts[0].save_config())["learner"]["objective"]["name"]
    want = _expected(objective, raw, 3)
    r = _invoke(s, name, csv_bytes(X[:4]))
    assert r.status_code == 200, r.text
    got = json.loads(r.text)["predictions"]  # NaN for the fields the objective lacks, as the image writes
    for g, w in zip(got, want):
        _same(g, w)
    lines = _invoke(s, name, csv_bytes(X[:4]), "application/jsonlines").text.splitlines()
    for line, w in zip(lines, want):
        _same(json.loads(line), w)
    from sagemaker.amazon.common import read_records
    recs = read_records(io.BytesIO(_invoke(s, name, csv_bytes(X[:4]), "application/x-recordio-protobuf").content))
    for rec, w in zip(recs, want):
        _same({k: (v.float32_tensor.values if isinstance(w[k], list) else v.float32_tensor.values[0])
               for k, v in rec.label.items()}, w)
    rows = _invoke(s, name, csv_bytes(X[:4]), "text/csv").text.splitlines()
    assert len(rows) == 4
    first = rows[0]
    for k in KEYS:  # the fields in the order asked; lists as the quoted Python list
        v = want[0][k]
        if isinstance(v, list):
            text = first[1:first.index('"', 1)]
            assert np.allclose(json.loads(text), v, atol=1e-6)
            first = first[first.index('"', 1) + 2:]
        else:
            text, _, first = first.partition(",")
            assert (text == "nan" and math.isnan(v)) or abs(float(text) - v) < 1e-6, (k, text, v)
