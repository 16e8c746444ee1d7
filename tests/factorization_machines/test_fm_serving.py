"""The served models answer the guide's request and response layouts, and agree with the artifact read
by users' recipe (mx.module.Module.load) and with an outside computation of the model."""
import io
import json
import os
import re
import shutil
import zipfile

import mxnet as mx
import numpy as np
import requests
import scipy.sparse as sp
from sagemaker.amazon.common import RecordDeserializer, RecordSerializer, write_spmatrix_to_sparse_tensor

import fmdata

JSON, JSONL, RIO = "application/json", "application/jsonlines", "application/x-recordio-protobuf"


def _sparse_instances(X):
    X = sp.csr_matrix(X)
    return [{"data": {"features": {"keys": X[i].indices.tolist(), "shape": [X.shape[1]],
                                   "values": X[i].data.tolist()}}} for i in range(X.shape[0])]


def test_fm_regressor_sparse_json_scores_only(sparse_regressor):
    m = sparse_regressor
    X = m.Xte[:50]
    r = m.server.post(json.dumps({"instances": _sparse_instances(X)}), JSON)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith(JSON)
    preds = r.json()["predictions"]
    assert all(list(p) == ["score"] for p in preds)  # the regressor answers a score only
    expected = fmdata.learned(m.model_file).raw(X)
    np.testing.assert_allclose([p["score"] for p in preds], expected, rtol=1e-4, atol=1e-4)


def test_fm_regressor_sparse_recordio_through_the_official_client(sparse_regressor):
    m = sparse_regressor
    X = sp.csr_matrix(m.Xte[:30], dtype=np.float32)
    f = io.BytesIO()
    write_spmatrix_to_sparse_tensor(f, X)
    r = m.server.post(f.getvalue(), RIO, accept=RIO)
    assert r.status_code == 200, r.text
    records = RecordDeserializer().deserialize(io.BytesIO(r.content), RIO)
    assert len(records) == 30
    assert all(list(rec.label) == ["score"] for rec in records)
    scores = [rec.label["score"].float32_tensor.values[0] for rec in records]
    np.testing.assert_allclose(scores, fmdata.learned(m.model_file).raw(X), rtol=1e-4, atol=1e-4)


def test_fm_regressor_dense_json_and_jsonlines(dense_regressor):
    m = dense_regressor
    X = m.Xte[:20]
    expected = fmdata.learned(m.model_file).raw(X)
    r = m.server.post(json.dumps({"instances": [{"features": x.tolist()} for x in X]}), JSON)
    assert r.status_code == 200, r.text
    np.testing.assert_allclose([p["score"] for p in r.json()["predictions"]], expected, rtol=1e-4, atol=1e-4)
    body = "\n".join(json.dumps({"features": x.tolist()}) for x in X)
    r = m.server.post(body, JSONL, accept=JSONL)
    assert r.status_code == 200, r.text
    lines = [json.loads(line) for line in r.text.splitlines()]
    np.testing.assert_allclose([p["score"] for p in lines], expected, rtol=1e-4, atol=1e-4)


def test_fm_classifier_json_score_and_float_label(pairs_classifier):
    m = pairs_classifier
    X = m.Xte[:40]
    r = m.server.post(json.dumps({"instances": [{"features": x.tolist()} for x in X]}), JSON)
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    assert all(list(p) == ["score", "predicted_label"] for p in preds)  # the service's key order
    # the label is written as a float (1.0 / 0.0), as the service does
    assert re.findall(r'"predicted_label": ([^,}\s]+)', r.text) and \
        set(re.findall(r'"predicted_label": ([^,}\s]+)', r.text)) <= {"1.0", "0.0"}
    p = fmdata.sigmoid(fmdata.learned(m.model_file).raw(X))
    np.testing.assert_allclose([q["score"] for q in preds], p, rtol=1e-4, atol=1e-5)
    assert [q["predicted_label"] for q in preds] == [float(s > 0.5) for s in p]


def test_fm_classifier_recordio_and_jsonlines(pairs_classifier):
    m = pairs_classifier
    X = m.Xte[:25]
    r = m.server.post(RecordSerializer().serialize(X), RIO, accept=RIO)
    assert r.status_code == 200, r.text
    recs = RecordDeserializer().deserialize(io.BytesIO(r.content), RIO)
    scores = np.array([rec.label["score"].float32_tensor.values[0] for rec in recs])
    labels = np.array([rec.label["predicted_label"].float32_tensor.values[0] for rec in recs])
    np.testing.assert_allclose(scores, fmdata.sigmoid(fmdata.learned(m.model_file).raw(X)), rtol=1e-4, atol=1e-5)
    assert (labels == (scores > 0.5)).all()
    r = m.server.post("\n".join(json.dumps({"features": x.tolist()}) for x in X), JSONL,
                      accept="application/jsonlines; verbose=true")
    assert r.status_code == 200, r.text
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [q["predicted_label"] for q in lines] == labels.tolist()


def test_fm_bad_requests_are_4xx_and_the_server_keeps_running(sparse_regressor):
    m = sparse_regressor
    d = m.hp["feature_dim"]
    bad = {"instances": [{"data": {"features": {"keys": [3, d], "shape": [d], "values": [1.0, 1.0]}}}]}
    r = m.server.post(json.dumps(bad), JSON)
    assert r.status_code == 400
    assert str(d) in r.text and "feature_dim" in r.text
    r = m.server.post("1,2,3\n", "text/csv")  # the guide: no CSV for factorization machines
    assert r.status_code == 415
    r = m.server.post(json.dumps({"instances": [{"features": [1.0, 2.0]}]}), JSON)
    assert r.status_code == 400 and "feature_dim" in r.text
    r = m.server.post(b"not json", JSON)
    assert r.status_code == 400
    assert requests.get(m.server.url + "/ping").status_code == 200
    ok = m.server.post(json.dumps({"instances": _sparse_instances(m.Xte[:1])}), JSON)
    assert ok.status_code == 200


def test_fm_users_module_load_recipe_scores_like_the_server(pairs_classifier, tmp_path):
    """unzip model_algo-1; mv symbol.json model-symbol.json; mv params model-0000.params; Module.load."""
    m = pairs_classifier
    with zipfile.ZipFile(m.model_file) as z:
        assert {"symbol.json", "params"} <= set(z.namelist())
        z.extractall(tmp_path)
    shutil.move(os.path.join(tmp_path, "symbol.json"), os.path.join(tmp_path, "model-symbol.json"))
    shutil.move(os.path.join(tmp_path, "params"), os.path.join(tmp_path, "model-0000.params"))
    mod = mx.module.Module.load(os.path.join(tmp_path, "model"), 0, False, label_names=["out_label"])
    d, k = m.hp["feature_dim"], m.hp["num_factors"]
    assert mod._arg_params["v"].shape == (d, k)
    assert mod._arg_params["w1_weight"].shape == (d, 1)
    assert mod._arg_params["w0_weight"].shape == (1,)
    X = m.Xte[:16]
    mod.bind(data_shapes=[("data", X.shape)], for_training=False)
    mod.forward(mx.io.DataBatch([mx.nd.array(X)]), is_train=False)
    local = mod.get_outputs()[0].asnumpy().ravel()
    r = m.server.post(json.dumps({"instances": [{"features": x.tolist()} for x in X]}), JSON)
    served = [p["score"] for p in r.json()["predictions"]]
    np.testing.assert_allclose(local, served, rtol=1e-4, atol=1e-5)
