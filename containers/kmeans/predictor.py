"""K-Means serving: the closest cluster and the distance to it, for each record."""
import glob
import os

import mxnet as mx
import numpy as np

from formats import FormatError

class Predictor:
    def __init__(self, centroids, ctx=None):
        self.ctx = ctx or (mx.gpu(0) if mx.context.num_gpus() > 0 else mx.cpu())
        c = mx.nd.array(centroids, ctx=self.ctx)
        # |x - c|^2 = |x|^2 + (|c|^2 - 2 x.c): the bracket is one dot and one add per request
        self.neg2_ct = (-2 * c).T.copy()
        self.c_norm = mx.nd.sum(c * c, axis=1).reshape((1, -1))
        self.dim = centroids.shape[1]

    def predict(self, batch):
        x = np.ascontiguousarray(batch.dense(), dtype=np.float32)
        if x.shape[1] != self.dim:
            raise FormatError("each record must have %d features, got %d" % (self.dim, x.shape[1]))
        # from_numpy shares x's memory: a tenth of mx.nd.array's cost on one record
        xn = mx.nd.from_numpy(x, zero_copy=True).as_in_context(self.ctx)
        d = mx.nd.broadcast_add(mx.nd.dot(xn, self.neg2_ct), self.c_norm)
        assign = mx.nd.argmin(d, axis=1)
        sq = mx.nd.pick(d, assign, axis=1) + mx.nd.sum(mx.nd.square(xn), axis=1)
        out = mx.nd.stack(assign, mx.nd.sqrt(mx.nd.relu(sq))).asnumpy()
        return {"closest_cluster": out[0], "distance_to_cluster": out[1]}


def load(model_dir):
    paths = sorted(glob.glob(os.path.join(model_dir, "model_algo-*"))) or \
        sorted(p for p in glob.glob(os.path.join(model_dir, "*")) if os.path.isfile(p))
    if not paths:
        raise FileNotFoundError("no model_algo-* file in %s" % model_dir)
    arrays = mx.nd.load(paths[0])
    arr = arrays[0] if isinstance(arrays, list) else list(arrays.values())[0]
    centroids = arr.asnumpy().astype(np.float32)
    if centroids.ndim != 2:
        raise ValueError("%s: expected a (k, feature_dim) array, got shape %s" % (paths[0], centroids.shape))
    return Predictor(centroids)
