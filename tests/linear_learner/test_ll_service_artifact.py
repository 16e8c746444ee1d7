"""The service's Linear Learner artifact in both directions.

Artifacts built here by hand, member by member as the service writes them (not through our writer), are
served with the scores sigmoid(x.w + b) gives; ours are read back by a reader that knows only the
service's format; the format this project wrote before still serves.
"""
import io
import json
import os
import zipfile

import mxnet as mx
import numpy as np
import pytest

from helpers import served
from lldata import ALGO, csv_bytes, module_scores

MEMBERS = {"manifest.json", "additional-params.json", "mx-mod-symbol.json", "mx-mod-0000.params"}
MANIFEST = {"mx-mod": "mxnet_module", "additional-params.json": "json", "version": 1}
THRESHOLD = 0.46301859617233276


def _metrics_params(threshold, classifier):
    return {"quantile": None, "huber_delta": None, "margin": None, "loss_insensitivity": None,
            "eps_insensitive_loss_type": None, "accuracy_top_k": 3, "f_beta": 1.0 if classifier else None,
            "positive_example_weight_mult": 1.0, "class_weights": None, "threshold": threshold}


def _symbol_json(dim, head_op):
    """The service's mx-mod-symbol.json, node for node (auto-generated node names like theirs)."""
    nodes = [
        {"op": "null", "name": "data", "inputs": []},
        {"op": "null", "name": "fc0_weight", "attrs": {"__shape__": "(%d, 1)" % dim}, "inputs": []},
        {"op": "dot", "name": "dot32", "inputs": [[0, 0, 0], [1, 0, 0]]},
        {"op": "null", "name": "fc0_bias", "attrs": {"__lr_mult__": "10.0", "__shape__": "(1, 1)"}, "inputs": []},
        {"op": "broadcast_add", "name": "broadcast_plus32", "inputs": [[2, 0, 0], [3, 0, 0]]},
        {"op": "null", "name": "out_label", "inputs": []},
        {"op": head_op, "name": head_op.lower() + "32", "inputs": [[4, 0, 0], [5, 0, 0]]},
    ]
    return json.dumps({"nodes": nodes, "arg_nodes": [0, 1, 3, 5], "node_row_ptr": list(range(8)),
                       "heads": [[6, 0, 0]], "attrs": {"mxnet_version": ["int", 10301]}}, indent=2)


def _service_zip(path, w, b, kind):
    binary = kind == "binary"
    threshold = THRESHOLD if binary else 0.5
    extra = {"threshold": threshold, "loss_type": "logistic" if binary else "squared_loss",
             "predictor_type": "binary_classifier" if binary else "regressor",
             "metrics_params": _metrics_params(threshold, binary)}
    params = os.path.join(os.path.dirname(path), "params.tmp")
    mx.nd.save(params, {"arg:fc0_weight": mx.nd.array(w.reshape(-1, 1), dtype=np.float32),
                        "arg:fc0_bias": mx.nd.array(np.float32(b).reshape(1, 1), dtype=np.float32)})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.write(params, "mx-mod-0000.params")
        z.writestr("mx-mod-symbol.json", _symbol_json(len(w), "LogisticRegressionOutput" if binary
                                                      else "LinearRegressionOutput"))
        z.writestr("manifest.json", json.dumps(MANIFEST))
        z.writestr("additional-params.json", json.dumps(extra))
    os.remove(params)
    return extra


def _model_dir(base):
    d = os.path.join(str(base), "model")
    os.makedirs(d, exist_ok=True)
    return d


def _json_predictions(server, X):
    body = json.dumps({"instances": [{"features": [float(v) for v in row]} for row in X]})
    res = server.post(body, "application/json", "application/json")
    assert res.status_code == 200, res.text
    return res.json()["predictions"]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@pytest.mark.parametrize("kind", ["binary", "regression"])
