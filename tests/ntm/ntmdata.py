"""Documents from a known topic model, the files users send, and readings of the NTM artifact."""
import io
import zipfile

import numpy as np
from helpers import feed_pipe  # noqa: F401  (the tests call ntmdata.feed_pipe)

ALGO = "ntm"
RIO = "application/x-recordio-protobuf"


def topics(V, K, seed=1, concentration=0.05):
    """K sparse word distributions over V words (Dirichlet(0.05): each topic owns a few dozen words)."""
    return np.random.RandomState(seed).dirichlet([concentration] * V, K)


def documents(beta, n, mean_length=80, alpha=0.1, seed=0):
    """(counts as scipy CSR (n, V) float32, topic mixtures): LDA's generative process, mixtures from
    Dirichlet(alpha) so most documents lean on one or two topics."""
    import scipy.sparse as sp
    rng = np.random.RandomState(seed)
    K, V = beta.shape
    theta = rng.dirichlet([alpha] * K, n)
    lengths = rng.poisson(mean_length, n) + 5
    p = theta @ beta
    X = np.vstack([rng.multinomial(m, row / row.sum()) for m, row in zip(lengths, p)]).astype(np.float32)
    return sp.csr_matrix(X), theta


def recordio_sparse(X, dtype=np.float32):
    from sagemaker.amazon.common import write_spmatrix_to_sparse_tensor
    buf = io.BytesIO()
    write_spmatrix_to_sparse_tensor(buf, X.astype(dtype))
    return buf.getvalue()


def recordio_dense(X):
    from sagemaker.amazon.common import write_numpy_to_dense_tensor
    buf = io.BytesIO()
    write_numpy_to_dense_tensor(buf, np.asarray(X.todense() if hasattr(X, "todense") else X))
    return buf.getvalue()


def csv_bytes(X):
    X = np.asarray(X.todense() if hasattr(X, "todense") else X)
    return "".join(",".join("%d" % v for v in row) + "\n" for row in X).encode()


def channel(files, content_type=RIO, mode="File"):
    return {"content_type": content_type, "mode": mode,
            "files": files if isinstance(files, dict) else {"part-0": files}}


def load_params(path):
    """What the service's notebook does: unzip model_algo-1, mx.nd.load('params')."""
    import mxnet as mx
    with zipfile.ZipFile(path) as z:
        return {k: v.asnumpy() for k, v in mx.nd.load_frombuffer(z.read("params")).items()}, z.namelist()


def softmax_columns(W):
    e = np.exp(W - W.max(axis=0))
    return e / e.sum(axis=0)


def best_match_cosine(beta, learned):
    """For each true topic (rows of beta), the cosine with its closest learned topic (rows)."""
    a = beta / np.linalg.norm(beta, axis=1, keepdims=True)
    b = learned / np.linalg.norm(learned, axis=1, keepdims=True)
    return (a @ b.T).max(axis=1)


def numpy_losses(params, X):
    """Per-document (reconstruction, KL) of the saved model with h = mu, in plain numpy: an outside
    check of the losses the container reports (sigmoid encoder without batch norm)."""
    X = np.asarray(X.todense() if hasattr(X, "todense") else X, np.float64)
    P = {k.split(":", 1)[1]: v.astype(np.float64) for k, v in params.items()}
    h = 1 / (1 + np.exp(-(X @ P["encoder_0_weight"] + P["encoder_0_bias"])))
    i = 1
    while "encoder_%d_weight" % i in P:
        h = 1 / (1 + np.exp(-(h @ P["encoder_%d_weight" % i].T + P["encoder_%d_bias" % i])))
        i += 1
    mu = h @ P["mu_weight"].T + P["mu_bias"]
    ls = h @ P["logsigma_weight"].T + P["logsigma_bias"]
    z = np.exp(mu - mu.max(1, keepdims=True))
    z /= z.sum(1, keepdims=True)
    logits = z @ P["projection_weight"].T + P["projection_bias"]
    m = logits.max(1, keepdims=True)
    logp = logits - (m + np.log(np.exp(logits - m).sum(1, keepdims=True)))
    rec = -(X * logp).sum(1)
    kl = 0.5 * (mu ** 2 + np.exp(2 * ls) - 1 - 2 * ls).sum(1)
    return rec, kl, z
