"""Data with planted anomalies, and the encodings the tests send."""
import json

import numpy as np

from formats import rioproto
from helpers import feed_pipe  # noqa: F401  (the tests call rcfdata.feed_pipe)

ALGO = "randomcutforest"
CSV = "text/csv"
RIO = "application/x-recordio-protobuf"


def shingled_sine(n, seed, spike_rate=0.01, low=6.0, high=20.0, shingle=4):
    """A noisy sine (period 96, as the guide's half-hourly taxi counts over two days) in shingles of
    `shingle` consecutive values, as the guide's taxi example does; a spike displaces a shingle's
    newest value by low..high. Labels 1 at spikes."""
    rng = np.random.default_rng(seed)
    t = np.arange(n + shingle)
    x = 10 * np.sin(2 * np.pi * t / 96) + rng.normal(0, 0.5, len(t))
    X = np.lib.stride_tricks.sliding_window_view(x, shingle)[1:n + 1].copy()
    at = rng.choice(n, max(1, int(n * spike_rate)), replace=False)
    X[at, -1] += rng.choice([-1, 1], len(at)) * rng.uniform(low, high, len(at))
    y = np.zeros(n)
    y[at] = 1
    return X.astype(np.float32), y.astype(np.float32)


def mixture(n, seed, dim=10, outlier_rate=0.01):
    """Three Gaussian clusters in `dim` dimensions with outliers scattered uniformly around them."""
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(99).uniform(-6, 6, (3, dim))
    X = centers[rng.integers(0, 3, n)] + rng.normal(0, 1, (n, dim))
    y = np.zeros(n)
    at = rng.choice(n, max(1, int(n * outlier_rate)), replace=False)
    X[at] = rng.uniform(-10, 10, (len(at), dim))
    y[at] = 1
    return X.astype(np.float32), y.astype(np.float32)


def csv(X, y=None):
    rows = X if y is None else np.column_stack([y, X])
    return ("\n".join(",".join("%.9g" % v for v in r) for r in rows) + "\n").encode()


def recordio(X, y=None):
    return rioproto.encode_dense(X, y)


def train_channel(body, content_type=CSV + ";label_size=0", mode="File", distribution="ShardedByS3Key"):
    ch = {"content_type": content_type, "mode": mode, "distribution": distribution}
    if mode == "File":
        ch["files"] = {"part-0": body}
    return ch


def scores_of(server, X):
    r = server.post(csv(X), CSV, accept="application/jsonlines")
    assert r.status_code == 200, r.text
    return np.array([json.loads(line)["score"] for line in r.text.splitlines()])
