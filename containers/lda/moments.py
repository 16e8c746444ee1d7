"""Word-count moments of a corpus for the spectral method (Anandkumar et al., JMLR 2014, section 6.2).

Each document is a count vector c of length l. Per document, unbiased estimates of the moments of
three distinct word positions are
    E[x1]          ~ c / l
    E[x1 x2]       ~ (c c' - diag(c)) / (l (l-1))
    E[x1 x2 x3]    ~ (c c c - sum_v c_v (e_v e_v c + e_v c e_v + c e_v e_v) + 2 sum_v c_v e_v e_v e_v)
                     / (l (l-1) (l-2))
averaged over the documents long enough for them. The V x V second moment is only ever touched through
products with thin V x m matrices, computed from sparse documents (MXNet's CSR dot), so memory stays
O(V m + nnz) for any vocabulary.
"""
import mxnet as mx
import numpy as np


def _row_weights(lengths, order):
    """1 / (l (l-1) ... (l-order+1)) for documents with at least `order` words, else 0."""
    w = np.ones_like(lengths, dtype=np.float64)
    for j in range(order):
        w *= np.maximum(lengths - j, 0)
    out = np.zeros_like(w)
    np.divide(1.0, w, out=out, where=w > 0)
    return out


def _lengths(docs):
    if not len(docs.data):
        return np.zeros(docs.shape[0])
    lengths = np.add.reduceat(docs.data, docs.indptr[:-1]).astype(np.float64)
    lengths[np.diff(docs.indptr) == 0] = 0.0
    return lengths


def _col(w):
    return mx.nd.array(np.asarray(w, dtype=np.float32)).reshape((-1, 1))


class Chunk:
    """A block of documents as MXNet CSR, with the per-document weights of the moment estimates."""

    def __init__(self, docs):
        self.csr = mx.nd.sparse.csr_matrix((docs.data, docs.indices, docs.indptr), shape=docs.shape)
        self.rows = docs.shape[0]
        self.nnz = len(docs.data)
        self.lengths = _lengths(docs)
        self.w1 = _row_weights(self.lengths, 1)
        self.w2 = _row_weights(self.lengths, 2)
        self.w3 = _row_weights(self.lengths, 3)

    def times(self, X):
        """C @ X for an NDArray X (V x m): (rows x m) NDArray."""
        return mx.nd.sparse.dot(self.csr, X)

    def t_times(self, Y):
        """C' @ Y for a (rows x m) NDArray: (V x m) numpy."""
        return mx.nd.sparse.dot(self.csr, Y, transpose_a=True, forward_stype="default").asnumpy()


class Corpus:
    """Documents kept as MXNet CSR chunks after the streaming pass (12 bytes per nonzero), so the
    products after it (power iterations, whitened third moment) need no second read of the input."""

    def __init__(self, V):
        self.V = V
        self.chunks = []
        self.nnz = 0
        self.docs = 0

    def add(self, chunk):
        self.chunks.append(chunk)
        self.nnz += chunk.nnz
        self.docs += chunk.rows

    def __iter__(self):
        return iter(self.chunks)


