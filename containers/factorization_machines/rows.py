"""A batch as a CSR matrix over only the feature rows it uses: every cost follows the non-zeros.

`uniq` are the global feature ids present in the batch (sorted); the local matrix's column j is
feature uniq[j], so parameter rows are gathered once (m rows) instead of touching feature_dim rows.
"""
import mxnet as mx
import numpy as np

from formats.batch import Csr

nd = mx.nd
_FLOAT_EXACT = 1 << 24  # float32 holds every integer below this: MXNet's take is fastest on float ids


class LocalRows:
    __slots__ = ("uniq", "ids", "x", "x2", "n")

    def __init__(self, uniq, ids, x, x2, n):
        self.uniq, self.ids, self.x, self.x2, self.n = uniq, ids, x, x2, n


def to_csr(features):
    """formats.Csr for dense or sparse features (zeros of dense rows dropped: they add nothing)."""
    if isinstance(features, Csr):
        return features
    rows, cols = np.nonzero(features)
    indptr = np.zeros(features.shape[0] + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=features.shape[0]), out=indptr[1:])
    return Csr(features[rows, cols].astype(np.float32), cols.astype(np.int64), indptr, features.shape)


def index_array(uniq, feature_dim, ctx):
    dtype = "float32" if feature_dim < _FLOAT_EXACT else "int64"
    return nd.array(uniq, ctx=ctx, dtype=dtype)


def localize(csr, feature_dim, ctx):
    """LocalRows of a formats.Csr."""
    n = csr.shape[0]
    values = np.asarray(csr.data, np.float32)
    uniq, inv = np.unique(csr.indices, return_inverse=True)
    m = max(len(uniq), 1)
    indptr = np.asarray(csr.indptr, np.int64)
    if indptr[0] != 0:
        indptr = indptr - indptr[0]
    inv = inv.astype(np.int64)
    x = nd.sparse.csr_matrix((values, inv, indptr), shape=(n, m), ctx=ctx)
    x2 = nd.sparse.csr_matrix((values * values, inv, indptr), shape=(n, m), ctx=ctx)
    if not len(uniq):  # all-zero records: one harmless row keeps every shape valid
        uniq = np.zeros(1, np.int64)
    return LocalRows(uniq, index_array(uniq, feature_dim, ctx), x, x2, n)
