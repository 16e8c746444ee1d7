"""Weighted Lloyd's method with k-means++ seeding: reduces the K trained centers to k (numpy glue:
K is at most a few thousand points, far below where a device pays off)."""
import numpy as np


def _sq(x, c):
    d = (x * x).sum(1)[:, None] - 2 * x @ c.T + (c * c).sum(1)[None, :]
    return np.maximum(d, 0)


def kmeans_pp(x, w, k, rng):
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    p = w / w.sum()
    centers = [x[rng.choice(n, p=p)]]
    dmin = _sq(x, centers[0][None])[:, 0]
    for _ in range(1, k):
        prob = w * dmin
        s = prob.sum()
        i = rng.choice(n, p=prob / s) if s > 0 else rng.choice(n)
        centers.append(x[i])
        dmin = np.minimum(dmin, _sq(x, x[i][None])[:, 0])
    return np.array(centers)


def lloyd(x, w, init, max_iter, tol):
    c = init.copy()
    prev = None
    for _ in range(max_iter):
        d = _sq(x, c)
        a = d.argmin(1)
        loss = float((w * d[np.arange(len(x)), a]).sum())
        for j in range(len(c)):
            m = a == j
            wj = w[m].sum()
            if wj > 0:
                c[j] = (w[m, None] * x[m]).sum(0) / wj
        if prev is not None and prev - loss <= tol * max(prev, 1e-12):
            break
        prev = loss
    d = _sq(x, c)
    return c, float((w * d.min(1)).sum())


def reduce(centers, counts, k, init_method, max_iter, tol, trials, rng):
    x = np.asarray(centers, dtype=np.float64)
    w = np.asarray(counts, dtype=np.float64)
    keep = w > 0
    if keep.sum() >= k:
        x, w = x[keep], w[keep]
    else:
        w = np.where(w > 0, w, 1e-6)
    if len(x) <= k:
        out = np.zeros((k, x.shape[1]))
        out[:len(x)] = x
        out[len(x):] = x[rng.choice(len(x), k - len(x))] if len(x) < k else out[len(x):]
        return out.astype(np.float32)
    best, best_loss = None, np.inf
    for _ in range(trials):
        if init_method == "kmeans++":
            init = kmeans_pp(x, w, k, rng)
        else:
            init = x[rng.choice(len(x), k, replace=False)]
        c, loss = lloyd(x, w, init, max_iter, tol)
        if loss < best_loss:
            best, best_loss = c, loss
    return best.astype(np.float32)
