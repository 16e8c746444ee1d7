"""model_algo-1: the service's Linear Learner artifact, a zip of an MXNet Module checkpoint.

Members (as in artifacts the service wrote from 2018 on): manifest.json `{"mx-mod": "mxnet_module",
"additional-params.json": "json", "version": 1}`; additional-params.json (threshold, loss_type,
predictor_type, metrics_params); mx-mod-symbol.json (data -> dot(data, fc0_weight) ->
broadcast_add(fc0_bias) -> an output op with label `out_label`); mx-mod-0000.params (arg:fc0_weight
(feature_dim, K), arg:fc0_bias (1, K), float32, on raw features: normalisation is folded in). After
unzipping, `mx.module.Module.load('mx-mod', 0, label_names=['out_label'])` scores records as `serve` does.

`read` also takes the format this project wrote before (manifest `"format": "mxnet-module"`, arg:fc_weight
(K, d), arg:fc_bias (K,)), so models trained here earlier keep serving.
"""
import json
import os
import re
import tempfile
import zipfile

import mxnet as mx
import numpy as np

PREFIX = "mx-mod"
MODEL_FILE = "model_algo-1"
MANIFEST = {"mx-mod": "mxnet_module", "additional-params.json": "json", "version": 1}
LABEL = "out_label"

# The output op per loss. binary/logistic -> LogisticRegressionOutput and regressor/squared_loss ->
# LinearRegressionOutput are what the service writes; the rest are inferred (no public sample): MXNet's
# op for that loss where it has one, else LinearRegressionOutput. All but the first and SoftmaxOutput
# pass the linear score through unchanged in a forward pass, which is what the served score is.
OUTPUT_OPS = {"logistic": "LogisticRegressionOutput", "softmax_loss": "SoftmaxOutput",
              "hinge_loss": "SVMOutput", "absolute_loss": "MAERegressionOutput"}
# What a forward pass of each head op does to the linear score, for reading symbols back.
ACTIVATIONS = {"LogisticRegressionOutput": "sigmoid", "SoftmaxOutput": "softmax"}


def output_op(loss):
    return OUTPUT_OPS.get(loss, "LinearRegressionOutput")


def symbol(dim, outputs, loss, bias_lr_mult=10.0, margin=1.0):
    """The service's graph: explicit node names in the style MXNet's name manager gives them."""
    data = mx.sym.Variable("data")
    weight = mx.sym.Variable("fc0_weight", shape=(dim, outputs))
    bias = mx.sym.Variable("fc0_bias", shape=(1, outputs), lr_mult=float(bias_lr_mult))
    label = mx.sym.Variable(LABEL)
    score = mx.sym.broadcast_add(mx.sym.dot(data, weight, name="dot0"), bias, name="broadcast_plus0")
    op = output_op(loss)
    kwargs = {"margin": float(margin), "use_linear": True} if op == "SVMOutput" else {}
    return getattr(mx.sym, op)(score, label, name=op.lower() + "0", **kwargs)


def metrics_params(extra):
    """The service's metrics_params: the loss's own parameters, null where the loss has none (inferred
    beyond the logistic and squared_loss samples: which keys each other loss fills)."""
    loss, ptype = extra["loss"], extra["predictor_type"]
    hp = extra.get("hyperparameters", {})

    def given(name, used):
        return float(hp[name]) if used and hp.get(name) is not None else None

    eps = {"eps_insensitive_squared_loss": "squared", "eps_insensitive_absolute_loss": "absolute"}.get(loss)
    return {"quantile": given("quantile", loss == "quantile_loss"),
            "huber_delta": given("huber_delta", loss == "huber_loss"),
            "margin": given("margin", loss == "hinge_loss"),
            "loss_insensitivity": given("loss_insensitivity", eps is not None),
            "eps_insensitive_loss_type": eps,
            "accuracy_top_k": int(hp.get("accuracy_top_k", 3)),
            "f_beta": given("f_beta", ptype != "regressor"),
            "positive_example_weight_mult": float(extra.get("positive_example_weight_mult", 1.0)),
            "class_weights": extra.get("class_weights"),
            "threshold": float(extra["threshold"])}


def additional_params(extra):
    return {"threshold": float(extra["threshold"]), "loss_type": extra["loss"],
            "predictor_type": extra["predictor_type"], "metrics_params": metrics_params(extra)}


