"""Queries against a trained index: the same steps in the test-channel scoring and in serving.

query -> projection (if any) -> L2 normalisation (COSINE) -> zero padding (IVFPQ) -> FAISS search ->
the neighbours' labels -> majority vote (classifier) or mean (regressor).
"""
import numpy as np

import faiss


def prepare(x, projection, normalize, dim):
    """Rows as the index stores them: projected, L2-normalised for COSINE, zero-padded to dim."""
    if projection is not None:
        x = projection(x)
    x = np.array(x, dtype=np.float32, order="C", copy=normalize)
    if normalize:
        faiss.normalize_L2(x)
    if x.shape[1] < dim:
        x = np.hstack([x, np.zeros((x.shape[0], dim - x.shape[1]), np.float32)])
    return np.ascontiguousarray(x)


class Neighbours:
    def __init__(self, index, labels, k, predictor_type, projection=None, normalize=False):
        if len(labels) != index.ntotal:
            raise ValueError("%d labels for an index of %d vectors" % (len(labels), index.ntotal))
        if index.ntotal == 0:
            raise ValueError("the index is empty")
        if predictor_type not in ("classifier", "regressor"):
            raise ValueError("predictor_type must be classifier or regressor, not %r" % (predictor_type,))
        self.index = index
        self.labels = np.ascontiguousarray(labels, dtype=np.float32)
        self.k = max(1, min(int(k), index.ntotal))  # k above the sample size: every sampled point
        self.predictor_type = predictor_type
        self.projection = projection
        self.normalize = bool(normalize)
        self.input_dim = projection.input_dim if projection is not None else index.d
        self.classes, self.class_of = np.unique(self.labels, return_inverse=True)
        self._ivf = faiss.try_extract_index_ivf(index)  # None for a flat index

    def search(self, x):
        """(distances, ids) of the k nearest, in FAISS's order (nearest first); x (n, input_dim)."""
        q = prepare(x, self.projection, self.normalize, self.index.d)
        dist, ids = self.index.search(q, self.k)
        short = (ids < 0).any(axis=1)
        if short.any() and self._ivf is not None:
            # the probed lists held fewer than k points: those rows search every list
            saved = self._ivf.nprobe
            self._ivf.nprobe = self._ivf.nlist
            try:
                dist[short], ids[short] = self.index.search(np.ascontiguousarray(q[short]), self.k)
            finally:
                self._ivf.nprobe = saved
        return dist, ids

    def predict(self, x):
        """(predicted_label, neighbour labels, distances)."""
        dist, ids = self.search(x)
        nb = self.labels[ids]
        if self.predictor_type == "regressor":
            pred = nb.mean(axis=1, dtype=np.float64).astype(np.float32)
        else:
            pred = self.vote(ids)
        return pred, nb, dist

    def vote(self, ids):
        """Majority label per row; among tied labels the one whose first neighbour is nearest."""
        n, k = ids.shape
        cls = self.class_of[ids]
        C = len(self.classes)
        if n * C <= (1 << 24):
            counts = np.bincount((np.arange(n)[:, None] * C + cls).ravel(), minlength=n * C).reshape(n, C)
            at = np.take_along_axis(counts, cls, axis=1)
        else:
            key = (np.arange(n, dtype=np.int64)[:, None] * C + cls).ravel()
            _, inverse, cnt = np.unique(key, return_inverse=True, return_counts=True)
            at = cnt[inverse].reshape(n, k)
        # argmax takes the first position holding the highest count: the nearest of the tied labels
        best = np.argmax(at, axis=1)
        return self.classes[cls[np.arange(n), best]]
