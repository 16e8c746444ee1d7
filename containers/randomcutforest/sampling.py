"""Reservoir sampling without replacement in one pass, and the merge of several hosts' reservoirs.

Algorithm R, a batch at a time: the record with 1-based stream index t replaces slot j ~ U{0..t-1}
when j < K. Records of one batch that pick the same slot are applied in stream order (the later one
wins), so the result is exactly the sequential algorithm's: a uniform K-subset of the stream.
"""
import numpy as np


class Reservoir:
    def __init__(self, capacity, dim, rng):
        self.K = int(capacity)
        self.rng = rng
        self.rows = np.empty((self.K, dim), dtype=np.float32)
        self.seen = 0

    @property
    def size(self):
        return min(self.seen, self.K)

    def add(self, X):
        n = len(X)
        fill = min(max(self.K - self.seen, 0), n)
        if fill:
            self.rows[self.seen:self.seen + fill] = X[:fill]
        rest = n - fill
        if rest > 0:
            index = np.arange(self.seen + fill + 1, self.seen + n + 1, dtype=np.float64)
            slot = (self.rng.random(rest) * index).astype(np.int64)
            take = np.nonzero(slot < self.K)[0]
            if len(take):
                slot = slot[take]
                # the last record picking a slot is the one that stays there
                last = len(slot) - 1 - np.unique(slot[::-1], return_index=True)[1]
                self.rows[slot[last]] = X[fill + take[last]]
        self.seen += n

    def sample(self):
        return self.rows[:self.size]


def merge_counts(seen, capacity, rng):
    """How many of a uniform `capacity`-subset of the union of the hosts' streams come from each
    host (a multivariate hypergeometric draw); each host then gives that many of its reservoir."""
    seen = np.asarray(seen, dtype=np.int64)
    k = min(int(capacity), int(seen.sum()))
    if k == 0:
        return np.zeros(len(seen), dtype=np.int64)
    return rng.multivariate_hypergeometric(seen, k)


def per_tree(total, num_trees, samples_per_tree):
    """Points per tree: the service's rule (4032 records, 50 trees -> 80 per tree, 4000 used)."""
    return min(int(samples_per_tree), int(total) // int(num_trees))
