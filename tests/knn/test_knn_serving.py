"""Requests and responses in the guide's formats (G:5479-5659), read back with the official client's
serializers and deserializers; the model's JSON edited by hand; bad requests."""
import io
import json
import os

import numpy as np
from sagemaker.amazon.common import RecordDeserializer, RecordSerializer

from knn_data import K, csv_bytes, oracle, untied


def _labels_of(r):
    assert r.status_code == 200, r.text
    return np.array([p["predicted_label"] for p in r.json()["predictions"]])


def test_every_request_format_gives_the_same_answers(models, data):
    _, Xte, _, _ = data["digits"]
    X = Xte[:20]
    server = models["flat"].server
    want = _labels_of(server.post(csv_bytes(X), "text/csv"))
    bodies = {
        "application/json": json.dumps({"instances": [{"features": r.tolist()} for r in X[:10]] +
                                        [{"data": {"features": {"values": r.tolist()}}} for r in X[10:]]}),
        "application/jsonlines": "\n".join(json.dumps({"features": r.tolist()}) if i % 2 else
                                           json.dumps({"data": {"features": {"values": r.tolist()}}})
                                           for i, r in enumerate(X)),
        "application/x-recordio-protobuf": RecordSerializer().serialize(X.astype(np.float64)),
        "text/csv; label_size=1": csv_bytes(X, np.full(len(X), 7.0)),
    }
    for ctype, body in bodies.items():
        got = _labels_of(server.post(body, ctype, "application/json"))
        np.testing.assert_array_equal(got, want, err_msg=ctype)


def test_plain_answers_hold_predicted_label_only(models, data):
    _, Xte, _, _ = data["digits"]
    server = models["flat"].server
    r = server.post(csv_bytes(Xte[:3]), "text/csv")  # no Accept: JSON
    assert r.headers["Content-Type"].startswith("application/json")
    assert [set(p) for p in r.json()["predictions"]] == [{"predicted_label"}] * 3
    r = server.post(csv_bytes(Xte[:3]), "text/csv", "application/jsonlines")
    assert [set(json.loads(line)) for line in r.text.splitlines()] == [{"predicted_label"}] * 3
    recs = RecordDeserializer().deserialize(io.BytesIO(server.post(
        csv_bytes(Xte[:3]), "text/csv", "application/x-recordio-protobuf").content), None)
    assert [sorted(r.label.keys()) for r in recs] == [["predicted_label"]] * 3


def test_verbose_answers_in_json_lines_and_recordio(models, data):
    Xtr, Xte, ytr, _ = data["digits"]
    X = Xte[:30]
    server = models["flat"].server
    od, oi = oracle(Xtr, X, K)
    clean = untied(od, K)
    # the spelling the FM + k-NN notebook sends, and the capitalised one
    for accept in ("application/jsonlines; verbose=true", "application/jsonlines;Verbose=True"):
        r = server.post(csv_bytes(X), "text/csv", accept)
        assert r.status_code == 200, r.text
        rows = [json.loads(line) for line in r.text.splitlines()]
        assert [list(row) for row in rows] == [["predicted_label", "distances", "labels"]] * len(X)
        np.testing.assert_allclose([row["distances"] for row in rows], od[:, :K] ** 2, rtol=1e-4, atol=1e-3)
        np.testing.assert_array_equal(np.array([row["labels"] for row in rows])[clean], ytr[oi[clean, :K]])
    r = server.post(RecordSerializer().serialize(X), "application/x-recordio-protobuf",
                    "application/x-recordio-protobuf; verbose=true")
    assert r.status_code == 200, r.text
    recs = RecordDeserializer().deserialize(io.BytesIO(r.content), r.headers["Content-Type"])
    assert len(recs) == len(X)
    dists = np.array([list(rec.label["distances"].float32_tensor.values) for rec in recs])
    labs = np.array([list(rec.label["labels"].float32_tensor.values) for rec in recs])
    np.testing.assert_allclose(dists, od[:, :K] ** 2, rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(labs[clean], ytr[oi[clean, :K]])
    assert [len(rec.label["predicted_label"].float32_tensor.values) for rec in recs] == [1] * len(X)


def test_a_large_flat_index_served_in_shards_answers_as_the_exact_search(models, data):
    Xtr, Xte, ytr, _ = data["large"]
    od, oi = oracle(Xtr, Xte, K)
    clean = untied(od, K)
    server = models["large"].server
    for rows in (slice(0, 1), slice(0, len(Xte))):  # one record, and a batch
        r = server.post(csv_bytes(Xte[rows]), "text/csv", "application/jsonlines; verbose=true")
        assert r.status_code == 200, r.text
        got = [json.loads(line) for line in r.text.splitlines()]
        np.testing.assert_allclose([g["distances"] for g in got], od[rows, :K] ** 2, rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(np.array([g["labels"] for g in got])[clean[rows]],
                                      ytr[oi[rows][clean[rows], :K]])
    cpus = len(os.sched_getaffinity(0))
    if cpus > 1:  # one core: nothing to split across
        assert "the flat index of 60000 vectors served as %d FAISS shards" % cpus in server.log(), server.log()[-2000:]


def test_bad_requests_are_4xx_and_the_server_keeps_answering(models, data):
    _, Xte, _, _ = data["digits"]
    server = models["flat"].server
    r = server.post(csv_bytes(Xte[:2, :60]), "text/csv")
    assert r.status_code == 400 and "64 features" in r.text and "60" in r.text
    r = server.post(json.dumps({"instances": [{"features": [1, 2, 3]}]}), "application/json")
    assert r.status_code == 400 and "64 features" in r.text
    r = server.post("1,2,x\n", "text/csv")
    assert r.status_code == 400
    r = server.post(csv_bytes(Xte[:2]), "text/csv", "text/csv")
    assert r.status_code == 406
    assert len(_labels_of(server.post(csv_bytes(Xte[:4]), "text/csv"))) == 4


def test_editing_k_in_the_model_json_changes_the_answers(edited, data):
    Xtr, Xte, ytr, _ = data["digits"]
    r = edited(k=4).server.post(csv_bytes(Xte), "text/csv", "application/json; verbose=true")
    preds = r.json()["predictions"]
    assert {len(p["labels"]) for p in preds} == {4}  # trained with k=5
    od, oi = oracle(Xtr, Xte, 4)
    np.testing.assert_allclose([p["distances"] for p in preds], od[:, :4] ** 2, rtol=1e-4, atol=1e-3)
    clean = untied(od, 4)
    np.testing.assert_array_equal(np.array([p["labels"] for p in preds])[clean], ytr[oi[clean, :4]])


def test_editing_predictor_type_in_the_model_json_averages(edited, data):
    _, Xte, _, _ = data["digits"]
    r = edited(predictor_type="regressor").server.post(csv_bytes(Xte), "text/csv",
                                                        "application/json; verbose=true")
    preds = r.json()["predictions"]
    means = np.array([np.mean(p["labels"]) for p in preds])
    np.testing.assert_allclose([p["predicted_label"] for p in preds], means, rtol=1e-6)
    assert not np.all(means == np.round(means))  # averages, not votes


def test_the_serving_module_never_imports_training():
    import subprocess
    import sys
    code = ("import sys, containers.knn.serve; "
            "bad = sorted(m for m in sys.modules if m == 'training' or m.startswith('training.')); "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
