"""model_algo-1: a zip of an MXNet symbolic checkpoint, as the service writes it.

Members: `symbol.json`, `params` (an mx.nd.save dict: arg:w0_weight (1,), arg:w1_weight (feature_dim, 1),
arg:v (feature_dim, num_factors)) and `meta.json` (ours: predictor type and sizes). Public notebooks
rename the first two to model-symbol.json / model-0000.params and call
mx.module.Module.load('model', 0, False, label_names=['out_label']); that recipe scores records.
"""
import json
import os
import tempfile
import zipfile

import mxnet as mx

from containers.factorization_machines import fm

MODEL_FILE = "model_algo-1"
SYMBOL, PARAMS, META = "symbol.json", "params", "meta.json"


def symbol(predictor_type, feature_dim, num_factors):
    """The model over a (batch, feature_dim) `data` input, dense or csr; label variable `out_label`.
    Parameter shapes are in the symbol, so binding needs only the data shape."""
    data = mx.sym.Variable("data")
    w0 = mx.sym.Variable("w0_weight", shape=(1,))
    w1 = mx.sym.Variable("w1_weight", shape=(feature_dim, 1))
    v = mx.sym.Variable("v", shape=(feature_dim, num_factors))
    linear = mx.sym.broadcast_add(mx.sym.dot(data, w1), mx.sym.reshape(w0, shape=(1, 1)))
    xv = mx.sym.dot(data, v)
    self_terms = mx.sym.dot(mx.sym.square(data), mx.sym.sum(mx.sym.square(v), axis=1, keepdims=True))
    pairs = 0.5 * (mx.sym.sum(mx.sym.square(xv), axis=1, keepdims=True) - self_terms)
    raw = linear + pairs
    label = mx.sym.Variable("out_label")
    if predictor_type == "binary_classifier":
        return mx.sym.LogisticRegressionOutput(raw, label=label, name="out")
    return mx.sym.LinearRegressionOutput(raw, label=label, name="out")


def write(path, params, predictor_type):
    meta = {"predictor_type": predictor_type, "feature_dim": int(params.feature_dim),
            "num_factors": int(params.num_factors), "format": "mxnet-symbol-checkpoint",
            "label_name": "out_label", "version": 1}
    with tempfile.TemporaryDirectory() as tmp:
        p = os.path.join(tmp, PARAMS)
        # v goes to MXNet without a copy (a second 256 MB at 1M x 64); through a view, so that params
        # stays writable (from_numpy marks what it shares read-only)
        mx.nd.save(p, {"arg:w0_weight": mx.nd.array(params.w0),
                       "arg:w1_weight": mx.nd.array(params.w1.reshape(-1, 1)),
                       "arg:v": mx.nd.from_numpy(params.v.view(), zero_copy=True)})
        # stored, not deflated: float weights barely compress and the platform gzips model.tar.gz
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
            z.writestr(SYMBOL, symbol(predictor_type, params.feature_dim, params.num_factors).tojson())
            z.write(p, PARAMS)
            z.writestr(META, json.dumps(meta, indent=1))


def read(path):
    """(Params, predictor_type) from a model_algo-1 zip (ours, or one without our meta file)."""
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        if PARAMS not in names:
            raise ValueError("%s: zip has no %r member (members: %s)" % (path, PARAMS, sorted(names)))
        arrays = mx.nd.load_frombuffer(z.read(PARAMS))
        meta = json.loads(z.read(META)) if META in names else {}
        if "predictor_type" not in meta and SYMBOL in names:
            meta["predictor_type"] = ("binary_classifier" if b"LogisticRegressionOutput" in z.read(SYMBOL)
                                      else "regressor")
    get = {k.split(":", 1)[-1]: a for k, a in arrays.items()}
    for name in ("w0_weight", "w1_weight", "v"):
        if name not in get:
            raise ValueError("%s: params lacks %s (has %s)" % (path, name, sorted(get)))
    w1, v = fm.table(get["w1_weight"].shape[0]), fm.table(get["v"].shape)
    w1[:] = get["w1_weight"].asnumpy().reshape(-1)
    # copied by MXNet straight into the (huge-page) table it shares, without a numpy copy in between
    mx.nd.from_numpy(v.view(), zero_copy=True)[:] = get["v"]
    mx.nd.waitall()
    params = fm.Params(get["w0_weight"].asnumpy(), w1, v)
    return params, meta["predictor_type"]
