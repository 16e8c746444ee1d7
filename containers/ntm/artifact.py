"""model_algo-<n>: a zip of meta.json, symbol.json and params, as the service's NTM writes it.

Users read it the notebook's way: unzip, mx.nd.load('params')['arg:projection_weight'] is the
(vocabulary, num_topics) decoder matrix, one topic per column. `params` holds every parameter as
arg:<name> (aux:<name> for batch norm's moving statistics); symbol.json is the inference graph
(network.symbol) over those names; meta.json has training_parameters, version and epoch_number.
"""
import glob
import json
import os
import zipfile

import mxnet as mx

from containers.ntm import network

SYMBOL, PARAMS, META = "symbol.json", "params", "meta.json"
VERSION = "1.0"
AUX = ("moving_mean", "moving_var")


def file_name(host_rank):
    return "model_algo-%d" % (host_rank + 1)


def write(path, arrays, hp, layers, epoch):
    """arrays: name -> NDArray (the network's parameters)."""
    saved = {("aux:" if name.endswith(AUX) else "arg:") + name: a.as_in_context(mx.cpu())
             for name, a in arrays.items()}
    tmp = path + ".params"
    mx.nd.save(tmp, saved)
    training = dict(hp)
    training["encoder_layers"] = layers
    meta = {"training_parameters": training, "version": VERSION, "epoch_number": int(epoch),
            "feature_dim": int(hp["feature_dim"]), "num_topics": int(hp["num_topics"])}
    sym = network.symbol(hp["feature_dim"], hp["num_topics"], layers, hp["encoder_layers_activation"],
                         hp["batch_norm"])
    try:
        # stored, not deflated: float weights barely compress and the platform gzips model.tar.gz
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
            z.writestr(META, json.dumps(meta, indent=1, default=str))
            z.writestr(SYMBOL, sym.tojson())
            z.write(tmp, PARAMS)
    finally:
        os.unlink(tmp)


def find(model_dir):
    """The first host's model (model_algo-1), else the lowest-numbered one there is."""
    first = os.path.join(model_dir, file_name(0))
    if os.path.exists(first):
        return first
    found = sorted(glob.glob(os.path.join(model_dir, "model_algo-*")),
                   key=lambda p: int(p.rsplit("-", 1)[1]) if p.rsplit("-", 1)[1].isdigit() else 1 << 30)
    if not found:
        raise FileNotFoundError("no model_algo-* file in %s" % model_dir)
    return found[0]


def read(path):
    """(meta, {name: NDArray}) with the arg:/aux: prefixes removed."""
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        for member in (META, PARAMS):
            if member not in names:
                raise ValueError("%s: zip has no %r member (members: %s)" % (path, member, sorted(names)))
        meta = json.loads(z.read(META))
        arrays = mx.nd.load_frombuffer(z.read(PARAMS))
    return meta, {k.split(":", 1)[-1]: v for k, v in arrays.items()}


def build(meta, arrays, ctx=None):
    """The network of a saved model, its parameters set."""
    hp = meta["training_parameters"]
    net = network.NTM(int(meta["feature_dim"]), int(meta["num_topics"]), hp["encoder_layers"],
                      hp.get("encoder_layers_activation", "sigmoid"), bool(hp.get("batch_norm", False)))
    ctx = ctx or mx.cpu()
    net.collect_params().initialize(ctx=ctx)
    for name, p in net.collect_params().items():
        if name not in arrays:
            raise ValueError("model params lack %s (have %s)" % (name, sorted(arrays)))
        p.set_data(arrays[name])
    return net
