"""Batches of word counts (dense rows or formats.Csr) as MXNet CSR arrays, checked and split."""
import mxnet as mx
import numpy as np

from contract.errors import ClientError
from formats import Csr


def to_csr(features, vocab, channel=None, first=0):
    """(data float32, indices int64, indptr int64) of a batch; counts must be finite and >= 0 and
    words inside the vocabulary. Errors name the channel (training) and the record (first = the
    batch's first record number)."""
    where = "channel %s, " % channel if channel else ""
    if isinstance(features, Csr):
        if len(features.indices) and int(features.indices.max()) >= vocab:
            top = int(features.indices.max())
            pos = int(np.argmax(features.indices == top))
            row = first + int(np.searchsorted(features.indptr, pos, side="right")) - 1
            raise ClientError("%srecord %d: word index %d is outside the vocabulary (feature_dim %d)"
                              % (where, row, top, vocab))
        if features.shape[1] > vocab:
            raise ClientError("%srecords of dimension %d; feature_dim (the vocabulary) is %d"
                              % (where, features.shape[1], vocab))
        data = np.asarray(features.data, np.float32)
        indices = np.asarray(features.indices, np.int64)
        indptr = np.asarray(features.indptr, np.int64) - int(features.indptr[0])
    else:
        f = np.asarray(features, np.float32)
        if f.ndim != 2 or f.shape[1] != vocab:
            raise ClientError("%srecord %d: has %d values; feature_dim (the vocabulary) is %d"
                              % (where, first, f.shape[-1], vocab))
        rows, indices = np.nonzero(f)
        data = f[rows, indices]
        indptr = np.zeros(f.shape[0] + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=f.shape[0]), out=indptr[1:])
        indices = indices.astype(np.int64)
    if len(data) and not (np.isfinite(data).all() and data.min() >= 0):
        pos = int(np.argmax(~np.isfinite(data) | (data < 0)))
        row = int(np.searchsorted(indptr, pos, side="right")) - 1
        raise ClientError("%srecord %d: word %d has count %r; counts must be finite and >= 0"
                          % (where, first + row, int(indices[pos]), float(data[pos])))
    return data, indices, indptr


class Part:
    """A CSR batch on one context, the (row, word) positions of its non-zeros and a (rows x non-zeros)
    CSR of the counts that sums per-position values into per-document ones."""

    def __init__(self, data, indices, indptr, vocab, ctx):
        n, nnz = len(indptr) - 1, len(data)
        self.csr = mx.nd.sparse.csr_matrix((data, indices, indptr), shape=(n, vocab), ctx=ctx)
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
        self.positions = mx.nd.array(np.vstack([rows, indices]), ctx=ctx, dtype="int64")
        self.weights = mx.nd.sparse.csr_matrix((data, np.arange(nnz, dtype=np.int64), indptr), shape=(n, nnz), ctx=ctx)


class Docs:
    """One batch of documents ready for the network: per context, the CSR counts and row sums."""

    def __init__(self, features, vocab, contexts, channel=None, first=0):
        data, indices, indptr = to_csr(features, vocab, channel, first)
        self.n = len(indptr) - 1
        self.raw = (data, indices, indptr)
        self.words = float(data.sum(dtype=np.float64))
        self.parts = []
        cuts = np.linspace(0, self.n, min(len(contexts), self.n) + 1).astype(int)
        for ctx, lo, hi in zip(contexts, cuts[:-1], cuts[1:]):
            a, b = indptr[lo], indptr[hi]
            self.parts.append(Part(data[a:b], indices[a:b], indptr[lo:hi + 1] - a, vocab, ctx))


def empty(vocab, contexts):
    """One document per context whose one word has count 0 (so every term is 0): a host out of data
    still runs a step on every context, to stay in step with the other hosts."""
    n = len(contexts)
    return Docs(Csr(np.zeros(n, np.float32), np.zeros(n, np.int64), np.arange(n + 1, dtype=np.int64), (n, vocab)),
                vocab, contexts)
