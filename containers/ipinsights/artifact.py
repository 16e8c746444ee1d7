"""model_algo-1: a zip of symbol.json, params and meta.json, like the service's other MXNet models.

symbol.json / params are an MXNet symbol and its parameters (`arg:` names; inputs `entity` (n,) and `ip_prefix` (n, 4)
int ids; outputs dot_product, entity_embedding, ip_embedding), so the model loads with MXNet alone:
    mx.gluon.SymbolBlock.imports("symbol.json", ["entity", "ip_prefix"], "params")
meta.json says how strings become those ids (the hash and the prefix buckets) and the hyperparameters.
"""
import json
import os
import shutil
import tempfile
import zipfile

import mxnet as mx

from containers.ipinsights import pairs
from containers.ipinsights.network import INPUTS

MODEL_FILE = "model_algo-1"
VERSION = 1


def meta(hp):
    return {"version": VERSION, "algorithm": "ipinsights", "training_parameters": hp,
            "entity_hash": "crc32(utf-8 bytes) % num_entity_vectors",
            "ip_prefixes": list(pairs.PREFIXES), "ip_buckets": list(pairs.BUCKETS),
            "ip_offsets": list(pairs.OFFSETS), "ip_hash": "(prefix * 2654435761 mod 2^32) mod buckets "
                                                          "where buckets < 2^prefix_length",
            "inputs": INPUTS, "outputs": ["dot_product", "entity_embedding", "ip_embedding"]}


def write(path, net, hp):
    tmp = tempfile.mkdtemp()
    try:
        # the graph over named inputs (HybridBlock.export would call them data0, data1)
        outputs = net(*[mx.sym.var(name) for name in INPUTS])
        mx.sym.Group(list(outputs)).save(os.path.join(tmp, "symbol.json"))
        mx.nd.save(os.path.join(tmp, "params"),
                   {"arg:" + name: p.data(p.list_ctx()[0]).as_in_context(mx.cpu())
                    for name, p in net.collect_params().items()})
        # stored, not deflated: float tables hardly compress, and deflating a 1M-login model's took
        # ~7 s, a third of the job
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
            z.write(os.path.join(tmp, "symbol.json"), "symbol.json")
            z.write(os.path.join(tmp, "params"), "params")
            z.writestr("meta.json", json.dumps(meta(hp), indent=1))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read(path, ctx=None):
    """(SymbolBlock, meta) from a model_algo-1 zip."""
    tmp = tempfile.mkdtemp()
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            missing = {"symbol.json", "params", "meta.json"} - names
            if missing:
                raise ValueError("%s lacks %s" % (path, ", ".join(sorted(missing))))
            z.extractall(tmp, members=["symbol.json", "params", "meta.json"])
        with open(os.path.join(tmp, "meta.json")) as f:
            info = json.load(f)
        if info.get("ip_buckets") != list(pairs.BUCKETS) or info.get("ip_prefixes") != list(pairs.PREFIXES):
            raise ValueError("%s encodes IP addresses differently (%s)" % (path, info.get("ip_buckets")))
        block = mx.gluon.SymbolBlock.imports(os.path.join(tmp, "symbol.json"), INPUTS,
                                             os.path.join(tmp, "params"), ctx=ctx or mx.cpu())
        return block, info
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
