"""Documents drawn from a known LDA model with "bars" topics, and the recordIO / CSV files users send.

The topics are those of the service's own example notebook (generate_griffiths_data): the vocabulary is
a grid with K columns, and topic i puts Dirichlet(100)-drawn weights on the words of column i. With
V = 25 and K = 5 this is exactly the notebook's 5 x 5 "column bars".
"""
import io

import numpy as np
from helpers import feed_pipe  # noqa: F401  (the tests call ldadata.feed_pipe)

ALGO = "lda"
RIO = "application/x-recordio-protobuf"


def bars(V, K, seed=1):
    if V % K:
        raise ValueError("V must be a multiple of K")
    rng = np.random.RandomState(seed)
    beta = np.zeros((K, V))
    for i in range(K):
        beta[i, i::K] = rng.dirichlet([100.0] * (V // K))
    return beta


def documents(beta, alpha, n, mean_length, seed=0, min_length=3):
    """(counts as scipy CSR (n, V) float32, true topic mixtures (n, K)), vectorised over all tokens."""
    import scipy.sparse as sp
    rng = np.random.RandomState(seed)
    K, V = beta.shape
    theta = rng.dirichlet(alpha, n)
    lengths = rng.poisson(mean_length, n) + min_length
    doc = np.repeat(np.arange(n), lengths)
    # document d's topic cdf occupies [d, d+1) of one stacked cdf: one searchsorted for all tokens
    tcdf = np.cumsum(theta, axis=1)
    tcdf[:, -1] = 1.0
    u = rng.random_sample(len(doc))
    z = np.searchsorted((tcdf + np.arange(n)[:, None]).ravel(), u + doc, side="right") - doc * K
    z = np.clip(z, 0, K - 1)
    cdf = np.cumsum(beta, axis=1)
    cdf[:, -1] = 1.0
    u = rng.random_sample(len(doc))
    # topic k's distribution occupies [k, k+1) of one stacked cdf: one searchsorted for all tokens
    stacked = (cdf + np.arange(K)[:, None]).ravel()
    words = np.searchsorted(stacked, u + z, side="right") - z * V
    words = np.clip(words, 0, V - 1)
    counts = sp.csr_matrix((np.ones(len(doc), np.float32), (doc, words)), shape=(n, V))
    counts.sum_duplicates()
    return counts, theta


def recordio_sparse(X, dtype=np.float32):
    """The official client's write_spmatrix_to_sparse_tensor layout."""
    from sagemaker.amazon.common import write_spmatrix_to_sparse_tensor
    buf = io.BytesIO()
    write_spmatrix_to_sparse_tensor(buf, X.astype(dtype))
    return buf.getvalue()


def recordio_dense(X):
    """The official client's write_numpy_to_dense_tensor: the tensor type follows the dtype
    (float32, float64 -> Float64Tensor, int64 -> Int32Tensor)."""
    from sagemaker.amazon.common import write_numpy_to_dense_tensor
    buf = io.BytesIO()
    write_numpy_to_dense_tensor(buf, np.asarray(X))
    return buf.getvalue()


def csv_bytes(X):
    X = np.asarray(X.todense() if hasattr(X, "todense") else X)
    return "".join(",".join("%g" % v for v in row) + "\n" for row in X).encode()


def channel(files, content_type=RIO, mode="File"):
    return {"content_type": content_type, "mode": mode,
            "files": files if isinstance(files, dict) else {"part-0": files}}


def tv_matched(beta_true, beta_est):
    """Total-variation distance of each true topic to its Hungarian-matched estimate."""
    from scipy.optimize import linear_sum_assignment
    tv = 0.5 * np.abs(beta_true[:, None, :] - beta_est[None, :, :]).sum(axis=2)
    rows, cols = linear_sum_assignment(tv)
    return tv[rows, cols], cols


def load_model(model_dir):
    """The artifact as users read it: alpha, beta = mx.ndarray.load(model_algo-1)."""
    import os

    import mxnet as mx
    alpha, beta = mx.ndarray.load(os.path.join(model_dir, "model_algo-1"))
    return alpha.asnumpy().astype(np.float64), beta.asnumpy().astype(np.float64)


def mc_log_likelihood(alpha, beta, X, samples=20000, seed=0):
    """log p(doc | alpha, beta) per document by plain Monte Carlo over theta ~ Dirichlet(alpha):
    an outside check of the variational bound the container reports (good for short documents)."""
    from scipy.special import logsumexp
    rng = np.random.RandomState(seed)
    theta = rng.dirichlet(alpha, samples)          # S x K
    logp = np.log(np.maximum(theta @ beta, 1e-300))  # S x V
    X = np.asarray(X.todense() if hasattr(X, "todense") else X)
    ll = X @ logp.T                                # docs x S (bag of words, in order of the tokens)
    return logsumexp(ll, axis=1) - np.log(samples)


SMALL = dict(V=25, K=5, alpha0=1.0, docs=3000, test_docs=400, length=150)   # the notebook's data
LARGE = dict(V=2000, K=10, alpha0=1.0, docs=6000, test_docs=300, length=120)


def make_data(cfg, seed=0):
    beta = bars(cfg["V"], cfg["K"])
    alpha = np.full(cfg["K"], cfg["alpha0"] / cfg["K"])
    X, _ = documents(beta, alpha, cfg["docs"], cfg["length"], seed=seed)
    Xt, theta_t = documents(beta, alpha, cfg["test_docs"], cfg["length"], seed=seed + 1)
    return beta, alpha, X, Xt, theta_t


def _hp(cfg, **extra):
    hp = {"num_topics": cfg["K"], "feature_dim": cfg["V"], "mini_batch_size": cfg["docs"],
          "alpha0": cfg["alpha0"]}
    hp.update(extra)
    return hp
