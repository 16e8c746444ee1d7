"""NTM inference over HTTP: topic_weights in every content type, equal to the artifact's softmax(mu)."""
import io
import json

import numpy as np
import pytest
import scipy.sparse as sp
from sagemaker.amazon.common import RecordDeserializer, RecordSerializer

import ntmdata as d

N = 50


def _weights(resp):
    assert resp.status_code == 200, resp.text
    return np.array([p["topic_weights"] for p in resp.json()["predictions"]])


def _sparse_json(X):
    return [{"data": {"features": {"keys": X[i].indices.tolist(), "shape": [X.shape[1]],
                                   "values": X[i].data.tolist()}}} for i in range(X.shape[0])]


@pytest.fixture(scope="module")
def expected(topic_model):
    """softmax(mu) of the first N test documents, computed in numpy from the artifact's params."""
    params, _ = d.load_params(topic_model.model_file)
    return d.numpy_losses(params, topic_model.Xt[:N])[2]


def test_ntm_every_content_type_answers_the_models_topic_weights(topic_model, expected):
    server = topic_model.server
    Xs = topic_model.Xt[:N]
    X = np.asarray(Xs.todense(), np.float64)
    got = {
        "csv": _weights(server.post("\n".join(",".join("%g" % v for v in r) for r in X), "text/csv")),
        "json dense": _weights(server.post(json.dumps({"instances": [{"features": r.tolist()} for r in X]}),
                                           "application/json")),
        "json sparse": _weights(server.post(json.dumps({"instances": _sparse_json(Xs)}), "application/json")),
    }
    r = server.post("\n".join(json.dumps(i) for i in _sparse_json(Xs)), "application/jsonlines",
                    accept="application/jsonlines")
    assert r.status_code == 200, r.text
    got["jsonlines"] = np.array([json.loads(l)["topic_weights"] for l in r.text.splitlines() if l.strip()])
    # the official client's NTMPredictor: RecordSerializer (dense float64) in, RecordDeserializer out; sparse
    # records as its write_spmatrix_to_sparse_tensor writes them
    for name, body in (("recordio dense", RecordSerializer().serialize(X).getvalue()),
                       ("recordio sparse", d.recordio_sparse(sp.csr_matrix(Xs)))):
        r = server.post(body, "application/x-recordio-protobuf",
                        accept="application/x-recordio-protobuf")
        assert r.status_code == 200, r.text
        records = RecordDeserializer().deserialize(io.BytesIO(r.content), r.headers["Content-Type"])
        got[name] = np.array([list(rec.label["topic_weights"].float32_tensor.values) for rec in records])
    for name, w in got.items():
        assert w.shape == (N, 10), name
        np.testing.assert_allclose(w, expected, rtol=1e-4, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(got["csv"].sum(axis=1), 1.0, atol=1e-5)


def test_ntm_topic_weights_follow_the_documents_topic(topic_model, expected):
    """A document drawn from one true topic gets most weight on the learned topic matching it."""
    params, _ = d.load_params(topic_model.model_file)
    learned = d.softmax_columns(params["arg:projection_weight"]).T
    beta = topic_model.beta
    rng = np.random.RandomState(9)
    pure = np.vstack([rng.multinomial(100, beta[k]) for k in range(10)]).astype(float)
    w = _weights(topic_model.server.post(json.dumps({"instances": [{"features": r.tolist()} for r in pure]}),
                                         "application/json"))
    match = np.argmax(beta @ learned.T / np.outer(np.linalg.norm(beta, axis=1), np.linalg.norm(learned, axis=1)),
                      axis=1)
    hits = sum(int(np.argmax(w[k]) == match[k]) for k in range(10))
    assert hits >= 8


def test_ntm_bad_requests_are_4xx_and_the_server_keeps_running(topic_model, expected):
    server = topic_model.server
    r = server.post("1,2,3\n", "text/csv")
    assert r.status_code == 400 and "500" in r.text
    bad = {"instances": [{"data": {"features": {"keys": [3, 700], "shape": [800], "values": [1, 2]}}}]}
    r = server.post(json.dumps(bad), "application/json")
    assert r.status_code == 400 and "700" in r.text
    r = server.post(",".join(["-1"] * 500), "text/csv")
    assert r.status_code == 400 and "count" in r.text
    r = server.post(",".join(["1"] * 500), "text/csv", accept="text/csv")
    assert r.status_code == 406
    X = np.asarray(topic_model.Xt[:N].todense())
    ok = _weights(server.post(json.dumps({"instances": [{"features": r.tolist()} for r in X]}), "application/json"))
    np.testing.assert_allclose(ok, expected, rtol=1e-4, atol=1e-6)