def test_an_artifact_built_like_the_services_serves_its_scores(tmp_path, kind):
    rng = np.random.RandomState(7)
    dim = 12
    w = rng.normal(scale=0.6, size=dim).astype(np.float32)
    b = np.float32(-0.3)
    path = os.path.join(_model_dir(tmp_path), "model_algo-1")
    extra = _service_zip(path, w, b, kind)
    X = rng.normal(size=(40, dim)).astype(np.float32)
    linear = X.astype(np.float64) @ w.astype(np.float64) + float(b)
    expect = _sigmoid(linear) if kind == "binary" else linear
    local = module_scores(path, X, tmp_path / "unzipped")
    np.testing.assert_allclose(local[:, 0], expect, rtol=1e-5, atol=1e-5)
    with served(tmp_path, ALGO) as srv:
        preds = _json_predictions(srv, X)
        csv = srv.post(csv_bytes(X[:3]), "text/csv", "application/json").json()["predictions"]
    scores = np.array([p["score"] for p in preds])
    np.testing.assert_allclose(scores, expect, rtol=1e-5, atol=1e-6)
    # the same rows by CSV, in a batch of another size: float32 sums may round differently in the last bit
    np.testing.assert_allclose([p["score"] for p in csv], scores[:3], rtol=1e-6, atol=1e-7)
    if kind == "binary":
        assert all(list(p) == ["score", "predicted_label"] for p in preds)
        labels = [p["predicted_label"] for p in preds]
        assert all(type(v) is int for v in labels)
        assert labels == [int(s > extra["threshold"]) for s in expect]
        assert 0 < sum(labels) < len(labels)   # the threshold really splits this sample
    else:
        assert all(list(p) == ["score"] for p in preds)


def _service_reader(path):
    """Reads model_algo-1 knowing only the service's format; (w (d,), b, additional-params, head op)."""
    with zipfile.ZipFile(path) as z:
        assert set(z.namelist()) == MEMBERS
        assert json.loads(z.read("manifest.json")) == MANIFEST
        extra = json.loads(z.read("additional-params.json"))
        graph = json.loads(z.read("mx-mod-symbol.json"))
        params = mx.nd.load_frombuffer(z.read("mx-mod-0000.params"))
    assert set(extra) == {"threshold", "loss_type", "predictor_type", "metrics_params"}
    assert extra["metrics_params"]["threshold"] == extra["threshold"]
    nodes = graph["nodes"]
    assert [(n["op"], n["name"]) for n in nodes[:6]] == [
        ("null", "data"), ("null", "fc0_weight"), ("dot", nodes[2]["name"]), ("null", "fc0_bias"),
        ("broadcast_add", nodes[4]["name"]), ("null", "out_label")]
    assert nodes[2]["inputs"] == [[0, 0, 0], [1, 0, 0]] and nodes[4]["inputs"] == [[2, 0, 0], [3, 0, 0]]
    assert nodes[6]["inputs"] == [[4, 0, 0], [5, 0, 0]] and graph["heads"] == [[6, 0, 0]]
    assert graph["attrs"]["mxnet_version"][0] == "int"
    assert float(nodes[3]["attrs"]["__lr_mult__"]) > 0
    assert set(params) == {"arg:fc0_weight", "arg:fc0_bias"}
    w, b = params["arg:fc0_weight"], params["arg:fc0_bias"]
    assert w.dtype == np.float32 and b.dtype == np.float32
    assert nodes[1]["attrs"]["__shape__"] == str(w.shape) and w.shape[1] == 1
    assert nodes[3]["attrs"]["__shape__"] == "(1, 1)" and b.shape == (1, 1)
    return w.asnumpy()[:, 0].astype(np.float64), float(b.asscalar()), extra, nodes[6]["op"]


