"""Per-document topic mixtures: theta maximising the document's likelihood sum_w c_w log(theta' beta_w)
over the simplex (the guide's "maximize the likelihood function"), by EM on the words' topic
assignments. Each step is multiplicative, keeps theta on the simplex and never lowers the likelihood;
a whole block of documents is updated at once:
    theta_dk <- theta_dk * sum_w c_dw beta_kw / (theta_d' beta_w) / l_d

numpy rather than MXNet: these are small elementwise steps where MXNet's per-operator cost (serving runs
its NaiveEngine on one thread) was 5-10 times numpy's.

Blocks are dense (documents x vocabulary, two matrix products per step) when the counts are dense
enough for that to be cheaper, else computed on the nonzero counts only.
"""
import numpy as np

MAX_STEPS = 300
TOL = 1e-5          # stop when no mixture weight of the block moves more than this in a step
CHECK_EVERY = 5
BLOCK_CELLS = 1 << 22  # bounds a block's dense (documents x vocabulary) or (nonzeros x topics) arrays
DENSE_ABOVE = 0.05     # density from which the dense form is the cheaper one


class MixtureSolver:
    def __init__(self, beta):
        self.beta = np.ascontiguousarray(beta, dtype=np.float32)          # K x V
        self.beta_t = np.ascontiguousarray(self.beta.T)                   # V x K
        self.K, self.V = beta.shape

    def solve(self, data, indices, indptr, n):
        """(n, K) float32 mixtures of the CSR documents; empty documents get the uniform mixture."""
        out = np.empty((n, self.K), dtype=np.float32)
        density = len(data) / max(1.0, float(n) * self.V)
        dense = density >= DENSE_ABOVE
        per_doc = self.V if dense else max(1.0, len(data) / max(n, 1)) * self.K
        rows = max(1, int(BLOCK_CELLS // per_doc))
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            lo, hi = indptr[start], indptr[stop]
            block = (data[lo:hi], indices[lo:hi], indptr[start:stop + 1] - lo, stop - start)
            out[start:stop] = self._dense(*block) if dense else self._sparse(*block)
        return out

    def _dense(self, data, indices, indptr, n):
        counts = np.zeros((n, self.V), np.float32)
        counts[np.repeat(np.arange(n), np.diff(indptr)), indices] = data
        lengths = counts.sum(axis=1)
        inv = np.where(lengths > 0, 1.0 / np.maximum(lengths, 1e-30), 0.0).astype(np.float32)[:, None]

        def step(theta):
            ratio = counts / np.maximum(theta @ self.beta, 1e-30)
            return theta * (ratio @ self.beta_t) * inv

        return _iterate(step, n, self.K, lengths)

    def _sparse(self, data, indices, indptr, n):
        rows = np.repeat(np.arange(n), np.diff(indptr))
        lengths = np.bincount(rows, weights=data, minlength=n).astype(np.float32)
        inv = np.where(lengths > 0, 1.0 / np.maximum(lengths, 1e-30), 0.0).astype(np.float32)[:, None]
        bw = self.beta_t[indices]                     # nnz x K
        counts = data.astype(np.float32)
        starts = indptr[:-1][np.diff(indptr) > 0]
        full = np.diff(indptr) > 0

        def step(theta):
            den = np.einsum("ij,ij->i", theta[rows], bw)
            resp = bw * (counts / np.maximum(den, 1e-30))[:, None]
            sums = np.zeros_like(theta)
            if len(starts):
                sums[full] = np.add.reduceat(resp, starts, axis=0)
            return theta * sums * inv

        return _iterate(step, n, self.K, lengths)


def _iterate(step, n, K, lengths):
    theta = np.full((n, K), 1.0 / K, np.float32)
    for i in range(MAX_STEPS):
        new = step(theta)
        if (i + 1) % CHECK_EVERY == 0 and np.abs(new - theta).max() < TOL:
            theta = new
            break
        theta = new
    theta[lengths <= 0] = 1.0 / K
    return theta