def write(path, weights, bias, extra):
    """weights (d, K) and bias (K,) on raw features; extra: predictor_type, loss, threshold, and optionally
    hyperparameters (for metrics_params), bias_lr_mult, positive_example_weight_mult (resolved),
    class_weights (a list, multiclass with balance_multiclass_weights)."""
    d, k = weights.shape
    hp = extra.get("hyperparameters", {})
    sym = symbol(d, k, extra["loss"], extra.get("bias_lr_mult", 10.0), hp.get("margin", 1.0))
    args = {"fc0_weight": mx.nd.array(weights.reshape(d, k), dtype=np.float32),
            "fc0_bias": mx.nd.array(np.asarray(bias, np.float32).reshape(1, k), dtype=np.float32)}
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, PREFIX)
        mx.model.save_checkpoint(prefix, 0, sym, args, {})
        # stored, not deflated, members in this order: as the service's zips are
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
            z.write(prefix + "-0000.params", PREFIX + "-0000.params")
            z.write(prefix + "-symbol.json", PREFIX + "-symbol.json")
            z.writestr("manifest.json", json.dumps(MANIFEST))
            z.writestr("additional-params.json", json.dumps(additional_params(extra)))


def _module_prefix(manifest):
    prefixes = [k for k, v in manifest.items() if v == "mxnet_module"]
    if len(prefixes) != 1:
        raise ValueError("manifest.json names %d MXNet modules, expected one" % len(prefixes))
    return prefixes[0]


def _params_member(names, prefix):
    """The checkpoint's params member: the highest epoch if there are several."""
    pattern = re.compile(re.escape(prefix) + r"-(\d{4})\.params$")
    found = sorted((int(m.group(1)), n) for n in names for m in [pattern.match(n)] if m)
    if not found:
        raise ValueError("no %s-NNNN.params member" % prefix)
    return found[-1][1]


def _head_op(symbol_json):
    graph = json.loads(symbol_json)
    return graph["nodes"][graph["heads"][0][0]]["op"]


def _read_service(z, names, manifest):
    prefix = _module_prefix(manifest)
    params = mx.nd.load_frombuffer(z.read(_params_member(names, prefix)))
    extra = json.loads(z.read("additional-params.json")) if "additional-params.json" in names else {}
    try:
        w = params["arg:fc0_weight"].asnumpy().astype(np.float32)
        b = params["arg:fc0_bias"].asnumpy().astype(np.float32).reshape(-1)
    except KeyError as e:
        raise ValueError("%s-NNNN.params has no %s" % (prefix, e.args[0])) from None
    if w.ndim == 1:
        w = w.reshape(-1, 1)
    head = _head_op(z.read(prefix + "-symbol.json")) if prefix + "-symbol.json" in names else None
    ptype = extra.get("predictor_type")
    if ptype is None:  # the head op says what the module computes
        ptype = {"SoftmaxOutput": "multiclass_classifier",
                 "LogisticRegressionOutput": "binary_classifier"}.get(head, "regressor")
    loss = extra.get("loss_type") or {"SoftmaxOutput": "softmax_loss", "LogisticRegressionOutput": "logistic",
                                      "SVMOutput": "hinge_loss"}.get(head, "squared_loss")
    default_threshold = 0.5 if loss == "logistic" else 0.0
    return w, b, {"predictor_type": ptype, "loss": loss, "threshold": float(extra.get("threshold", default_threshold)),
                  "format": "service", "head_op": head, "additional_params": extra}


def _read_previous(z):
    """The zip this project wrote before the service's format: arg:fc_weight is (K, d)."""
    extra = json.loads(z.read("additional-params.json"))
    params = mx.nd.load_frombuffer(z.read(PREFIX + "-0000.params"))
    w = params["arg:fc_weight"].asnumpy().T.astype(np.float32)
    b = params["arg:fc_bias"].asnumpy().astype(np.float32).reshape(-1)
    extra = dict(extra, format="previous")
    return w, b, extra


def read(path):
    """(weights (d, K), bias (K,), extra with predictor_type, loss, threshold) from a model_algo-1 zip in
    the service's format or the one this project wrote before."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            manifest = json.loads(z.read("manifest.json")) if "manifest.json" in names else {}
            if manifest.get("format") == "mxnet-module":
                w, b, extra = _read_previous(z)
            elif "mxnet_module" in manifest.values():
                w, b, extra = _read_service(z, names, manifest)
            else:
                raise ValueError("manifest.json names no MXNet module (members: %s)" % ", ".join(sorted(names)))
    except zipfile.BadZipFile:
        raise ValueError("%s is not a zip file: a Linear Learner model_algo-1 is a zip of an MXNet module"
                         % path) from None
    if w.ndim != 2 or w.shape[1] != b.shape[0]:
        raise ValueError("%s: weight %s and bias %s shapes disagree" % (path, w.shape, b.shape))
    return w, b, extra
