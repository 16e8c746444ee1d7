"""The spectral LDA estimator: whiten the second moment, decompose the whitened third moment, un-whiten.

With W' M2 W = I (W is V x k), M3(W, W, W) = sum_i lam_i v_i o v_i o v_i with orthonormal v_i, and
    alpha_i = 4 alpha0 (alpha0 + 1) / ((alpha0 + 2)^2 lam_i^2)
    beta_i  = (alpha0 + 2) / 2 * lam_i * B v_i,   B = M2 W (the pseudo-inverse of W')
(Anandkumar et al., JMLR 2014, Theorem 3.5 and section 4.)
"""
import math
import time

import numpy as np

from containers.lda import als, moments

EXTRA_TOPICS = 0.25   # the guide: 25% more topics are computed, the largest priors kept
OVERSAMPLE = 10       # range finder: extra sketch columns (Halko, Martinsson, Tropp 2011)
POWER_ITERATIONS = 1  # passes over the kept documents sharpening the sketched range
EIG_FLOOR = 1e-8      # relative: second-moment directions below this are noise


def computed_topics(num_topics, vocabulary):
    return max(num_topics, min(int(math.ceil(num_topics * (1 + EXTRA_TOPICS))), vocabulary))


def sketch_width(num_topics, vocabulary):
    k = computed_topics(num_topics, vocabulary)
    return k + max(OVERSAMPLE, k // 5)


def whitening(moment_pass, corpus, k, num_topics, log=None):
    """(W, B): V x k' whitening matrix and its un-whitening counterpart, from the top eigenpairs of M2.

    k' is k, less the extra directions whose eigenvalues are below the sampling noise of M2 (but never
    below num_topics): whitening scales a direction by 1/sqrt(eigenvalue), so a noise direction would
    swamp the whitened third moment and blur the real topics."""
    if moment_pass.exact:
        q = np.eye(moment_pass.V)  # a small vocabulary: M2 itself, exactly
    else:
        q = np.linalg.qr(moment_pass.sketch())[0]
        for _ in range(POWER_ITERATIONS):
            q = np.linalg.qr(moment_pass.second_times(corpus, q))[0]
    mq, dq = moment_pass.second_times(corpus, q, noise=True)
    s, U = np.linalg.eigh((q.T @ mq + mq.T @ q) / 2)  # Rayleigh-Ritz on the range
    noise = float(np.abs(np.linalg.eigvalsh((q.T @ dq + dq.T @ q) / 2)).max())
    if log:
        log.info("second moment: top eigenvalues %s, sampling noise %.3g",
                 np.array2string(np.sort(s)[::-1][:k + 2], precision=3), noise)
    order = np.argsort(s)[::-1][:k]
    s, U = s[order], U[:, order]
    floor = max(s[0], 1e-300) * EIG_FLOOR
    if log and (s <= floor).any():
        log.warning("second moment has only %d of %d directions above noise; the rest are floored",
                    int((s > floor).sum()), k)
    s = np.maximum(s, floor)
    kept = min(k, max(num_topics, int((s > noise).sum())))
    if kept < k and log:
        log.info("%d extra topic direction%s below the sampling noise of the second moment: "
                 "computing %d topics", k - kept, "" if k - kept == 1 else "s", kept)
    s, U = s[:kept], U[:, :kept]
    U = q @ U
    return U / np.sqrt(s), U * np.sqrt(s)


def fit(moment_pass, corpus, num_topics, max_restarts, max_iterations, tol, log=None):
    """alpha (num_topics,), beta (num_topics, V) from the accumulated moments."""
    V = moment_pass.V
    a0 = moment_pass.alpha0
    k = computed_topics(num_topics, V)
    t0 = time.time()
    W, B = whitening(moment_pass, corpus, k, num_topics, log)
    k = W.shape[1]
    t1 = time.time()
    T = moments.whitened_third(corpus, moment_pass, W)
    t2 = time.time()
    lam, A, Bf, C, err = als.cp_als(T, k, max_restarts, max_iterations, tol, log=log)
    if log:
        log.info("whitening %.2fs, whitened third moment %.2fs, ALS %.2fs",
                 t1 - t0, t2 - t1, time.time() - t2)
    weight, vecs = als.symmetric_components(T, lam, A, Bf, C)
    keep = np.argsort(-_prior(weight, a0))[:num_topics]  # the largest Dirichlet priors
    weight, vecs = weight[keep], vecs[:, keep]
    alpha = _prior(weight, a0)
    beta = ((a0 + 2.0) / 2.0 * weight) * (B @ vecs)   # V x num_topics
    order = np.argsort(-alpha)
    return alpha[order], _to_simplex(beta[:, order].T), err


def _prior(weight, a0):
    weight = np.maximum(weight, 1e-12)
    return 4.0 * a0 * (a0 + 1.0) / ((a0 + 2.0) ** 2 * weight ** 2)


WORD_FLOOR = 1e-7  # no word impossible under every topic: one unseen word would make pwll -inf


def _to_simplex(beta):
    """Each topic the nearest distribution (Euclidean projection onto the simplex, Duchi et al. 2008):
    sampling noise leaves small entries of both signs where the topic has none; the projection takes
    them to zero rather than keeping the positive half as clipping would."""
    K, V = beta.shape
    u = -np.sort(-beta, axis=1)
    css = np.cumsum(u, axis=1) - 1.0
    ind = np.arange(1, V + 1)
    cond = u - css / ind > 0
    r = V - np.argmax(cond[:, ::-1], axis=1)          # the last index where cond holds, 1-based
    tau = css[np.arange(K), r - 1] / r
    out = np.maximum(beta - tau[:, None], 0.0) + WORD_FLOOR
    return out / out.sum(axis=1, keepdims=True)
