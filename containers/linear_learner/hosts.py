"""Sums and averages across hosts through the dist_sync kvstore (identity on one host)."""
import mxnet as mx
import numpy as np


class HostSum:
    def __init__(self, kv):
        self.kv = kv
        self.key = 0

    @property
    def count(self):
        return 1 if self.kv is None else self.kv.num_workers

    def sum(self, arr):
        """Elementwise sum of arr over hosts; a fresh key per call keeps rounds from mixing."""
        if self.kv is None:
            return arr
        is_np = isinstance(arr, np.ndarray)
        a = mx.nd.array(arr) if is_np else arr.as_in_context(mx.cpu())
        self.key += 1
        self.kv.init(self.key, mx.nd.zeros(a.shape))
        self.kv.push(self.key, a)
        out = mx.nd.zeros(a.shape)
        self.kv.pull(self.key, out=out)
        return out.asnumpy().astype(arr.dtype) if is_np else out.as_in_context(arr.context)

    def mean(self, arr):
        return arr if self.kv is None else self.sum(arr) / self.count
