"""model_algo-1: a zip of an MXNet Module checkpoint (mx-mod-symbol.json, mx-mod-0000.params) plus
manifest.json and additional-params.json, so `mx.module.Module.load('mx-mod', 0)` scores records."""
import json
import os
import tempfile
import zipfile

import mxnet as mx
import numpy as np

PREFIX = "mx-mod"
MODEL_FILE = "model_algo-1"


def symbol(predictor_type, loss, outputs):
    data = mx.sym.Variable("data")
    fc = mx.sym.FullyConnected(data, num_hidden=outputs, name="fc")
    if predictor_type == "multiclass_classifier":
        return mx.sym.softmax(fc, axis=1, name="score")
    if predictor_type == "binary_classifier" and loss == "logistic":
        return mx.sym.sigmoid(fc, name="score")
    return mx.sym.identity(fc, name="score")


def write(path, weights, bias, extra):
    """weights (d, K), bias (K,), extra: the additional-params dict (predictor type, threshold, ...)."""
    sym = symbol(extra["predictor_type"], extra["loss"], weights.shape[1])
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, PREFIX)
        args = {"fc_weight": mx.nd.array(weights.T), "fc_bias": mx.nd.array(bias)}
        mx.model.save_checkpoint(prefix, 0, sym, args, {})
        manifest = {"format": "mxnet-module", "prefix": PREFIX, "epoch": 0,
                    "files": [PREFIX + "-symbol.json", PREFIX + "-0000.params", "additional-params.json"],
                    "data_shape": [1, int(weights.shape[0])], "output": "score"}
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.write(prefix + "-symbol.json", PREFIX + "-symbol.json")
            z.write(prefix + "-0000.params", PREFIX + "-0000.params")
            z.writestr("manifest.json", json.dumps(manifest, indent=1))
            z.writestr("additional-params.json", json.dumps(extra))


def read(path):
    """(weights (d, K), bias (K,), extra) from a model_algo-1 zip."""
    with zipfile.ZipFile(path) as z:
        extra = json.loads(z.read("additional-params.json"))
        with tempfile.TemporaryDirectory() as tmp:
            z.extract(PREFIX + "-0000.params", tmp)
            params = mx.nd.load(os.path.join(tmp, PREFIX + "-0000.params"))
    w = params["arg:fc_weight"].asnumpy().T.astype(np.float32)
    b = params["arg:fc_bias"].asnumpy().astype(np.float32)
    if w.shape[1] != b.shape[0]:
        raise ValueError("%s: weight and bias shapes disagree" % path)
    return w, b, extra
