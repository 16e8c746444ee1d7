"""The served model: one linear function on raw features, plus the activation and threshold."""
from collections import OrderedDict

import mxnet as mx
import numpy as np

from formats import FormatError


class Predictor:
    def __init__(self, weights, bias, extra, ctx=None):
        self.ctx = ctx or mx.cpu()
        self.dim = weights.shape[0]
        self.W = mx.nd.array(weights, ctx=self.ctx)
        self.b = mx.nd.array(bias.reshape(1, -1), ctx=self.ctx)
        self.ptype = extra["predictor_type"]
        self.loss = extra["loss"]
        self.threshold = float(extra.get("threshold", 0.5))

    def raw(self, x):
        """Linear scores (n, K) on raw features, label scale restored."""
        if x.shape[1] != self.dim:
            raise FormatError("each record must have %d features (feature_dim), got %d" % (self.dim, x.shape[1]))
        return mx.nd.broadcast_add(mx.nd.dot(mx.nd.array(x, ctx=self.ctx), self.W), self.b)

    def scores(self, raw):
        if self.ptype == "multiclass_classifier":
            return mx.nd.softmax(raw, axis=1).asnumpy()
        if self.ptype == "binary_classifier" and self.loss == "logistic":
            return mx.nd.sigmoid(raw).asnumpy()[:, 0]
        return raw.asnumpy()[:, 0]

    def outputs(self, score):
        out = OrderedDict(score=score.astype(np.float32))
        if self.ptype == "binary_classifier":
            out["predicted_label"] = (score > self.threshold).astype(np.int64)
        elif self.ptype == "multiclass_classifier":
            out["predicted_label"] = np.argmax(score, axis=1).astype(np.int64)
        return out

    def predict(self, batch):
        return self.outputs(self.scores(self.raw(batch.dense())))
