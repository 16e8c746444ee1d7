"""The second-order model and its gradients on a batch's rows, in O(k * nnz) per record.

    y = w0 + sum_i w_i x_i + 1/2 * sum_f [ (sum_i v_if x_i)^2 - sum_i v_if^2 x_i^2 ]

(Rendle's identity for sum_{i<j} <v_i, v_j> x_i x_j.)
"""
import mxnet as mx

nd = mx.nd


class Params:
    """w0 (1,), w1 (feature_dim, 1), v (feature_dim, num_factors) as NDArrays."""

    def __init__(self, w0, w1, v):
        self.w0, self.w1, self.v = w0, w1, v

    @property
    def feature_dim(self):
        return self.v.shape[0]

    @property
    def num_factors(self):
        return self.v.shape[1]


def gather(params, rows):
    """The parameter rows a batch uses: (w1 rows (m, 1), v rows (m, k))."""
    return nd.take(params.w1, rows.ids), nd.take(params.v, rows.ids)


def forward(params, rows, wb=None, vb=None):
    """Raw scores (n, 1) and the per-record factor sums x.V (n, k) the gradient needs."""
    if wb is None:
        wb, vb = gather(params, rows)
    ones = nd.ones((vb.shape[1], 1), ctx=vb.context)
    xv = nd.sparse.dot(rows.x, vb)
    # sums over the factors as matrix-vector products: MXNet's row reductions are slower
    self_terms = nd.sparse.dot(rows.x2, nd.dot(nd.square(vb), ones))
    pairs = 0.5 * (nd.dot(nd.square(xv), ones) - self_terms)
    linear = nd.broadcast_add(nd.sparse.dot(rows.x, wb), params.w0.reshape((1, 1)))
    return linear + pairs, xv


def gradients(rows, wb, vb, xv, dy, decay_w=0.0, decay_v=0.0):
    """Summed gradients over the batch for dL/dy = dy (n, 1): (w0 (1,), w1 rows (m, 1), v rows (m, k)),
    plus decay * the rows themselves (an L2 term on the rows seen; folded in here to save passes).

    dy/dv_if = x_i (xv_f - v_if x_i), so grad v_i = X^T (dy * xv) - v_i * ((X^2)^T dy - decay).
    """
    m = vb.shape[0]
    g0 = nd.sum(dy).reshape((1,))
    g1 = _rows_of(nd.sparse.dot(rows.x, dy, transpose_a=True), m)
    if decay_w:
        g1 = g1 + decay_w * wb
    gv = _rows_of(nd.sparse.dot(rows.x, nd.broadcast_mul(dy, xv), transpose_a=True), m)
    own = _rows_of(nd.sparse.dot(rows.x2, dy, transpose_a=True), m)
    if decay_v:
        own = own - decay_v
    nd.elemwise_sub(gv, nd.broadcast_mul(vb, own), out=gv)  # in place: one (m, k) buffer fewer
    return g0, g1, gv


def _rows_of(rsp, m):
    """Dense (m, c) from X^T.dense's row_sparse result (every local column is used: all m rows)."""
    if rsp.indices.shape[0] == m:
        return rsp.data
    return rsp.tostype("default")
