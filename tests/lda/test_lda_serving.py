"""LDA inference over HTTP: topic mixtures in every content type, against the generating model."""
import io
import json

import mxnet as mx
import numpy as np
import pytest
from sagemaker.amazon.common import RecordDeserializer, RecordSerializer

import ldadata
from helpers import served

N = 200


def _mixtures(resp):
    assert resp.status_code == 200, resp.text
    preds = resp.json()["predictions"]
    return np.array([p["topic_mixture"] for p in preds])


def _dense(X):
    return np.asarray(X.todense(), np.float64)


@pytest.fixture(scope="module")
def reference(small_model):
    """The JSON-dense answer for the first N test documents, and the topic matching to the truth."""
    m = small_model
    X = _dense(m.test[:N])
    body = json.dumps({"instances": [{"features": row.tolist()} for row in X]})
    theta = _mixtures(m.server.post(body, "application/json"))
    _, beta = m.model()
    _, cols = ldadata.tv_matched(m.beta, beta)
    return theta, cols


def test_lda_mixtures_close_to_the_true_ones(small_model, reference):
    theta, cols = reference
    assert theta.shape == (N, small_model.cfg["K"])
    np.testing.assert_allclose(theta.sum(axis=1), 1.0, atol=1e-4)
    truth = small_model.theta_test[:N]
    err = 0.5 * np.abs(theta[:, cols] - truth).sum(axis=1)
    uniform = 0.5 * np.abs(1.0 / truth.shape[1] - truth).sum(axis=1)
    assert err.mean() <= 0.1 and np.median(err) <= 0.08, (err.mean(), np.median(err))
    assert err.mean() <= 0.25 * uniform.mean()


def _sparse_json(X):
    out = []
    for i in range(X.shape[0]):
        row = X[i]
        out.append({"data": {"features": {"keys": row.indices.tolist(), "shape": [X.shape[1]],
                                          "values": row.data.tolist()}}})
    return out


def test_lda_content_types_agree(small_model, reference):
    theta, _ = reference
    m = small_model
    Xs = m.test[:N]
    X = _dense(Xs)
    csv = "\n".join(",".join("%g" % v for v in r) for r in X)
    got = {
        "csv": _mixtures(m.server.post(csv, "text/csv")),
        "json sparse": _mixtures(m.server.post(json.dumps({"instances": _sparse_json(Xs)}), "application/json")),
        "json data/values": _mixtures(m.server.post(json.dumps(
            {"instances": [{"data": {"features": {"values": r.tolist()}}} for r in X]}), "application/json")),
    }
    lines = "\n".join(json.dumps(i) for i in _sparse_json(Xs))
    r = m.server.post(lines, "application/jsonlines", accept="application/jsonlines")
    assert r.status_code == 200, r.text
    got["jsonlines"] = np.array([json.loads(l)["topic_mixture"] for l in r.text.splitlines() if l.strip()])
    # the official client: RecordSerializer (float64 dense, as its integration test sends) and
    # RecordDeserializer reading label["topic_mixture"]
    r = m.server.post(RecordSerializer().serialize(X), "application/x-recordio-protobuf",
                      accept="application/x-recordio-protobuf")
    assert r.status_code == 200, r.text
    records = RecordDeserializer().deserialize(io.BytesIO(r.content), r.headers["Content-Type"])
    got["recordio dense"] = np.array([list(rec.label["topic_mixture"].float32_tensor.values) for rec in records])
    got["recordio sparse"] = _mixtures(m.server.post(ldadata.recordio_sparse(Xs), "application/x-recordio-protobuf"))
    for name, t in got.items():
        np.testing.assert_allclose(t, theta, atol=1e-4, err_msg=name)


def test_lda_large_multi_record_batch(small_model):
    """A whole corpus in one MULTI_RECORD request (~5 MB of recordIO), the size users report failing."""
    m = small_model
    reps = 1
    body = ldadata.recordio_sparse(m.test)
    while len(body) * (reps + 1) < 5_000_000:
        reps += 1
    body = body * reps
    assert len(body) > 4_000_000
    r = m.server.post(body, "application/x-recordio-protobuf", accept="application/json")
    theta = _mixtures(r)
    assert theta.shape == (m.test.shape[0] * reps, m.cfg["K"])
    np.testing.assert_allclose(theta[:N], theta[m.test.shape[0]:m.test.shape[0] + N], atol=1e-6)


def test_lda_bad_requests_are_4xx_and_the_server_keeps_running(small_model):
    s = small_model.server
    X = _dense(small_model.test[:2])
    X[1, 3] = -1
    r = s.post(json.dumps({"instances": [{"features": row.tolist()} for row in X]}), "application/json")
    assert r.status_code == 400 and "record 1" in r.text and ">= 0" in r.text
    r = s.post("1,2,3\n", "text/csv")
    assert r.status_code == 400 and "25" in r.text
    r = s.post(json.dumps({"instances": [{"data": {"features": {"keys": [30], "shape": [40], "values": [1]}}}]}),
               "application/json")
    assert r.status_code == 400 and "vocabulary" in r.text
    r = s.post("not json", "application/json")
    assert r.status_code == 400
    assert _mixtures(s.post(",".join(["1"] * 25), "text/csv")).shape == (1, 5)


def test_lda_user_saved_model_loads(tmp_path, small_model):
    """The guide's recipe: mx.nd.save('new_model.tar.gz', [new_alpha, new_beta]) uploaded as the model."""
    model = tmp_path / "model"
    model.mkdir()
    m = small_model
    mx.nd.save(str(model / "new_model.tar.gz"), [mx.nd.array(m.alpha), mx.nd.array(m.beta)])
    with served(tmp_path, ldadata.ALGO) as s:
        theta = _mixtures(s.post(json.dumps({"instances": [{"features": r.tolist()} for r in _dense(m.test[:N])]}),
                                 "application/json"))
    err = 0.5 * np.abs(theta - m.theta_test[:N]).sum(axis=1)
    assert err.mean() <= 0.1
