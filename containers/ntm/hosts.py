"""Several hosts: replicas kept equal through the job's kvstore, and small vectors summed across hosts.

Gluon's Trainer, handed a dist kvstore, broadcasts the parameters lazily inside its first step():
the pull of a parameter and the push of that key's first gradient are not ordered against each
other, so a slow host could be answered with the summed gradient in place of the parameter (seen as
one replica in a few dozen ending far from the other). Here the Trainer updates locally and these
keys are ours: parameters are broadcast from the first host, and waited for, before any gradient
is pushed; gradients are then summed under keys that never hold a parameter. Every host makes the
same calls in the same order.
"""
import mxnet as mx
import numpy as np

# MXNet places a key on a server by (key * 9973) % servers in 32-bit ints: keys stay below 2**31 / 9973
_GRAD_KEY = 0           # + parameter index: per-step gradient sums
_PARAM_KEY = 50_000     # + parameter index: the first host's initial values
_FIRST_KEY = 100_000    # + i: small float64 vectors, one key per length


class HostSums:
    def __init__(self, kv):
        self.kv = kv
        self.keys = {}
        self.params = []

    def sum(self, values):
        values = np.asarray(values, np.float64)
        if self.kv is None:
            return values
        key = self.keys.get(len(values))
        if key is None:
            key = self.keys[len(values)] = _FIRST_KEY + len(self.keys)
            self.kv.init(key, mx.nd.zeros(len(values), dtype="float64"))
        out = mx.nd.zeros(len(values), dtype="float64")
        self.kv.pushpull(key, mx.nd.array(values, dtype="float64"), out=out)
        return out.asnumpy()

    def share(self, params):
        """Every host's replica takes the first host's values; gradient keys start at zero."""
        if self.kv is None:
            return
        self.params = [p for p in params.values() if p.grad_req != "null"]
        for i, p in enumerate(params.values()):
            data = p.list_data()
            self.kv.init(_PARAM_KEY + i, data[0])  # the first host's value is the one stored
            self.kv.pull(_PARAM_KEY + i, out=data)
        mx.nd.waitall()
        for i, p in enumerate(self.params):
            self.kv.init(_GRAD_KEY + i, mx.nd.zeros(p.shape, dtype=p.dtype))

    def sum_gradients(self):
        """Each parameter's gradient, summed over hosts and devices, written back on every device."""
        for i, p in enumerate(self.params):
            grads = p.list_grad()
            self.kv.pushpull(_GRAD_KEY + i, grads, out=grads, priority=-i)
