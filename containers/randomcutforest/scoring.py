"""AWS RCF's anomaly score, every point descending every tree at once over the flat node arrays.

Per tree (AWS random-cut-forest-by-aws, the anomaly score visitor): at the leaf reached, score =
1/(depth+1) for an unseen point, or damp(mass)/(depth+log2(mass+1)) when the point equals the leaf
(damp = 1 - mass/(2*tree_mass)); then up the path each node with separation probability
p = (L1 distance of the point to the node's box) / (box range sum + that distance) mixes in
p/(depth+1): score = p/(depth+1) + (1-p)*score, until a node's box holds the point (p = 0: so do
all its ancestors' boxes, and the score is final). The forest score is the mean over trees times
log2(tree_mass+1), so ordinary points score about 1.

Two vectorised passes over all (point, tree) pairs: down to the leaves with the cuts only (no
per-feature work), then up through the parents, computing box distances only until each pair
converges, which for ordinary points is the lower half of the path. Nothing here changes the forest.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

CHUNK_PAIRS = 1 << 15  # point-tree pairs per chunk: the per-level arrays stay in the CPU cache
_SHIFT = 16            # feature_dim <= 10000 < 2**16


class Scorer:
    def __init__(self, forest, threads=None):
        f = forest
        self.T = f.num_trees
        self.d = f.dim
        self.M = f.tree_mass
        self.roots = np.asarray(f.roots, dtype=np.int64)
        self.left = np.asarray(f.left, dtype=np.int64)
        self.cut_dim = np.asarray(f.cut_dim, dtype=np.int64)
        self.cut_value = np.asarray(f.cut_value, dtype=np.float32)
        self.lower = np.asarray(f.lower, dtype=np.float32)
        self.upper = np.asarray(f.upper, dtype=np.float32)
        self.range_sum = (self.upper - self.lower).sum(1, dtype=np.float64).astype(np.float32)
        mass = np.asarray(f.mass, dtype=np.float64)
        self.seen_num = 1.0 - mass / (2.0 * self.M)
        self.log_mass = np.log2(mass + 1.0)
        self.scale = np.log2(self.M + 1.0) / self.T
        self.ones = np.ones(self.d, dtype=np.float32)
        # one gather gives a node's left child and cut dimension: (left << 16) | cut_dim, -1 at leaves
        self.step = np.where(self.left >= 0, (self.left << _SHIFT) | self.cut_dim, -1)
        self.depth = np.asarray(f.depth, dtype=np.int64)
        self.parent = np.full(len(self.left), -1, dtype=np.int64)
        inner = np.nonzero(self.left >= 0)[0]
        self.parent[self.left[inner]] = inner
        self.parent[self.left[inner] + 1] = inner
        self.threads = threads or int(os.environ.get("RCF_SCORING_THREADS", 0) or 0) or os.cpu_count() or 1
        self._pool = None
        self._lock = threading.Lock()

    def scores(self, X):
        """Anomaly scores (float64) of the rows of X."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        per = max(1, CHUNK_PAIRS // self.T)
        chunks = [X[i:i + per] for i in range(0, len(X), per)]
        if len(chunks) <= 1 or self.threads <= 1:
            parts = [self._chunk(c) for c in chunks]
        else:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="rcf-score")
            parts = list(self._pool.map(self._chunk, chunks))  # numpy releases the GIL
        return np.concatenate(parts) if parts else np.zeros(0)

    # 2-D rows: np.take(axis=0) copies a row at a time, several times faster than fancy indexing;
    # 1-D: fancy indexing has a fast path np.take lacks (3x)
    def _distance(self, X, nodes, pts):
        """L1 distance of each point to its node's box: sum of max(lower - x, x - upper, 0)."""
        gap = np.take(self.lower, nodes, axis=0)
        xp = np.take(X, pts, axis=0)
        gap -= xp
        xp -= np.take(self.upper, nodes, axis=0)
        np.maximum(gap, xp, out=gap)
        np.maximum(gap, np.float32(0), out=gap)
        return gap @ self.ones  # BLAS: numpy's sum over a short last axis is several times slower

    def _chunk(self, X):
        P, T, d = len(X), self.T, self.d
        flat = X.reshape(-1)
        # down, with the cuts only; tree-major pairs, so consecutive pairs read the same tree's nodes
        node = np.repeat(self.roots, P)
        row = np.tile(np.arange(P, dtype=np.int64) * d, T)  # the pair's point's offset in X
        leaves, rows = [], []
        mask = (1 << _SHIFT) - 1
        while True:
            step = self.step[node]
            leaf = step < 0
            if leaf.any():
                at = np.nonzero(leaf)[0]
                leaves.append(node[at])
                rows.append(row[at])
                keep = np.nonzero(~leaf)[0]
                if not len(keep):
                    break
                node, step, row = node[keep], step[keep], row[keep]
            right = flat[row + (step & mask)] > self.cut_value[node]
            node = (step >> _SHIFT) + right
        node = np.concatenate(leaves)
        pt = np.concatenate(rows) // d
        # the leaves: seen (the point equals the leaf's) or unseen
        dist = self._distance(X, node, pt)
        depth = self.depth[node]
        fd = depth.astype(np.float64)
        score = np.where(dist == 0, self.seen_num[node] / (fd + self.log_mass[node]),
                         1.0 / (fd + 1))
        # up, until the point is inside a node's box (then inside all its ancestors' too), or the root
        act = np.nonzero((dist > 0) & (depth > 0))[0]
        s, nodes, pts, dep = score[act], node[act], pt[act], fd[act]
        while len(act):
            nodes = self.parent[nodes]
            dep -= 1
            dd = self._distance(X, nodes, pts)
            p = dd / (self.range_sum[nodes] + dd)
            s = p / (dep + 1) + (1 - p) * s
            done = (dd == 0) | (dep == 0)
            if done.any():
                at = np.nonzero(done)[0]
                score[act[at]] = s[at]
                keep = np.nonzero(~done)[0]
                act, s, nodes, pts, dep = act[keep], s[keep], nodes[keep], pts[keep], dep[keep]
        return np.bincount(pt, score, minlength=P) * self.scale
