"""PCA inference through the real `serve` program: every content type in and out, the official
client's serializers, bad widths, and a model written in the service's layout by someone else."""
import io
import json
import os

import mxnet as mx
import numpy as np
from sagemaker.amazon.common import RecordDeserializer, RecordSerializer
from sagemaker.deserializers import JSONDeserializer

from helpers import served
from pcadata import ALGO, aligned, csv, digits, sklearn_pca

ROWS = slice(1500, 1510)


def _expected(model):
    """sklearn's projections of the rows, in the artifact's (ascending) order."""
    X = model.X
    ref = sklearn_pca(X)
    comps = aligned(ref.components_.T[:, ::-1], model.arrays["v"])
    return (X[ROWS].astype(np.float64) - ref.mean_) @ comps


def _check(got, model):
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), _expected(model), rtol=1e-3, atol=2e-3)


def test_json_dense_and_sparse_in_projections_out(regular_model):
    X, srv = regular_model.X, regular_model.server
    body = json.dumps({"instances": [{"features": r.tolist()} for r in X[ROWS]]})
    r = srv.post(body, "application/json", "application/json")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    out = r.json()
    assert list(out) == ["projections"] and all(list(p) == ["projection"] for p in out["projections"])
    _check([p["projection"] for p in out["projections"]], regular_model)
    sparse = [{"data": {"features": {"keys": np.flatnonzero(r).tolist(), "shape": [64],
                                     "values": r[r != 0].tolist()}}} for r in X[ROWS]]
    r = srv.post(json.dumps({"instances": sparse}), "application/json")  # no Accept: JSON
    assert r.status_code == 200, r.text
    _check([p["projection"] for p in r.json()["projections"]], regular_model)


def test_csv_and_jsonlines(regular_model):
    X, srv = regular_model.X, regular_model.server
    r = srv.post(csv(X[ROWS]), "text/csv", "text/csv")
    assert r.status_code == 200, r.text
    _check([[float(v) for v in line.split(",")] for line in r.text.strip().splitlines()], regular_model)
    lines = "\n".join(json.dumps({"features": row.tolist()}) for row in X[ROWS])
    r = srv.post(lines, "application/jsonlines", "application/jsonlines")
    assert r.status_code == 200, r.text
    objs = [json.loads(line) for line in r.text.strip().splitlines()]
    assert all(list(o) == ["projection"] for o in objs)
    _check([o["projection"] for o in objs], regular_model)
    # the JSON answer also reads with the client's JSONDeserializer
    r = srv.post(csv(X[ROWS]), "text/csv;label_size=0", "application/json")
    got = JSONDeserializer().deserialize(io.BytesIO(r.content), "application/json")
    _check([p["projection"] for p in got["projections"]], regular_model)


def test_official_client_record_serializers(regular_model):
    """PCAPredictor's pair: RecordSerializer in (float64 numpy -> Float64 tensors), records out."""
    X, srv = regular_model.X, regular_model.server
    ser, de = RecordSerializer(), RecordDeserializer()
    r = srv.post(ser.serialize(X[ROWS].astype(np.float64)), ser.CONTENT_TYPE, de.ACCEPT[0])
    assert r.status_code == 200, r.text
    records = de.deserialize(io.BytesIO(r.content), r.headers["Content-Type"])
    assert len(records) == 10
    _check([rec.label["projection"].float32_tensor.values for rec in records], regular_model)
    assert all(len(rec.label["projection"].float32_tensor.keys) == 0 for rec in records)


def test_wrong_width_is_400_and_the_server_keeps_serving(regular_model):
    X, srv = regular_model.X, regular_model.server
    r = srv.post(csv(X[ROWS, :63]), "text/csv")
    assert r.status_code == 400 and "64 features" in r.text and "got 63" in r.text
    wide = [{"features": r.tolist() + [1.0]} for r in X[ROWS]]
    r = srv.post(json.dumps({"instances": wide}), "application/json")
    assert r.status_code == 400 and "got 65" in r.text
    r = srv.post(b"1,2,x\n", "text/csv")
    assert r.status_code == 400
    r = srv.post(csv(X[ROWS]), "text/csv", "application/json")
    assert r.status_code == 200
    _check([p["projection"] for p in r.json()["projections"]], regular_model)


def test_model_in_the_service_layout_serves(tmp_path):
    """What the service writes (mx.nd.save dict, ascending order) loads and answers (x - mean)·v."""
    X = digits().astype(np.float64)
    ref = sklearn_pca(X, 5)
    v = ref.components_.T[:, ::-1].astype(np.float32)
    model = tmp_path / "model"
    model.mkdir()
    mx.nd.save(str(model / "model_algo-1"), {"mean": mx.nd.array(ref.mean_.reshape(1, -1)),
                                              "s": mx.nd.array(ref.singular_values_[::-1].copy()),
                                              "v": mx.nd.array(v)})
    with served(tmp_path, ALGO) as srv:
        r = srv.post(csv(X[:20]), "text/csv", "application/json")
        assert r.status_code == 200, r.text
        got = np.array([p["projection"] for p in r.json()["projections"]])
        np.testing.assert_allclose(got, ref.transform(X[:20])[:, ::-1], rtol=1e-4, atol=1e-3)
        r = srv.post(csv(X[:2, :10]), "text/csv")
        assert r.status_code == 400


def test_our_artifact_in_the_census_notebook_code(regular_model):
    """The census notebook's reading of model_algo-1: mx.ndarray.load, s and v as frames, the last
    columns are the top components and s**2 / sum gives their explained variance."""
    import pandas as pd
    params = mx.ndarray.load(os.path.join(regular_model.result.model_dir, "model_algo-1"))
    s = pd.DataFrame(params["s"].asnumpy())
    v = pd.DataFrame(params["v"].asnumpy())
    top = 5
    ratio = (s.iloc[-top:, :] ** 2 / (s ** 2).sum()).values.ravel()[::-1]
    ref = sklearn_pca(regular_model.X)
    np.testing.assert_allclose(ratio, ref.singular_values_[:top] ** 2 / (ref.singular_values_ ** 2).sum(),
                               rtol=1e-4)
    comps = v.iloc[:, -top:].values[:, ::-1]
    cos = np.abs(np.sum(comps * ref.components_[:top].T, axis=0))
    assert cos.min() > 1 - 1e-4
    assert params["mean"].shape == (1, 64)
