"""AdaGrad with lazy (row-sparse) updates and a learning rate and weight decay per term.

Only the rows a step saw are read or written. Weight decay is an L2 term on the rows seen (as lazy
updates do), added to their summed gradient by the caller (`decay()`). With g = clip(rescale * grad):
- w0 and w1: AdaGrad per weight, h += g^2, w -= lr * g / sqrt(h + eps) (w1 through MXNet's fused
  sparse.adagrad_update on its row_sparse gradient);
- v: AdaGrad per row, as embedding trainers do: h_i += mean_f g_if^2, v_i -= lr * g_i / sqrt(h_i + eps).
  One accumulator per feature keeps the optimizer's memory at feature_dim floats, not
  feature_dim x num_factors, and each step reads and writes v's rows once.
"""
import mxnet as mx

nd = mx.nd


class LazyAdaGrad:
    def __init__(self, params, hp):
        self.eps = 1e-7 if hp.get("eps") is None else float(hp["eps"])
        self.clip = -1.0 if hp.get("clip_gradient") is None else float(hp["clip_gradient"])
        self.rescale = hp.get("rescale_grad")
        self.params = params
        self.lr = {"w0": float(hp["bias_lr"]), "w1": float(hp["linear_lr"]), "v": float(hp["factors_lr"])}
        self.wd = {"w0": float(hp["bias_wd"]), "w1": float(hp["linear_wd"]), "v": float(hp["factors_wd"])}
        ctx = params.v.context
        self.h0 = nd.zeros((1,), ctx=ctx)
        self.h1 = nd.zeros(params.w1.shape, ctx=ctx)
        self.hv = nd.zeros((params.feature_dim, 1), ctx=ctx)
        self.mean_of_row = nd.ones((params.num_factors, 1), ctx=ctx) / params.num_factors

    def _scale(self, records):
        # the summed gradient becomes a mean unless rescale_grad says otherwise
        return float(self.rescale) if self.rescale is not None else 1.0 / max(records, 1)

    def decay(self, records):
        """What to add to the summed gradients, per unit of weight: (w1's, v's)."""
        scale = self._scale(records)
        return self.wd["w1"] / scale, self.wd["v"] / scale

    def step(self, ids, row_ids, g0, g1, gv, vb, records):
        """Apply summed gradients (decay included) g0 (1,), g1 (m, 1), gv (m, k) to the rows `ids`
        (take-able index NDArray) = `row_ids` (sorted int64 NDArray), whose current v rows are vb.
        gv and vb are overwritten."""
        scale = self._scale(records)
        p = self.params
        g = nd.sparse.row_sparse_array((g1, row_ids), shape=p.w1.shape, ctx=p.w1.context)
        nd.sparse.adagrad_update(p.w1, g, self.h1, out=p.w1, lr=self.lr["w1"], epsilon=self.eps,
                                 rescale_grad=scale, clip_gradient=self.clip)
        self._factors(ids, row_ids, gv, vb, scale)
        g = g0 * scale + self.wd["w0"] * p.w0
        if self.clip > 0:
            g = nd.clip(g, -self.clip, self.clip)
        self.h0 += nd.square(g)
        p.w0 -= self.lr["w0"] * g / nd.sqrt(self.h0 + self.eps)

    def _factors(self, ids, row_ids, gv, vb, scale):
        if self.clip > 0:
            gv, scale = nd.clip(gv * scale, -self.clip, self.clip), 1.0
        # mean square per row as a matrix-vector product: MXNet's row reductions are slower
        h = nd.take(self.hv, ids) + (scale * scale) * nd.dot(nd.square(gv), self.mean_of_row)
        _scatter(self.hv, row_ids, h)
        step = (self.lr["v"] * scale) / nd.sqrt(h + self.eps)
        # in place (gv and vb are this step's own buffers): no (m, k) allocations
        nd.elemwise_sub(vb, nd.broadcast_mul(gv, step, out=gv), out=vb)
        _scatter(self.params.v, row_ids, vb)


def _scatter(dst, row_ids, rows):
    nd._internal._scatter_set_nd(lhs=dst, rhs=rows, indices=row_ids.reshape((1, -1)), shape=dst.shape, out=dst)
