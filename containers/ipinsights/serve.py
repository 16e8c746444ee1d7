"""IP Insights serving: the dot product of each (entity, IP) pair; with `verbose=True` in Accept also the
entity and IP embeddings."""
import glob
import json
import os
from collections import OrderedDict

import mxnet as mx
import numpy as np

from containers.ipinsights import artifact, pairs
from contract.errors import ClientError
from formats.codecs import CSV, JSON, JSONLINES


class Predictor:
    def __init__(self, block, info, ctx):
        self.block, self.ctx = block, ctx
        self.num_entity_vectors = int(info["training_parameters"]["num_entity_vectors"])

    def decode(self, body, request):
        mime = request.content_type.mime
        where = "line" if mime != JSON else "instance"
        try:
            if mime == CSV:
                entities, ips = pairs.split_csv(body)
            else:
                instances = _instances(body, mime)
                entities, ips = pairs.from_instances(instances)
        except pairs.PairError as e:
            raise ClientError("%s %d: %s" % (where, e.index + 1, e)) from None
        if not entities:
            raise ClientError("no (entity, IP address) pairs in the request")
        return entities, ips, request.accept.flag("verbose")

    def predict(self, data):
        entities, ips, verbose = data
        e = mx.nd.array(pairs.entity_buckets(entities, self.num_entity_vectors), ctx=self.ctx, dtype=np.int32)
        p = mx.nd.array(pairs.ip_buckets(ips), ctx=self.ctx, dtype=np.int32)
        dot, ent, ip = self.block(e, p)
        out = OrderedDict(dot_product=dot.asnumpy())
        if verbose:
            out["entity_embedding"] = ent.asnumpy()
            out["ip_embedding"] = ip.asnumpy()
        return out


def _instances(body, mime):
    try:
        if mime == JSONLINES:
            return [json.loads(line) for line in body.decode("utf-8").splitlines() if line.strip()]
        doc = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ClientError("request body is not valid %s: %s" % (mime, e)) from None
    if isinstance(doc, dict) and isinstance(doc.get("instances"), list):
        return doc["instances"]
    if isinstance(doc, list):  # what the official client's CSV-less JSON users send: [[entity, ip], ...]
        return doc
    raise ClientError('expected {"instances": [...]} in the JSON request')


def load(model_dir):
    paths = sorted(glob.glob(os.path.join(model_dir, "model_algo-*")))
    if not paths:
        raise FileNotFoundError("no model_algo-* file in %s" % model_dir)
    ctx = mx.gpu(0) if mx.context.num_gpus() > 0 else mx.cpu()
    block, info = artifact.read(paths[0], ctx)
    return Predictor(block, info, ctx)
