"""One mini-batch: scores, the summed gradient of each distinct feature's rows, and (on one host) the
update, in three compiled passes over the batch's non-zeros. Nothing here reads or writes a row of a
feature the batch does not hold, so time and memory follow the non-zeros, never feature_dim.
"""
import numba
import numpy as np
from numba import prange

from containers.factorization_machines import adagrad, fm
from containers.factorization_machines.prefetch import AHEAD, prefetch
from contract.errors import ClientError
from formats.batch import Batch, Csr

_JIT = dict(nogil=True, cache=True, fastmath={"reassoc", "contract"})  # see fm.py


def to_csr(features):
    """formats.Csr for dense or sparse features (zeros of dense rows dropped: they add nothing)."""
    if isinstance(features, Csr):
        return features
    rows, cols = np.nonzero(features)
    indptr = np.zeros(features.shape[0] + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=features.shape[0]), out=indptr[1:])
    return Csr(features[rows, cols].astype(np.float32), cols.astype(np.int64), indptr, features.shape)


def arrays(csr):
    """(indptr from 0, keys int64, values float32), contiguous, as the kernels take them."""
    indptr = np.asarray(csr.indptr, np.int64)
    lo, hi = int(indptr[0]), int(indptr[-1])
    keys = np.ascontiguousarray(np.asarray(csr.indices)[lo:hi], np.int64)
    vals = np.ascontiguousarray(np.asarray(csr.data)[lo:hi], np.float32)
    return (indptr - lo if lo else indptr), keys, vals


@numba.njit(parallel=True, **_JIT)
def _rows(m, uniq, colptr, occ, rec_of, vals, dy, xv, aux, v, G, g1_out, update, lr1, lrv, eps, clip, scale,
          dw, dv):
    """Each distinct row's summed gradient into G[j] and g1_out[j]; with update, applied at once."""
    k = v.shape[1]
    flat = v.reshape(-1)
    flat_aux = aux.reshape(-1)
    for j in prange(m):
        if j + AHEAD < m:
            ahead = uniq[j + AHEAD]
            for c in range(0, k, 16):
                prefetch(flat, ahead * k + c)
            if update:
                prefetch(flat_aux, ahead * 4)
        key = uniq[j]
        if update:  # G[j] as the row's scratch: measured no slower than a per-thread row, and simpler
            if clip <= 0 and colptr[j + 1] - colptr[j] == 1:
                p = occ[colptr[j]]
                adagrad.apply_once(j, key, vals[p], rec_of[p], dy, xv, G, aux, v, lr1, lrv, eps, scale, dw, dv)
            else:
                g1, own = fm.row_gradient(j, key, colptr, occ, rec_of, vals, dy, xv, v, G, j, False)
                adagrad.apply_row(j, key, g1, own, G, aux, v, lr1, lrv, eps, clip, scale, dw, dv)
        else:
            g1_out[j] = fm.row_gradient(j, key, colptr, occ, rec_of, vals, dy, xv, v, G, j, True)[0]


class Step:
    """Scratch space sized to the largest batch so far, and the passes of a training step."""

    def __init__(self, params, classifier):
        self.params, self.classifier = params, classifier
        self.slot = np.full(params.feature_dim, -1, np.int32)
        self.n = self.nnz = 0

    def _grow(self, n, nnz):
        if n > self.n:
            self.n = max(n, 2 * self.n)
            self.xv = np.empty((self.n, self.params.num_factors), np.float32)
            self.raw = np.empty(self.n, np.float32)
            self.dy = np.empty(self.n, np.float32)
        if nnz > self.nnz:
            self.nnz = max(nnz, 2 * self.nnz)
            self.uniq = np.empty(self.nnz + 1, np.int64)
            self.loc = np.empty(self.nnz, np.int64)
            self.rec_of = np.empty(self.nnz, np.int64)
            self.colptr = np.empty(self.nnz + 2, np.int64)
            self.occ = np.empty(self.nnz, np.int64)
            self.G = np.empty((self.nnz + 1, self.params.num_factors), np.float32)  # gradients out
            self.g1 = np.empty(self.nnz + 1, np.float32)

    def compile(self):
        """Compile (or load from numba's cache) both kinds of step on a one-record batch, changing nothing."""
        one = Batch(Csr(np.zeros(1, np.float32), np.zeros(1, np.int64), np.array([0, 1], np.int64),
                        (1, self.params.feature_dim)), np.zeros(1, np.float32))
        self(one)

    def __call__(self, batch, opt=None):
        """Raw scores (n,) of the batch before the step. With opt (one host) the step is applied
        and None is returned for the gradients; without, (uniq, g0, g1, gv) for the caller to combine
        across hosts and apply (arrays are this object's scratch, valid until the next call)."""
        p = self.params
        indptr, keys, vals = arrays(to_csr(batch.features))
        n, nnz = len(indptr) - 1, len(keys)
        self._grow(n, nnz)
        m = fm.localize(indptr, keys, p.feature_dim, self.slot, self.uniq, self.loc, self.rec_of,
                        self.colptr, self.occ)
        if m < 0:
            raise ClientError("sparse key %d is outside feature_dim %d (keys are 0..%d)"
                              % (int(keys[-1 - m]), p.feature_dim, p.feature_dim - 1))
        xv, raw, dy = self.xv[:n], self.raw[:n], self.dy[:n]
        fm.forward_parallel(indptr, keys, vals, p.w0, p.aux, p.v, xv, raw)
        fm.dloss(raw, np.asarray(batch.labels, np.float32), self.classifier, dy)
        g0 = float(dy.sum(dtype=np.float64))
        if opt is not None:
            _rows(m, self.uniq, self.colptr, self.occ, self.rec_of, vals, dy, xv, p.aux, p.v, self.G, self.g1,
                  True, *opt.row_args(n))
            opt.step_w0(g0, n)
            return raw.copy(), None
        _rows(m, self.uniq, self.colptr, self.occ, self.rec_of, vals, dy, xv, p.aux, p.v, self.G, self.g1,
              False, 0.0, 0.0, 1.0, -1.0, 1.0, 0.0, 0.0)
        return raw.copy(), (self.uniq[:m], g0, self.g1[:m], self.G[:m])


def scores(params, features, parallel=True):
    """Raw scores (n,) float32 of dense or sparse features."""
    indptr, keys, vals = arrays(to_csr(features))
    n = len(indptr) - 1
    xv = np.empty((n, params.num_factors), np.float32)
    raw = np.empty(n, np.float32)
    (fm.forward_parallel if parallel else fm.forward_serial)(indptr, keys, vals, params.w0, params.aux, params.v,
                                                             xv, raw)
    return raw
