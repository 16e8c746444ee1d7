"""One-pass, mergeable data summaries (the guide's per-worker "summary") and their decomposition.

Both summaries are sums over records of (x - c), where c is a shift every host agrees on before the
pass: the first records' mean where some feature's mean is large next to its spread, else 0. Summing
shifted records keeps the final `S - s sᵀ/n` free of the cancellation that ruins float32 products
of such data; the sums are exact under any split of the data, so hosts add theirs.

- Scatter (regular mode): S = Σ (x-c)ᵀ(x-c) (d×d), s = Σ (x-c), n.
- Sketch (randomized mode): Y = Σ (x-c)ᵀ((x-c) Ω) (d×ℓ) for an Ω (d×ℓ) every host shares, s, n:
  a streaming Nyström sketch of the scatter matrix, memory ℓ×d, one pass.

Per block the products run in float32 BLAS (numpy, or MXNet's sparse kernels for CSR blocks) and are
added into float64 totals.
"""
import mxnet as mx
import numpy as np

from formats import Csr

SKETCH_SEED = 0  # the same random Ω on every host, so hosts' sketches add up


def _csr(x):
    return mx.nd.sparse.csr_matrix((x.data, x.indices.astype(np.int64, copy=False),
                                    x.indptr.astype(np.int64, copy=False)), shape=x.shape)


def column_sums(x):
    """Σ over rows, float64. Dense: float32 sums of 64-row groups (error of 64 additions, a quarter of
    the time of a float64 reduction), then float64 over the groups."""
    if isinstance(x, Csr):
        return np.bincount(x.indices, weights=x.data, minlength=x.shape[1])[:x.shape[1]]
    whole = x.shape[0] // 64 * 64
    total = x[whole:].sum(axis=0, dtype=np.float64)
    if whole:
        total += x[:whole].reshape(-1, 64, x.shape[1]).sum(axis=1).sum(axis=0, dtype=np.float64)
    return total


def column_squares(x):
    if isinstance(x, Csr):
        return np.bincount(x.indices, weights=np.square(x.data, dtype=np.float64),
                           minlength=x.shape[1])[:x.shape[1]]
    return np.einsum("ij,ij->j", x, x, dtype=np.float64)


class _Summary:
    def __init__(self, dim, shift):
        self.dim = dim
        self.shift = np.asarray(shift, dtype=np.float64)
        self.shift32 = self.shift.astype(np.float32)
        self.has_shift = bool(np.any(self.shift))
        self.n = 0
        self.s = np.zeros(dim)

    def add(self, x):
        """Fold one block of records (float32 (b, d) array or Csr) into the sums."""
        b = x.shape[0]
        if isinstance(x, Csr):
            colsum = column_sums(x)
            self._add_sparse(x, colsum)
            self.s += colsum - b * self.shift
        else:
            if self.has_shift:
                x = x - self.shift32
            self._add_dense(x)
            self.s += column_sums(x)
        self.n += b

    def _mean(self, subtract_mean):
        return self.shift + self.s / self.n if subtract_mean else np.zeros(self.dim)

    def state(self):
        """The arrays hosts sum (float64), in a fixed order."""
        return [self.total(), self.s, np.array([float(self.n)])]

    def set_state(self, arrays):
        total, self.s, n = arrays
        self._set_total(total)
        self.n = int(round(float(n[0])))


class Scatter(_Summary):
    """Regular mode: Σ (x-c)ᵀ(x-c)."""

    def __init__(self, dim, shift):
        super().__init__(dim, shift)
        self.S = np.zeros((dim, dim))

    def _add_dense(self, x):
        self.S += x.T @ x

    def _add_sparse(self, x, colsum):
        if x.data.size:
            dense = mx.nd.array(x.toarray())
            g = mx.nd.sparse.dot(_csr(x), dense, transpose_a=True, forward_stype="default")
            self.S += g.asnumpy()
        if self.has_shift:
            # (X - 1cᵀ)ᵀ(X - 1cᵀ) = XᵀX - (Xᵀ1)cᵀ - c(1ᵀX) + b ccᵀ
            cross = np.outer(colsum, self.shift)
            self.S += x.shape[0] * np.outer(self.shift, self.shift) - cross - cross.T

    def total(self):
        return self.S

    def _set_total(self, total):
        self.S = total

    def components(self, k, subtract_mean):
        C = self.S - np.outer(self.s, self.s) / self.n if subtract_mean else self.S
        w, E = np.linalg.eigh((C + C.T) / 2)  # ascending, as the artifact wants
        return _finish(w[-k:], E[:, -k:], self._mean(subtract_mean))


