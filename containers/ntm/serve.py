"""Serving: each document's topic_weights, the softmax of its encoder mean mu."""
from collections import OrderedDict

import mxnet as mx

from containers.ntm import artifact, counts


class Predictor:
    def __init__(self, net, vocab):
        self.net, self.V = net, vocab
        self.ctx = mx.cpu()

    def predict(self, batch):
        docs = counts.Docs(batch.features, self.V, [self.ctx])
        out = OrderedDict()
        out["topic_weights"] = self.net.topic_weights(docs.parts[0].csr).asnumpy()
        return out


def load(model_dir):
    meta, arrays = artifact.read(artifact.find(model_dir))
    return Predictor(artifact.build(meta, arrays), int(meta["feature_dim"]))
