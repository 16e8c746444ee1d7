from dataclasses import dataclass
from typing import Optional, Tuple, Union

import numpy as np


class FormatError(ValueError):
    """Input that does not parse; the message says where (record or line) and why."""


@dataclass
class Csr:
    """A sparse float32 matrix in compressed sparse row form (no scipy in the images)."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: Tuple[int, int]

    def __len__(self):
        return self.shape[0]

    def toarray(self) -> np.ndarray:
        out = np.zeros(self.shape, dtype=np.float32)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        out[rows, self.indices] = self.data
        return out

    def row_slice(self, start, stop):
        lo, hi = self.indptr[start], self.indptr[stop]
        return Csr(self.data[lo:hi], self.indices[lo:hi], self.indptr[start:stop + 1] - lo,
                   (stop - start, self.shape[1]))


Features = Union[np.ndarray, Csr]


@dataclass
class Batch:
    features: Features
    labels: Optional[np.ndarray] = None
    weights: Optional[np.ndarray] = None
    qids: Optional[np.ndarray] = None  # ranking groups (libsvm `qid:n`)

    def __len__(self):
        return self.features.shape[0]

    def dense(self) -> np.ndarray:
        f = self.features
        return f.toarray() if isinstance(f, Csr) else f

    def slice(self, start, stop):
        f = self.features
        f = f.row_slice(start, stop) if isinstance(f, Csr) else f[start:stop]
        lab = None if self.labels is None else self.labels[start:stop]
        w = None if self.weights is None else self.weights[start:stop]
        q = None if self.qids is None else self.qids[start:stop]
        return Batch(f, lab, w, q)


def concat(batches):
    """Join batches row-wise (all dense or all sparse)."""
    batches = [b for b in batches if len(b)]
    if not batches:
        return None
    if len(batches) == 1:
        return batches[0]
    first = batches[0].features
    if isinstance(first, Csr):
        width = max(b.features.shape[1] for b in batches)
        offs = np.cumsum([0] + [len(b.features.data) for b in batches[:-1]])
        indptr = np.concatenate([batches[0].features.indptr[:1]] +
                                [b.features.indptr[1:] + o for b, o in zip(batches, offs)])
        feats = Csr(np.concatenate([b.features.data for b in batches]),
                    np.concatenate([b.features.indices for b in batches]),
                    indptr, (int(sum(len(b) for b in batches)), width))
    else:
        feats = np.concatenate([b.features for b in batches])
    labels = None if batches[0].labels is None else np.concatenate([b.labels for b in batches])
    weights = None
    if any(b.weights is not None for b in batches):  # parsers leave out weights that are all 1
        weights = np.concatenate([np.ones(len(b), np.float32) if b.weights is None else b.weights
                                  for b in batches])
    qids = None if any(b.qids is None for b in batches) else np.concatenate([b.qids for b in batches])
    return Batch(feats, labels, weights, qids)
