"""LDA serving: each document's topic mixture under the model."""
import numpy as np

from containers.lda import artifact
from containers.lda.inference import MixtureSolver
from contract.errors import ClientError
from formats import Csr


class Predictor:
    def __init__(self, alpha, beta):
        self.alpha = alpha
        self.K, self.V = beta.shape
        self.solver = MixtureSolver(beta)

    def _counts(self, batch):
        f = batch.features
        if isinstance(f, Csr):
            if f.shape[1] > self.V or (len(f.indices) and int(f.indices.max()) >= self.V):
                raise ClientError("sparse records of dimension %d; the model's vocabulary has %d words"
                                  % (max(f.shape[1], int(f.indices.max()) + 1 if len(f.indices) else 0),
                                     self.V))
            data, indices, indptr = np.asarray(f.data, np.float32), f.indices, f.indptr - f.indptr[0]
        else:
            f = np.asarray(f, np.float32)
            if f.shape[1] != self.V:
                raise ClientError("records have %d features; the model's vocabulary has %d words"
                                  % (f.shape[1], self.V))
            rows, indices = np.nonzero(f)
            data = f[rows, indices]
            indptr = np.zeros(f.shape[0] + 1, np.int64)
            np.cumsum(np.bincount(rows, minlength=f.shape[0]), out=indptr[1:])
        bad = ~np.isfinite(data) | (data < 0)
        if bad.any():
            pos = int(np.argmax(bad))
            row = int(np.searchsorted(indptr, pos, side="right")) - 1
            raise ClientError("record %d: word count %r for word %d; counts must be finite and >= 0"
                              % (row, float(data[pos]), int(indices[pos])))
        return data, np.asarray(indices, np.int64), np.asarray(indptr, np.int64)

    def predict(self, batch):
        data, indices, indptr = self._counts(batch)
        return {"topic_mixture": self.solver.solve(data, indices, indptr, len(batch))}


def load(model_dir):
    alpha, beta = artifact.load(artifact.model_file(model_dir))
    return Predictor(alpha, beta)