class MomentPass:
    """First and second moments (the latter as a sketch M2 @ Omega) in one pass over the documents.

    Omega is a CountSketch (each word one random column, random sign; Clarkson and Woodruff 2013):
    C @ Omega is then one bincount over the nonzeros instead of a (nonzeros x width) product, which
    halves the pass; the power iteration after the pass makes up for the coarser test matrix."""

    def __init__(self, V, sketch_width, alpha0, seed=0):
        self.V = V
        self.alpha0 = alpha0
        self.width = 0 if sketch_width >= V else sketch_width
        if self.width:
            rng = np.random.RandomState(seed)
            self.bucket = rng.randint(0, self.width, V)
            self.sign = rng.choice([-1.0, 1.0], V)
        self.m1 = np.zeros(V)
        self.g2 = np.zeros(V)                # sum_d c_d / (l (l-1))
        self.y2 = np.zeros((V, self.width))  # sum_d c_d (c_d' Omega) / (l (l-1))
        self.n1 = self.n2 = self.n3 = 0
        self.words = 0.0

    @property
    def exact(self):
        """A small vocabulary: M2 is taken exactly from the kept documents after the pass."""
        return self.width == 0

    def add(self, chunk, docs):
        """chunk: the Chunk of the CSR documents `docs`."""
        self.words += chunk.lengths.sum()
        self.n1 += int((chunk.lengths >= 1).sum())
        self.n2 += int((chunk.lengths >= 2).sum())
        self.n3 += int((chunk.lengths >= 3).sum())
        weights = np.stack([chunk.w1, chunk.w2], axis=1).astype(np.float32)
        if self.exact:
            both = chunk.t_times(mx.nd.array(weights))
        else:  # one transposed product for the sketch and both per-word sums
            m = self.width
            rows = np.repeat(np.arange(chunk.rows), np.diff(docs.indptr))
            idx = docs.indices
            proj = np.bincount(rows * m + self.bucket[idx], minlength=chunk.rows * m,
                               weights=self.sign[idx] * docs.data * chunk.w2[rows]).reshape(chunk.rows, m)
            both = chunk.t_times(mx.nd.array(np.hstack([proj.astype(np.float32), weights])))
            self.y2 += both[:, :-2]
        self.m1 += both[:, -2]
        self.g2 += both[:, -1]

    @property
    def shift(self):
        """alpha0 / (alpha0 + 1): M2 = E[x1 x2] - shift * M1 M1'."""
        return self.alpha0 / (self.alpha0 + 1.0)

    def first(self):
        return self.m1 / max(self.n1, 1)

    def sketch(self):
        """M2 @ Omega."""
        m1 = self.first()
        words = np.arange(self.V)
        e2 = self.y2.copy()
        e2[words, self.bucket] -= self.g2 * self.sign       # diag(g2) @ Omega
        e2 /= max(self.n2, 1)
        m1_omega = np.bincount(self.bucket, weights=self.sign * m1, minlength=self.width)
        return e2 - self.shift * np.outer(m1, m1_omega)

    def second_times(self, corpus, X, noise=False):
        """M2 @ X for a V x m matrix X, by one pass over the kept documents. With noise=True also
        D @ X, D the half-difference of the second moments of the even and the odd documents: its
        size is that of the sampling noise in M2."""
        X32 = mx.nd.array(X.astype(np.float32))
        m = X.shape[1]
        acc = np.zeros(X.shape)
        diff = np.zeros(X.shape)
        g2_diff = np.zeros(self.V)
        first = 0
        for chunk in corpus:
            proj = chunk.times(X32) * _col(chunk.w2)
            if noise:
                sign = np.where(np.arange(first, first + chunk.rows) % 2, -1.0, 1.0)
                out = chunk.t_times(mx.nd.concat(proj, proj * _col(sign), _col(chunk.w2 * sign), dim=1))
                acc += out[:, :m]
                diff += out[:, m:2 * m]
                g2_diff += out[:, -1]
            else:
                acc += chunk.t_times(proj)
            first += chunk.rows
        m1 = self.first()
        e2 = (acc - self.g2[:, None] * X) / max(self.n2, 1)
        out = e2 - self.shift * np.outer(m1, m1 @ X)
        if not noise:
            return out
        # equal halves up to one document: (E_even - E_odd) / 2 ~ (sum_even - sum_odd) / n2
        return out, (diff - g2_diff[:, None] * X) / max(self.n2, 1)


def whitened_third(corpus, moments, W, chunk_rows=4096):
    """M3(W, W, W), a k x k x k tensor, for the V x k whitening matrix W, from the kept documents."""
    V, k = W.shape
    W32 = mx.nd.array(W.astype(np.float32))
    u = np.zeros((V, k))
    g3 = np.zeros(V)
    e2w = np.zeros((k, k))
    iu, ju = np.triu_indices(k)
    t1 = np.zeros((k, len(iu)))
    for chunk in corpus:
        z = chunk.times(W32).asnumpy()
        e2w += (z * chunk.w2[:, None]).T @ z
        zs = (z * chunk.w3[:, None]).astype(np.float32)
        out = chunk.t_times(mx.nd.concat(mx.nd.array(zs), _col(chunk.w3), dim=1))
        u += out[:, :k]
        g3 += out[:, k]
        for s in range(0, chunk.rows, chunk_rows):
            zz = z[s:s + chunk_rows]
            t1 += zs[s:s + chunk_rows].T @ (zz[:, iu] * zz[:, ju])  # the symmetric half of z z'
    t1_full = np.zeros((k, k, k))
    t1_full[:, iu, ju] = t1
    t1_full[:, ju, iu] = t1
    n2, n3 = max(moments.n2, 1), max(moments.n3, 1)
    # sum_v w_v w_v u_v and sum_v g3_v w_v w_v w_v, by rows of W in blocks (V x k^2 would be large)
    x = np.zeros((k * k, k))
    diag3 = np.zeros((k * k, k))
    for s in range(0, V, 2048):
        ww = W[s:s + 2048]
        kr = (ww[:, :, None] * ww[:, None, :]).reshape(len(ww), k * k)
        x += kr.T @ u[s:s + 2048]
        diag3 += (kr * g3[s:s + 2048, None]).T @ ww
    x = x.reshape(k, k, k)
    e3 = (t1_full  # symmetric: the order of its indices does not matter
          - x - x.transpose(0, 2, 1) - x.transpose(2, 0, 1)
          + 2.0 * diag3.reshape(k, k, k)) / n3
    e2w = (e2w - (W * moments.g2[:, None]).T @ W) / n2
    m = W.T @ moments.first()
    a0 = moments.alpha0
    a3 = a0 / (a0 + 2.0)
    b3 = 2.0 * a0 * a0 / ((a0 + 2.0) * (a0 + 1.0))
    pair = (e2w[:, :, None] * m[None, None, :] + e2w[:, None, :] * m[None, :, None]
            + m[:, None, None] * e2w[None, :, :])
    return e3 - a3 * pair + b3 * np.einsum("i,j,k->ijk", m, m, m)
