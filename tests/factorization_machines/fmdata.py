"""Data drawn from known second-order models, written as the official client writes it."""
import io

import numpy as np
import scipy.sparse as sp
from sagemaker.amazon.common import write_numpy_to_dense_tensor, write_spmatrix_to_sparse_tensor

ALGO = "factorization-machines"
RIO = "application/x-recordio-protobuf"


class Truth:
    """y = w0 + x.w + sum_{i<j} <v_i, v_j> x_i x_j, on dense arrays or scipy CSR."""

    def __init__(self, d, k, rng, linear=1.0, pairs=1.0, w0=0.0):
        self.w0 = w0
        self.w = linear * rng.normal(0, 1, d)
        self.V = pairs * rng.normal(0, 1, (d, k))

    def raw(self, X):
        X = sp.csr_matrix(X)
        xv = np.asarray(X @ self.V)
        own = np.asarray((X.multiply(X)) @ (self.V ** 2).sum(1)).ravel()
        return self.w0 + np.asarray(X @ self.w).ravel() + 0.5 * ((xv ** 2).sum(1) - own)


def sparse_rows(n, d, nnz, rng, active=None):
    """n records with nnz distinct features each, drawn from `active` ids (default all), values ~ U(0.5, 1.5)."""
    pool = np.arange(d) if active is None else np.asarray(active)
    cols = np.stack([rng.choice(len(pool), nnz, replace=False) for _ in range(n)])
    cols = np.sort(pool[cols], axis=1)
    vals = rng.uniform(0.5, 1.5, (n, nnz))
    return sp.csr_matrix((vals.ravel(), cols.ravel(), np.arange(0, n * nnz + 1, nnz)), shape=(n, d))


def regression(truth, X, noise, rng):
    signal = truth.raw(X)
    return (signal + rng.normal(0, noise, len(signal))).astype(np.float32), signal


def classification(truth, X, rng):
    p = 1.0 / (1.0 + np.exp(-truth.raw(X)))
    return (rng.uniform(size=len(p)) < p).astype(np.float32), p


def recordio(X, y=None):
    f = io.BytesIO()
    if sp.issparse(X):
        write_spmatrix_to_sparse_tensor(f, sp.csr_matrix(X, dtype=np.float32), y)
    else:
        write_numpy_to_dense_tensor(f, np.asarray(X, np.float32), y)
    return f.getvalue()


def channel(X, y=None, mode="File", content_type=RIO, parts=1):
    n = X.shape[0]
    cuts = np.linspace(0, n, parts + 1).astype(int)
    files = {"part-%d.pbr" % i: recordio(X[a:b], None if y is None else y[a:b])
             for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:]))}
    ch = {"mode": mode, "files": files}
    if content_type:
        ch["content_type"] = content_type
    return ch


def learned(model_file):
    """The artifact's parameters as a Truth (read the way users do: unzip, mx.nd.load the params)."""
    import zipfile

    import mxnet as mx
    with zipfile.ZipFile(model_file) as z:
        params = mx.nd.load_frombuffer(z.read("params"))
    t = Truth.__new__(Truth)
    t.w0 = float(params["arg:w0_weight"].asnumpy()[0])
    t.w = params["arg:w1_weight"].asnumpy()[:, 0].astype(np.float64)
    t.V = params["arg:v"].asnumpy().astype(np.float64)
    return t


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)))


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))
