"""The second-order model and its gradients, in O(k * nnz) per record, compiled with numba.

    y = w0 + sum_i w_i x_i + 1/2 * sum_f [ (sum_i v_if x_i)^2 - sum_i v_if^2 x_i^2 ]

(Rendle's identity for sum_{i<j} <v_i, v_j> x_i x_j.) With s = x.V (one k-vector per record),
dy/dw_i = x_i and dy/dv_if = x_i (s_f - v_if x_i).

Why compiled code and not MXNet operators: a step is about forty small sparse operators (gather,
csr dot, scatter, row-sparse AdaGrad) on 20,000 x 64 blocks, and their dispatch and the index
bookkeeping between them cost ~35 ms per 1,000-record batch, ten times the arithmetic. MXNet has no
fused sparse FM operator; a compiled loop does the forward pass, the gradient and the update of each
row in one pass over the batch's non-zeros, threads over records and then over rows. The parameters
are still the MXNet model's (`model_algo-1` holds mx.nd.save arrays and a symbol; see artifact.py).
"""
import mmap

import numba
import numpy as np
from numba import prange

from containers.factorization_machines.prefetch import AHEAD, prefetch

# reassociation lets the factor loops vectorise (sums over f in SIMD lanes); NaN and inf keep their meaning
_JIT = dict(nogil=True, cache=True, fastmath={"reassoc", "contract"})


