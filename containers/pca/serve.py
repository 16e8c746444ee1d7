"""PCA inference: projection = (x - mean) · v, in the artifact's component order (ascending)."""
import mxnet as mx
import numpy as np

from containers.pca import artifact
from formats import Csr, FormatError


class Predictor:
    def __init__(self, mean, s, v):
        self.mean, self.s, self.v = mean, s, v
        self.dim = v.shape[0]
        # sparse rows: (x - mean)·v = x·v - mean·v, so they stay sparse
        self.offset = (mean.astype(np.float64) @ v.astype(np.float64)).astype(np.float32)
        self.v_nd = mx.nd.array(v)

    def _width(self, got):
        return FormatError("each record must have %d features (feature_dim of the model), got %d"
                           % (self.dim, got))

    def predict(self, batch):
        x = batch.features if hasattr(batch, "features") else batch
        if isinstance(x, Csr):
            if x.shape[1] > self.dim:
                raise self._width(x.shape[1])
            if x.shape[1] < self.dim:  # keys below feature_dim and no shape given: the rest are 0
                x = Csr(x.data, x.indices, x.indptr, (x.shape[0], self.dim))
            c = mx.nd.sparse.csr_matrix((x.data, x.indices.astype(np.int64), x.indptr.astype(np.int64)),
                                        shape=x.shape)
            proj = mx.nd.sparse.dot(c, self.v_nd).asnumpy()
        else:
            if x.shape[1] != self.dim:
                raise self._width(x.shape[1])
            return {"projection": (np.asarray(x, dtype=np.float32) - self.mean) @ self.v}
        return {"projection": proj - self.offset}


def load(model_dir):
    return Predictor(*artifact.load(model_dir))
