"""The model code against direct computation: the pairwise sum written out, finite differences, and
an update that touches only the rows of the features in the batch."""
import mxnet as mx
import numpy as np

import fmdata
from containers.factorization_machines import adagrad, fm, rows
from formats.batch import Csr

nd = mx.nd


def _setup(d=40, k=3, n=6, nnz=5, seed=0):
    rng = np.random.default_rng(seed)
    X = fmdata.sparse_rows(n, d, nnz, rng)
    w0, w, V = 0.2, rng.normal(0, 1, d), rng.normal(0, 1, (d, k))
    params = fm.Params(nd.array([w0]), nd.array(w.reshape(-1, 1)), nd.array(V))
    csr = Csr(X.data.astype(np.float32), X.indices.astype(np.int64), X.indptr.astype(np.int64), X.shape)
    return X, (w0, w, V), params, rows.localize(csr, d, mx.cpu())


def _pairwise(X, w0, w, V):
    """y = w0 + sum_i w_i x_i + sum_{i<j} <v_i, v_j> x_i x_j, summed pair by pair."""
    out = []
    for r in range(X.shape[0]):
        idx, val = X[r].indices, X[r].data
        y = w0 + float(np.dot(w[idx], val))
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                y += float(np.dot(V[idx[a]], V[idx[b]])) * val[a] * val[b]
        out.append(y)
    return np.array(out)


def test_fm_forward_is_the_pairwise_sum():
    X, (w0, w, V), params, r = _setup()
    raw, _ = fm.forward(params, r)
    np.testing.assert_allclose(raw.asnumpy().ravel(), _pairwise(X, w0, w, V), rtol=1e-5, atol=1e-5)


def test_fm_gradients_match_finite_differences():
    X, (w0, w, V), params, r = _setup()
    a = np.random.default_rng(1).normal(size=X.shape[0])  # L = sum_n a_n y_n, so dL/dy = a
    wb, vb = fm.gather(params, r)
    _, xv = fm.forward(params, r, wb, vb)
    g0, g1, gv = fm.gradients(r, wb, vb, xv, nd.array(a.reshape(-1, 1)))
    eps = 1e-4
    for j, feat in enumerate(r.uniq[:6]):
        for f in range(V.shape[1]):
            Vp, Vm = V.copy(), V.copy()
            Vp[feat, f] += eps
            Vm[feat, f] -= eps
            num = (a @ _pairwise(X, w0, w, Vp) - a @ _pairwise(X, w0, w, Vm)) / (2 * eps)
            assert abs(gv.asnumpy()[j, f] - num) < 1e-3 * max(1, abs(num))
        wp, wm = w.copy(), w.copy()
        wp[feat] += eps
        wm[feat] -= eps
        num = (a @ _pairwise(X, w0, wp, V) - a @ _pairwise(X, w0, wm, V)) / (2 * eps)
        assert abs(g1.asnumpy()[j, 0] - num) < 1e-3 * max(1, abs(num))
    assert abs(g0.asscalar() - a.sum()) < 1e-4


def test_fm_step_touches_only_the_batch_rows():
    X, _, params, r = _setup(d=1000, n=4, nnz=3)
    before_v, before_w = params.v.asnumpy().copy(), params.w1.asnumpy().copy()
    hp = {"bias_lr": 0.1, "linear_lr": 0.1, "factors_lr": 0.1, "bias_wd": 0.01, "linear_wd": 0.01,
          "factors_wd": 0.01, "eps": None, "clip_gradient": None, "rescale_grad": None}
    opt = adagrad.LazyAdaGrad(params, hp)
    wb, vb = fm.gather(params, r)
    _, xv = fm.forward(params, r, wb, vb)
    g0, g1, gv = fm.gradients(r, wb, vb, xv, nd.ones((4, 1)), *opt.decay(4))
    opt.step(r.ids, nd.array(r.uniq, dtype="int64"), g0, g1, gv, vb, 4)
    changed_v = np.flatnonzero((params.v.asnumpy() != before_v).any(axis=1))
    changed_w = np.flatnonzero(params.w1.asnumpy()[:, 0] != before_w[:, 0])
    assert changed_v.tolist() == sorted(set(X.indices.tolist()))
    assert changed_w.tolist() == sorted(set(X.indices.tolist()))
