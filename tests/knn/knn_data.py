"""Data, job layouts and scikit-learn oracles for the k-NN tests."""

import numpy as np
from sklearn.datasets import load_diabetes, load_digits
from sklearn.neighbors import NearestNeighbors

from formats.rioproto import encode_dense
from helpers import feed_pipe  # noqa: F401  (conftest imports it from here)

ALGO = "knn"
CSV = "text/csv"
RIO = "application/x-recordio-protobuf"
K = 5  # neighbours of the trained models


def digits():
    """1300 train / 497 test rows, 64 integer features 0-16, labels 0-9."""
    X, y = load_digits(return_X_y=True)
    p = np.random.RandomState(0).permutation(len(X))
    X, y = X[p].astype(np.float32), y[p].astype(np.float32)
    return X[:1300], X[1300:], y[:1300], y[1300:]


def diabetes():
    """350 train / 92 test rows, 10 features, a continuous target."""
    X, y = load_diabetes(return_X_y=True)
    p = np.random.RandomState(1).permutation(len(X))
    X, y = X[p].astype(np.float32), y[p].astype(np.float32)
    return X[:350], X[350:], y[:350], y[350:]


def large(n=60000, d=8):
    """n random rows of d features with 3 labels: a flat index big enough that serve shards it."""
    rng = np.random.RandomState(5)
    X = rng.rand(n + 40, d).astype(np.float32)
    y = rng.randint(0, 3, n + 40).astype(np.float32)
    return X[:n], X[n:], y[:n], y[n:]


def csv_bytes(X, y=None):
    rows = X if y is None else np.column_stack([y, X])
    return "".join(",".join("%.9g" % v for v in r) + "\n" for r in rows).encode()


def channel(X, y, content_type=RIO, mode="File"):
    ch = {"content_type": content_type, "mode": mode}
    if mode == "File":
        ch["files"] = {"part-0": csv_bytes(X, y) if content_type.startswith(CSV) else encode_dense(X, y)}
    return ch


def oracle(Xtr, Xte, k, metric="euclidean"):
    """scikit-learn's exact neighbours in float64: (distances, indices) with k+1 columns."""
    nn = NearestNeighbors(n_neighbors=k + 1, algorithm="brute", metric=metric).fit(Xtr.astype(np.float64))
    return nn.kneighbors(Xte.astype(np.float64))


def untied(dist, k, rel=1e-5):
    """Rows whose first k+1 oracle distances are all distinct: the k neighbours and their order are
    the same whatever a library does with equal distances."""
    d = dist[:, :k + 1]
    gaps = np.diff(d, axis=1)
    return (gaps > rel * np.maximum(1.0, np.abs(d[:, 1:]))).all(axis=1)


def vote_untied(labels):
    """Rows whose neighbour labels have a single most frequent value."""
    out = []
    for row in labels:
        _, counts = np.unique(row, return_counts=True)
        out.append((counts == counts.max()).sum() == 1)
    return np.array(out)