def table(shape, dtype=np.float32):
    """A zeroed array for rows read at random (v, w1 and their AdaGrad state), on huge pages where the
    kernel allows: one TLB entry covers 2 MB instead of 4 KB, and a step's row reads at random over a
    256 MB v took half the time in a measurement here."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if nbytes < (4 << 20):
        return np.zeros(shape, dtype)
    buf = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if hasattr(mmap, "MADV_HUGEPAGE"):
        try:
            buf.madvise(mmap.MADV_HUGEPAGE)
        except OSError:  # no transparent huge pages here: ordinary pages, same results
            pass
    return np.frombuffer(buf, dtype, int(np.prod(shape))).reshape(shape)


def on_table(a, shape):
    """a as a float32 table of this shape (used as it is when it already is one)."""
    if isinstance(a, np.ndarray) and a.dtype == np.float32 and a.shape == shape and a.flags.c_contiguous:
        return a
    out = table(shape)
    out[...] = np.asarray(a, np.float32).reshape(shape)
    return out


W1, H1, HV = 0, 1, 2  # columns of Params.aux


class Params:
    """w0 (1,), v (feature_dim, num_factors) and aux (feature_dim, 4): float32 numpy arrays.

    aux holds a feature's scalars side by side, w1 and its two AdaGrad accumulators (adagrad.py), so
    that the update of a row reads one cache line for them instead of three at random."""

    def __init__(self, w0, w1, v):
        self.w0 = np.array(w0, np.float32).reshape(1)
        self.v = on_table(v, np.shape(v))
        self.aux = table((self.v.shape[0], 4))
        self.aux[:, W1] = np.asarray(w1, np.float32).reshape(-1)

    @property
    def w1(self):
        return self.aux[:, W1]

    @property
    def feature_dim(self):
        return self.v.shape[0]

    @property
    def num_factors(self):
        return self.v.shape[1]


def _forward_rows(indptr, keys, vals, w0, aux, v, xv, raw):
    """raw[r] for every record r, and xv[r] = x_r . V (the gradient needs it).

    Kernels here index 2-D arrays element-wise and never take a row view (v[key]): a view costs an
    atomic reference count on the whole array, and two threads doing that per non-zero fight over
    one cache line."""
    k = v.shape[1]
    nnz = keys.shape[0]
    flat = v.reshape(-1)
    flat_aux = aux.reshape(-1)
    for r in prange(indptr.shape[0] - 1):
        for f in range(k):
            xv[r, f] = 0.0
        lin = np.float32(0.0)  # float32 sums, as MXNet's: float64 ones would not vectorise as well
        self_terms = np.float32(0.0)
        for p in range(indptr[r], indptr[r + 1]):
            if p + AHEAD < nnz:
                ahead = keys[p + AHEAD]
                for c in range(0, k, 16):
                    prefetch(flat, ahead * k + c)
                prefetch(flat_aux, ahead * 4)
            x = vals[p]
            key = keys[p]
            lin += aux[key, W1] * x
            for f in range(k):
                t = v[key, f] * x
                xv[r, f] += t
                self_terms += t * t
        sq = np.float32(0.0)
        for f in range(k):
            sq += xv[r, f] * xv[r, f]
        raw[r] = w0[0] + lin + 0.5 * (sq - self_terms)


# serving calls the one-thread version per request (gunicorn workers are the parallelism there)
forward_serial = numba.njit(**_JIT)(_forward_rows)
forward_parallel = numba.njit(parallel=True, **_JIT)(_forward_rows)


@numba.njit(**_JIT)
def row_gradient(j, key, colptr, occ, rec_of, vals, dy, xv, v, G, out, whole):
    """Summed gradient of row `key` (local row j) over its occurrences, into G[out] (k,) for v; returns
    (w1's, own). grad v_key = sum_occ x dy_r xv_r - v_key * own, own = sum_occ x^2 dy_r; without
    `whole` the last term is left to the caller, who folds it into its own pass over the row."""
    k = v.shape[1]
    g1 = np.float32(0.0)
    own = np.float32(0.0)
    first = True
    for q in range(colptr[j], colptr[j + 1]):
        p = occ[q]
        r = rec_of[p]
        xd = vals[p] * dy[r]
        g1 += xd
        own += vals[p] * xd
        if first:  # most rows occur once in a batch of a wide model: no zeroing pass
            for f in range(k):
                G[out, f] = xd * xv[r, f]
            first = False
        else:
            for f in range(k):
                G[out, f] += xd * xv[r, f]
    if whole:
        for f in range(k):
            G[out, f] -= v[key, f] * own
    return g1, own


@numba.njit(**_JIT)
def localize(indptr, keys, feature_dim, slot, uniq, loc, rec_of, colptr, occ):
    """The batch's distinct features and, per distinct feature, where it occurs (a CSC view).

    slot (feature_dim,) int32 is all -1 on entry and is left so. Returns m, the distinct count, or -1 -
    position when a key is outside 0..feature_dim-1."""
    m = 0
    nnz = keys.shape[0]
    for r in range(indptr.shape[0] - 1):
        for p in range(indptr[r], indptr[r + 1]):
            if p + 4 * AHEAD < nnz:
                prefetch(slot, keys[p + 4 * AHEAD])
            key = keys[p]
            if key < 0 or key >= feature_dim:
                for i in range(m):
                    slot[uniq[i]] = -1
                return -1 - p
            j = slot[key]
            if j < 0:
                j = m
                slot[key] = m
                uniq[m] = key
                m += 1
            loc[p] = j
            rec_of[p] = r
    for j in range(m + 1):
        colptr[j] = 0
    for p in range(nnz):
        colptr[loc[p] + 1] += 1
    for j in range(m):
        colptr[j + 1] += colptr[j]
    for p in range(nnz):
        j = loc[p]
        occ[colptr[j]] = p
        colptr[j] += 1
    for j in range(m, 0, -1):  # the fill moved each start to the next one's: shift back
        colptr[j] = colptr[j - 1]
    colptr[0] = 0
    for j in range(m):
        slot[uniq[j]] = -1
    return m


@numba.njit(**_JIT)
def dloss(raw, labels, classifier, dy):
    """dL/draw: sigmoid(raw) - y for log loss, raw - y for square loss (its 1/2 folded in)."""
    for r in range(raw.shape[0]):
        if classifier:
            dy[r] = 1.0 / (1.0 + np.exp(-raw[r])) - labels[r]
        else:
            dy[r] = raw[r] - labels[r]
