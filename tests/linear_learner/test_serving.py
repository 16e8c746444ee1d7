"""Response shapes of the guide's "Linear Learner Response Formats", from the real `serve` program."""
import json

import numpy as np
import pytest

from formats import recordio
from formats.record_pb import Record
from lldata import ALGO, csv_bytes

FIELDS = {"binary": ["score", "predicted_label"], "multiclass": ["score", "predicted_label"],
          "regression": ["score"]}


def _records(body):
    out = []
    for payload in recordio.split(body)[0]:
        r = Record()
        r.ParseFromString(payload)
        out.append({k: list(v.float32_tensor.values) for k, v in r.label.items()})
    return out


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_every_accept_type_has_the_guides_shape(trained, kind):
    m = trained[kind]
    X = m.Xte[:5]
    srv = m.server
    js = srv.post(csv_bytes(X), "text/csv", "application/json")
    assert js.status_code == 200, js.text
    preds = js.json()["predictions"]
    assert len(preds) == 5 and all(list(p) == FIELDS[kind] for p in preds)
    for p in preds:
        if kind == "multiclass":
            assert len(p["score"]) == 10 and abs(sum(p["score"]) - 1) < 1e-4
            assert p["predicted_label"] == int(np.argmax(p["score"]))
        else:
            assert isinstance(p["score"], float)
        if kind == "binary":
            assert 0 <= p["score"] <= 1 and p["predicted_label"] in (0, 1)
            assert isinstance(p["predicted_label"], int)

    jl = srv.post(json.dumps({"instances": [{"features": r.tolist()} for r in X]}), "application/json",
                  "application/jsonlines")
    assert jl.status_code == 200, jl.text
    lines = [json.loads(s) for s in jl.text.strip().split("\n")]
    assert len(lines) == 5
    for a, b in zip(lines, preds):
        assert list(a) == FIELDS[kind]
        assert np.allclose(a["score"], b["score"], rtol=1e-5, atol=1e-6)

    rio = srv.post(csv_bytes(X), "text/csv", "application/x-recordio-protobuf")
    assert rio.status_code == 200
    recs = _records(rio.content)
    assert len(recs) == 5
    for rec, p in zip(recs, preds):
        assert sorted(rec) == sorted(FIELDS[kind])
        assert np.allclose(rec["score"], np.atleast_1d(p["score"]), rtol=1e-5, atol=1e-6)
        if "predicted_label" in rec:
            assert rec["predicted_label"] == [float(p["predicted_label"])]

    csv = srv.post(csv_bytes(X), "text/csv", "text/csv")
    assert csv.status_code == 200
    rows = [r.split(",") for r in csv.text.strip().split("\n")]
    assert len(rows) == 5
    for row, p in zip(rows, preds):
        expect = list(np.atleast_1d(p["score"])) + ([p["predicted_label"]] if "predicted_label" in p else [])
        assert np.allclose([float(v) for v in row], expect, rtol=1e-5, atol=1e-6)


def test_bad_requests_get_4xx_and_the_server_keeps_running(binary_model):
    m = binary_model
    srv = m.server
    wrong_width = srv.post(csv_bytes(m.Xte[:2, :10]), "text/csv")
    assert wrong_width.status_code == 400 and "30" in wrong_width.text
    garbage = srv.post(b"1,2,abc\n", "text/csv")
    assert 400 <= garbage.status_code < 500
    unsupported = srv.post(b"x", "image/png")
    assert 400 <= unsupported.status_code < 500
    ok = srv.post(csv_bytes(m.Xte[:3]), "text/csv", "application/json")
    assert ok.status_code == 200 and len(ok.json()["predictions"]) == 3
