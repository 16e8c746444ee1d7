"""Per-word log-likelihood (pwll) of documents under an LDA model (alpha, beta).

log p(w | alpha, beta) integrates over the topic mixture and has no closed form; what is reported is
the variational lower bound of Blei, Ng and Jordan (2003, section 5) with beta fixed, maximised per
document by the usual coordinate ascent on gamma, summed over documents and divided by the number of
words. The same quantity as gensim's and scikit-learn's per-word bound, without a prior on beta.
"""
import numpy as np

STEPS = 100
TOL = 1e-5


def digamma(x):
    """psi(x) for x > 0, by recurrence to x >= 6 and the asymptotic series (error < 1e-12)."""
    x = np.array(x, dtype=np.float64)
    acc = np.zeros_like(x)
    for _ in range(6):
        small = x < 6
        if not small.any():
            break
        acc -= np.where(small, 1.0 / x, 0.0)
        x = np.where(small, x + 1, x)
    inv = 1.0 / x
    inv2 = inv * inv
    series = inv2 * (1 / 12. - inv2 * (1 / 120. - inv2 * (1 / 252. - inv2 * (1 / 240. - inv2 / 132.))))
    return acc + np.log(x) - 0.5 * inv - series


def gammaln(x):
    """log Gamma(x) for x > 0, by recurrence to x >= 6 and Stirling's series (error < 1e-12)."""
    x = np.array(x, dtype=np.float64)
    acc = np.zeros_like(x)
    for _ in range(6):
        small = x < 6
        if not small.any():
            break
        acc -= np.where(small, np.log(x), 0.0)
        x = np.where(small, x + 1, x)
    inv = 1.0 / x
    inv2 = inv * inv
    series = inv * (1 / 12. - inv2 * (1 / 360. - inv2 * (1 / 1260. - inv2 / 1680.)))
    return acc + (x - 0.5) * np.log(x) - x + 0.5 * np.log(2 * np.pi) + series


def document_bounds(alpha, beta, data, indices, indptr):
    """(bound per document, words per document) for CSR documents."""
    alpha = np.asarray(alpha, np.float64)
    beta = np.asarray(beta, np.float64)
    n = len(indptr) - 1
    rows = np.repeat(np.arange(n), np.diff(indptr))
    counts = np.asarray(data, np.float64)
    lengths = np.bincount(rows, weights=counts, minlength=n)
    bw = np.maximum(beta.T[indices], 1e-300)  # nnz x K
    gamma = alpha[None, :] + (lengths / len(alpha))[:, None]
    for _ in range(STEPS):
        elog = digamma(gamma) - digamma(gamma.sum(axis=1, keepdims=True))
        p = bw * np.exp(elog)[rows]
        den = p.sum(axis=1)
        resp = p * (counts / den)[:, None]
        new = alpha[None, :] + _segment_sum(resp, indptr, n)
        moved = np.abs(new - gamma).max() if n else 0.0
        gamma = new
        if moved < TOL:
            break
    elog = digamma(gamma) - digamma(gamma.sum(axis=1, keepdims=True))
    words = np.bincount(rows, weights=counts * np.log((bw * np.exp(elog)[rows]).sum(axis=1)),
                        minlength=n)
    prior = gammaln(alpha.sum()) - gammaln(alpha).sum() + ((alpha - 1) * elog).sum(axis=1)
    entropy = (gammaln(gamma.sum(axis=1)) - gammaln(gamma).sum(axis=1)
               + ((gamma - 1) * elog).sum(axis=1))
    return words + prior - entropy, lengths


def _segment_sum(values, indptr, n):
    """Row sums of CSR-ordered values; empty rows stay 0."""
    out = np.zeros((n, values.shape[1]))
    starts = np.asarray(indptr[:-1])
    full = np.diff(indptr) > 0
    if full.any():
        out[full] = np.add.reduceat(values, starts[full], axis=0)
    return out


class PerWordLikelihood:
    """Accumulates the bound over batches of documents."""

    def __init__(self, alpha, beta):
        self.alpha, self.beta = alpha, beta
        self.total = 0.0
        self.words = 0.0
        self.docs = 0

    def add(self, data, indices, indptr):
        bounds, lengths = document_bounds(self.alpha, self.beta, data, indices, indptr)
        keep = lengths > 0
        self.total += float(bounds[keep].sum())
        self.words += float(lengths.sum())
        self.docs += int(keep.sum())

    def value(self):
        return self.total / self.words if self.words else float("nan")
