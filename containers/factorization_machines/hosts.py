"""Several hosts: each step's row-sparse gradients summed across hosts through the kvstore.

The kvstore sums what hosts push, so each host writes its rows into its own slot of a
(hosts x capacity) buffer and the sum holds every host's rows side by side: an all-gather whose
size follows the step's non-zeros, never feature_dim. Every host then applies the same update to
its own replica (same start, same sums), and the replicas stay equal. A first, small round tells
each host's row and record counts; a host whose pass is over pushes zero records, and the step
loop ends when every host has.
"""
import mxnet as mx
import numpy as np

nd = mx.nd
_SPLIT = 1 << 20  # feature ids travel as two float32 halves, each exact
_FIRST_KEY = 7000


class Exchange:
    def __init__(self, kv, num_factors):
        self.kv, self.k = kv, num_factors
        self.hosts, self.rank = kv.num_workers, kv.rank
        self.keys = {}
        self.records = 0  # over every host, this epoch

    def _sum(self, arr):
        key = self.keys.get(arr.shape)
        if key is None:  # every host reaches a new shape at the same step (shapes come from sums)
            key = self.keys[arr.shape] = _FIRST_KEY + len(self.keys)
            self.kv.init(key, nd.zeros(arr.shape))
        self.kv.push(key, nd.array(arr))
        out = nd.zeros(arr.shape)
        self.kv.pull(key, out=out)
        return out.asnumpy()

    def combine(self, local):
        """local: (row ids int64 (m,), g0 float, g1 (m,), gv (m,k), records) or None when this host is
        done. Returns the summed (row ids, g0, g1, gv, records) over hosts, or None when all are done."""
        meta = np.zeros((self.hosts, 2), np.float32)
        if local is not None:
            ids, g0, g1, gv, n = local
            meta[self.rank] = [len(ids), n]
        sizes = self._sum(meta)
        records = float(sizes[:, 1].sum())
        if records == 0:
            return None
        self.records += records
        cap = 16
        while cap < sizes[:, 0].max():
            cap *= 2
        buf = np.zeros((self.hosts, cap + 1, self.k + 3), np.float32)  # last row: w0's gradient
        if local is not None:
            m = len(ids)
            slot = buf[self.rank]
            slot[:m, 0], slot[:m, 1] = ids // _SPLIT, ids % _SPLIT
            slot[:m, 2] = g1
            slot[:m, 3:] = gv
            slot[cap, 0] = g0
        got = self._sum(buf)
        g0_all = float(got[:, cap, 0].sum(dtype=np.float64))
        parts = [got[r, :int(sizes[r, 0])] for r in range(self.hosts)]
        rows = np.concatenate(parts)
        ids_all = rows[:, 0].astype(np.int64) * _SPLIT + rows[:, 1].astype(np.int64)
        uniq, inv = np.unique(ids_all, return_inverse=True)
        # duplicate rows (a feature seen on several hosts) summed, in host order: the same sums everywhere
        summed = np.zeros((len(uniq), self.k + 1), np.float32)
        np.add.at(summed, inv, rows[:, 2:])
        return uniq, g0_all, np.ascontiguousarray(summed[:, 0]), np.ascontiguousarray(summed[:, 1:]), records
