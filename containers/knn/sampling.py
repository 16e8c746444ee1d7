"""A uniform reservoir sample of a stream of batches (Vitter's algorithm R, a batch at a time), and
the gathering of every host's sample on the master through the kvstore."""
import numpy as np


class Reservoir:
    """Keeps `size` rows chosen uniformly from all rows offered, with their labels.

    Until the reservoir is full, batches are only kept (no copy into a preallocated array, so a
    sample_size far above the data costs nothing). After that, row t (0-based, counted over the whole
    stream) replaces a uniformly chosen slot with probability size/(t+1), as algorithm R does."""

    def __init__(self, size, seed=0):
        self.size = int(size)
        self.rng = np.random.default_rng(seed)
        self.seen = 0
        self._parts, self._filled = [], 0
        self.features = self.labels = None

    def _settle(self):
        if self.features is None:
            feats = [f for f, _ in self._parts]
            labs = [lab for _, lab in self._parts]
            self.features = np.concatenate(feats) if feats else None  # a copy: writable, owned
            self.labels = np.concatenate(labs) if labs else None
            self._parts = []

    def offer(self, features, labels):
        n = len(features)
        if self.features is None and self._filled < self.size:
            take = min(n, self.size - self._filled)
            # the reader hands over fresh arrays: kept as they are, copied once when the sample settles
            self._parts.append((np.asarray(features[:take], dtype=np.float32),
                                np.asarray(labels[:take], dtype=np.float32)))
            self._filled += take
            self.seen += take
            if take == n:
                return
            features, labels, n = features[take:], labels[take:], n - take
        self._settle()
        t = self.seen + np.arange(n, dtype=np.float64)
        slot = np.floor(self.rng.random(n) * (t + 1)).astype(np.int64)
        keep = np.flatnonzero(slot < self.size)
        if len(keep):
            slots = slot[keep]
            # a slot drawn twice in one batch ends with the later row, as the sequential algorithm does
            last = len(slots) - 1 - np.unique(slots[::-1], return_index=True)[1]
            self.features[slots[last]] = features[keep[last]]
            self.labels[slots[last]] = labels[keep[last]]
        self.seen += n

    def sample(self):
        """(features, labels) of the sample, or (None, None) when nothing was offered."""
        self._settle()
        return self.features, self.labels


def per_host_sizes(sample_size, hosts):
    """sample_size split over the hosts (the first sample_size % hosts take one more)."""
    base, extra = divmod(int(sample_size), hosts)
    return [base + (1 if r < extra else 0) for r in range(hosts)]


def gather(kv, rank, hosts, features, labels, seen, dim):
    """Every host's (features, labels) and the rows each host read, on every host, through a
    dist_sync kvstore: each host writes its rows into its own slot of a zero array and the pushes sum.
    """
    import mxnet as mx
    n = 0 if features is None else len(features)
    # float64 counts: records read may pass float32's 2^24
    counts = np.zeros((2, hosts), dtype=np.float64)
    counts[0, rank], counts[1, rank] = n, seen
    kv.init("knn_counts", mx.nd.zeros(counts.shape, dtype="float64"))
    kv.push("knn_counts", mx.nd.array(counts, dtype="float64"))
    out = mx.nd.zeros(counts.shape, dtype="float64")
    kv.pull("knn_counts", out=out)
    totals = out.asnumpy().astype(np.int64)
    rows, read = totals[0], totals[1]
    offsets = np.concatenate([[0], np.cumsum(rows)])
    total = int(offsets[-1])
    if total == 0:
        return None, None, rows, read
    mine = np.zeros((total, dim + 1), dtype=np.float32)
    if n:
        mine[offsets[rank]:offsets[rank] + n, :dim] = features
        mine[offsets[rank]:offsets[rank] + n, dim] = labels
    kv.init("knn_sample", mx.nd.zeros(mine.shape))
    kv.push("knn_sample", mx.nd.array(mine))
    got = mx.nd.zeros(mine.shape)
    kv.pull("knn_sample", out=got)
    allrows = got.asnumpy()
    return np.ascontiguousarray(allrows[:, :dim]), np.ascontiguousarray(allrows[:, dim]), rows, read