class Sketch(_Summary):
    """Randomized mode: Y = Σ (x-c)ᵀ(x-c)Ω, the scatter matrix seen through ℓ random directions."""

    FLUSH = 64  # sparse blocks summed in float32 before joining the float64 total

    def __init__(self, dim, shift, omega):
        super().__init__(dim, shift)
        self.omega32 = np.ascontiguousarray(omega, dtype=np.float32)
        self.omega = self.omega32.astype(np.float64)  # exactly the Ω the products used
        self.omega_nd = mx.nd.array(self.omega32)
        self.shift_omega = (self.shift32 @ self.omega32).astype(np.float32)
        self.Y = np.zeros(omega.shape)
        self._pending = None
        self._count = 0

    def _add_dense(self, x):
        self.Y += x.T @ (x @ self.omega32)

    def _add_sparse(self, x, colsum):
        if not x.data.size and not self.has_shift:
            return
        c = _csr(x)
        z = mx.nd.sparse.dot(c, self.omega_nd)
        if self.has_shift:
            z = z - mx.nd.array(self.shift_omega).reshape((1, -1))
        y = mx.nd.sparse.dot(c, z, transpose_a=True, forward_stype="default")
        if self.has_shift:  # (X - 1cᵀ)ᵀZ = XᵀZ - c(1ᵀZ)
            y = y - mx.nd.array(self.shift32).reshape((-1, 1)) * mx.nd.sum(z, axis=0).reshape((1, -1))
        self._pending = y if self._pending is None else self._pending + y
        self._count += 1
        if self._count >= self.FLUSH:
            self._flush()

    def _flush(self):
        if self._pending is not None:
            self.Y += self._pending.asnumpy()
            self._pending, self._count = None, 0

    def total(self):
        self._flush()
        return self.Y

    def _set_total(self, total):
        self._pending, self._count = None, 0
        self.Y = total

    def components(self, k, subtract_mean):
        """Nyström approximation of the (centred) scatter from the sketch, the numerically stable
        form of Tropp, Yurtsever, Udell & Cevher (2017): shift by ν, Cholesky, SVD, unshift."""
        Y = self.total()
        om = self.omega
        if subtract_mean:
            Y = Y - np.outer(self.s, self.s @ om) / self.n
        nu = np.sqrt(self.dim) * np.finfo(np.float64).eps * max(np.linalg.norm(Y, 2), 1e-300)
        Yn = Y + nu * om
        B = om.T @ Yn
        B = (B + B.T) / 2
        try:
            L = np.linalg.cholesky(B)
            F = np.linalg.solve(L, Yn.T).T  # Yn L⁻ᵀ: scatter ≈ F Fᵀ
        except np.linalg.LinAlgError:
            w, Q = np.linalg.eigh(B)
            keep = w > w.max() * 1e-12
            F = (Yn @ Q[:, keep]) / np.sqrt(w[keep])
        U, sig, _ = np.linalg.svd(F, full_matrices=False)
        lam = np.maximum(sig ** 2 - nu, 0.0)
        if U.shape[1] < k:  # fewer directions than asked for (tiny data): pad with orthogonal ones
            U, lam = _pad(U, lam, k)
        return _finish(lam[:k][::-1], U[:, :k][:, ::-1], self._mean(subtract_mean))


def random_directions(dim, width):
    """A random orthonormal d×ℓ matrix, the same on every host."""
    q, _ = np.linalg.qr(np.random.RandomState(SKETCH_SEED).standard_normal((dim, width)))
    return q


def pilot_directions(omega, pilot):
    """Ω for the pass: the range of a first look at the data (pilot = first records' scatter times a
    random Ω, summed over hosts), i.e. one power step on a sample. It aligns the sketch with the top
    components, which a plain random Ω catches only roughly (on digits, ℓ=20: 98% of the variance the
    exact components keep, against 99.8% with a 100-record pilot). The small random part keeps Ω of
    full rank where the pilot has fewer directions than ℓ."""
    top = np.linalg.norm(pilot, 2)
    if not np.isfinite(top) or top == 0:
        return omega
    q, _ = np.linalg.qr(pilot / top + 1e-3 * omega)
    return q


def _pad(U, lam, k):
    d = U.shape[0]
    extra = np.random.RandomState(1).standard_normal((d, k - U.shape[1]))
    extra -= U @ (U.T @ extra)
    q, _ = np.linalg.qr(extra)
    return np.hstack([U, q]), np.concatenate([lam, np.zeros(k - U.shape[1])])


def _finish(eigenvalues, vectors, mean):
    """(mean (1,d), s (k,), v (d,k)) float32, ascending singular values; each column's largest
    entry positive so the same data gives the same signs."""
    s = np.sqrt(np.maximum(eigenvalues, 0.0))
    big = np.argmax(np.abs(vectors), axis=0)
    signs = np.sign(vectors[big, np.arange(vectors.shape[1])])
    signs[signs == 0] = 1
    v = vectors * signs
    return (mean.reshape(1, -1).astype(np.float32), s.astype(np.float32), v.astype(np.float32))
