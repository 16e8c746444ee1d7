"""Channel batches as checked (features, labels) arrays, and fixed-size samples of them."""
import itertools

import numpy as np

from formats.batch import Batch, concat
from training.errors import ClientError


def checked(batches, channel, opts, dim):
    """Yield Batches whose labels are present and valid for the predictor type."""
    seen = 0
    for b in batches:
        if b.labels is None:
            raise ClientError("channel %s: records near record %d have no label" % (channel, seen + 1))
        y = b.labels
        if opts.predictor_type == "binary_classifier":
            bad = np.flatnonzero((y != 0) & (y != 1))
            if len(bad):
                raise ClientError("channel %s: record %d: label %r is not valid for binary_classifier "
                                  "(labels must be 0 or 1)" % (channel, seen + bad[0] + 1, float(y[bad[0]])))
        elif opts.predictor_type == "multiclass_classifier":
            bad = np.flatnonzero((y < 0) | (y >= opts.outputs) | (y != np.floor(y)))
            if len(bad):
                raise ClientError("channel %s: record %d: label %r is not valid for multiclass_classifier "
                                  "(labels must be integers 0 .. num_classes-1 = %d)"
                                  % (channel, seen + bad[0] + 1, float(y[bad[0]]), opts.outputs - 1))
        elif not np.all(np.isfinite(y)):
            bad = np.flatnonzero(~np.isfinite(y))
            raise ClientError("channel %s: record %d: label is not a finite number" % (channel, seen + bad[0] + 1))
        seen += len(b)
        yield b


def take(iterator, n):
    """(first batches holding >= n records, the iterator they came from, re-joined)."""
    head, count = [], 0
    for b in iterator:
        head.append(b)
        count += len(b)
        if count >= n:
            break
    return head, itertools.chain(head, iterator)


class Sample:
    """Keeps the first `limit` records that pass through it."""

    def __init__(self, limit):
        self.limit = limit
        self.parts = []
        self.count = 0

    def offer(self, b):
        if self.count < self.limit:
            part = b if self.count + len(b) <= self.limit else b.slice(0, self.limit - self.count)
            self.parts.append(Batch(part.dense(), part.labels))
            self.count += len(part)

    def arrays(self):
        if not self.parts:
            return None, None
        b = concat(self.parts)
        return b.features, b.labels