@pytest.mark.parametrize("kind", ["binary", "regression"])
def test_our_artifacts_read_back_through_the_services_format(trained, kind):
    m = trained[kind]
    w, b, extra, head = _service_reader(os.path.join(m.result.model_dir, "model_algo-1"))
    X = m.Xte[:25]
    linear = X.astype(np.float64) @ w + b
    preds = _json_predictions(m.server, X)
    scores = np.array([p["score"] for p in preds])
    if kind == "binary":
        assert (head, extra["loss_type"], extra["predictor_type"]) == (
            "LogisticRegressionOutput", "logistic", "binary_classifier")
        assert extra["metrics_params"]["f_beta"] == 1.0
        np.testing.assert_allclose(scores, _sigmoid(linear), rtol=1e-4, atol=1e-6)
        assert [p["predicted_label"] for p in preds] == [int(s > extra["threshold"]) for s in scores]
        assert np.mean(np.array([p["predicted_label"] for p in preds]) == m.yte[:25]) > 0.85
    else:
        assert (head, extra["loss_type"], extra["predictor_type"], extra["threshold"]) == (
            "LinearRegressionOutput", "squared_loss", "regressor", 0.5)
        assert extra["metrics_params"]["f_beta"] is None
        np.testing.assert_allclose(scores, linear, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("loss,outputs", [("hinge_loss", 1), ("absolute_loss", 1), ("quantile_loss", 1),
                                          ("huber_loss", 1), ("eps_insensitive_squared_loss", 1),
                                          ("softmax_loss", 4)])
def test_other_losses_write_a_module_that_scores_like_serving(tmp_path, loss, outputs):
    from containers.linear_learner import artifact
    from containers.linear_learner.predictor import Predictor
    rng = np.random.RandomState(3)
    w = rng.normal(size=(5, outputs)).astype(np.float32)
    b = rng.normal(size=outputs).astype(np.float32)
    ptype = {"hinge_loss": "binary_classifier", "softmax_loss": "multiclass_classifier"}.get(loss, "regressor")
    path = str(tmp_path / "model_algo-1")
    artifact.write(path, w, b, {"predictor_type": ptype, "loss": loss, "threshold": 0.1,
                                "hyperparameters": {"quantile": 0.3, "huber_delta": 2.0, "margin": 1.0,
                                                    "loss_insensitivity": 0.05, "f_beta": 1.0}})
    X = rng.normal(size=(6, 5)).astype(np.float32)
    local = module_scores(path, X, tmp_path / "unzipped")
    linear = X.astype(np.float64) @ w + b
    if loss == "softmax_loss":
        e = np.exp(linear - linear.max(axis=1, keepdims=True))
        np.testing.assert_allclose(local, e / e.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(local[:, 0], linear[:, 0], rtol=1e-5, atol=1e-5)
    w2, b2, extra = artifact.read(path)
    pred = Predictor(w2, b2, extra)
    np.testing.assert_allclose(pred.scores(pred.raw(X)).reshape(local.shape), local, rtol=1e-5, atol=1e-6)
    mp = json.loads(zipfile.ZipFile(path).read("additional-params.json"))["metrics_params"]
    assert mp["quantile"] == (0.3 if loss == "quantile_loss" else None)
    assert mp["huber_delta"] == (2.0 if loss == "huber_loss" else None)
    assert mp["eps_insensitive_loss_type"] == ("squared" if loss.startswith("eps") else None)


def _previous_zip(path, w, b, threshold):
    """The artifact this project wrote before the service's format (FullyConnected, arg:fc_weight (K, d))."""
    data = mx.sym.Variable("data")
    sym = mx.sym.sigmoid(mx.sym.FullyConnected(data, num_hidden=1, name="fc"), name="score")
    prefix = os.path.join(os.path.dirname(path), "old")
    mx.model.save_checkpoint(prefix, 0, sym, {"fc_weight": mx.nd.array(w.reshape(1, -1)),
                                              "fc_bias": mx.nd.array([b])}, {})
    manifest = {"format": "mxnet-module", "prefix": "mx-mod", "epoch": 0, "data_shape": [1, len(w)],
                "files": ["mx-mod-symbol.json", "mx-mod-0000.params", "additional-params.json"], "output": "score"}
    extra = {"predictor_type": "binary_classifier", "loss": "logistic", "threshold": threshold, "num_classes": 2,
             "feature_dim": len(w), "normalization": {"feature_mean": [0.0] * len(w)}}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(prefix + "-symbol.json", "mx-mod-symbol.json")
        z.write(prefix + "-0000.params", "mx-mod-0000.params")
        z.writestr("manifest.json", json.dumps(manifest))
        z.writestr("additional-params.json", json.dumps(extra))
    for suffix in ("-symbol.json", "-0000.params"):
        os.remove(prefix + suffix)


def test_models_trained_here_before_still_serve(tmp_path):
    rng = np.random.RandomState(11)
    w = rng.normal(size=8).astype(np.float32)
    b = np.float32(0.2)
    _previous_zip(os.path.join(_model_dir(tmp_path), "model_algo-1"), w, b, 0.6)
    X = rng.normal(size=(30, 8)).astype(np.float32)
    expect = _sigmoid(X.astype(np.float64) @ w + float(b))
    with served(tmp_path, ALGO) as srv:
        preds = _json_predictions(srv, X)
    np.testing.assert_allclose([p["score"] for p in preds], expect, rtol=1e-5, atol=1e-6)
    assert [p["predicted_label"] for p in preds] == [int(s > 0.6) for s in expect]


def test_an_artifact_without_a_module_is_refused_with_a_reason(tmp_path):
    import requests
    from helpers import first_ping
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("manifest.json", json.dumps({"additional-params.json": "json", "version": 1}))
    with open(os.path.join(_model_dir(tmp_path), "model_algo-1"), "wb") as f:
        f.write(buf.getvalue())
    with served(tmp_path, ALGO, wait_ready=False) as srv:
        ping = first_ping(srv)
        assert ping.status_code != 200 and "names no MXNet module" in ping.text
        assert "names no MXNet module" in srv.log()
        assert srv.post(b"1,2\n", "text/csv").status_code >= 500
        assert requests.get(srv.url + "/ping", timeout=10).status_code != 200
