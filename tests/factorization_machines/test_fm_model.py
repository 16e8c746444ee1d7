"""The compiled model code against direct computation: the pairwise sum written out, finite differences,
AdaGrad written out in numpy, and an update that touches only the rows of the features in the batch."""
import numpy as np
import pytest

import fmdata
from containers.factorization_machines import adagrad, fm
from containers.factorization_machines.step import Step, scores
from formats.batch import Batch, Csr

HP = {"bias_lr": 0.1, "linear_lr": 0.05, "factors_lr": 0.2, "bias_wd": 0.01, "linear_wd": 0.02,
      "factors_wd": 0.03, "eps": None, "clip_gradient": None, "rescale_grad": None}


def _setup(d=40, k=3, n=6, nnz=5, seed=0):
    rng = np.random.default_rng(seed)
    X = fmdata.sparse_rows(n, d, nnz, rng)
    w0, w, V = 0.2, rng.normal(0, 1, d), rng.normal(0, 1, (d, k))
    params = fm.Params([w0], w, V)
    csr = Csr(X.data.astype(np.float32), X.indices.astype(np.int64), X.indptr.astype(np.int64), X.shape)
    return X, (w0, w, V), params, csr


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


@pytest.mark.parametrize("parallel", [True, False])
def test_fm_forward_is_the_pairwise_sum(parallel):
    X, (w0, w, V), params, csr = _setup()
    np.testing.assert_allclose(scores(params, csr, parallel), _pairwise(X, w0, w, V), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores(params, X.toarray().astype(np.float32), parallel), _pairwise(X, w0, w, V),
                               rtol=1e-5, atol=1e-5)


def test_fm_gradients_match_finite_differences():
    """Regressor, labels 0: dL/dy = y, so the summed gradient is that of L = sum_n y_n^2 / 2."""
    X, (w0, w, V), params, csr = _setup()
    raw, (uniq, g0, g1, gv) = Step(params, classifier=False)(Batch(csr, np.zeros(X.shape[0], np.float32)))

    def loss(w0_, w_, V_):
        return 0.5 * (_pairwise(X, w0_, w_, V_) ** 2).sum()

    eps = 1e-4
    for j, feat in enumerate(uniq[:6]):
        for f in range(V.shape[1]):
            Vp, Vm = V.copy(), V.copy()
            Vp[feat, f] += eps
            Vm[feat, f] -= eps
            num = (loss(w0, w, Vp) - loss(w0, w, Vm)) / (2 * eps)
            assert abs(gv[j, f] - num) < 1e-3 * max(1, abs(num))
        wp, wm = w.copy(), w.copy()
        wp[feat] += eps
        wm[feat] -= eps
        num = (loss(w0, wp, V) - loss(w0, wm, V)) / (2 * eps)
        assert abs(g1[j] - num) < 1e-3 * max(1, abs(num))
    assert abs(g0 - raw.sum()) < 1e-3
    assert sorted(uniq.tolist()) == sorted(set(X.indices.tolist()))


def _adagrad_by_hand(X, y, w0, w, V, hp, classifier):
    """One step of adagrad.py's rule written out in numpy, float64."""
    raw = _pairwise(X, w0, w, V)
    dy = (1 / (1 + np.exp(-raw)) - y) if classifier else (raw - y)
    n = X.shape[0]
    scale, eps = 1.0 / n, 1e-7
    Xd = X.toarray()
    xv = Xd @ V
    rows = sorted(set(X.indices.tolist()))
    w, V = w.copy(), V.copy()
    for i in rows:
        g1 = (Xd[:, i] * dy).sum() + hp["linear_wd"] / scale * w[i]
        g1 *= scale
        w[i] -= hp["linear_lr"] * g1 / np.sqrt(g1 * g1 + eps)
        gv = (Xd[:, i] * dy) @ xv - V[i] * (Xd[:, i] ** 2 * dy).sum() + hp["factors_wd"] / scale * V[i]
        h = scale * scale * (gv ** 2).mean()
        V[i] -= hp["factors_lr"] * scale * gv / np.sqrt(h + eps)
    g0 = dy.sum() * scale + hp["bias_wd"] * w0
    w0 = w0 - hp["bias_lr"] * g0 / np.sqrt(g0 * g0 + eps)
    return w0, w, V


@pytest.mark.parametrize("classifier", [False, True])
def test_fm_step_is_adagrad_written_out(classifier):
    X, (w0, w, V), params, csr = _setup(d=30, k=4, n=8, nnz=6, seed=3)
    rng = np.random.default_rng(4)
    y = (rng.random(8) < 0.5).astype(np.float32) if classifier else rng.normal(size=8).astype(np.float32)
    Step(params, classifier)(Batch(csr, y), adagrad.LazyAdaGrad(params, HP))
    e0, ew, eV = _adagrad_by_hand(X, y, w0, w, V, HP, classifier)
    assert abs(params.w0[0] - e0) < 1e-5
    np.testing.assert_allclose(params.w1, ew, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(params.v, eV, rtol=1e-4, atol=1e-5)


def test_fm_step_on_summed_gradients_equals_the_fused_step():
    """Several hosts apply summed gradients (adagrad.step_rows); one host applies them as it makes them."""
    X, _, fused, csr = _setup(d=50, k=5, n=10, nnz=4, seed=5)
    _, _, split, _ = _setup(d=50, k=5, n=10, nnz=4, seed=5)
    y = np.random.default_rng(6).normal(size=10).astype(np.float32)
    Step(fused, False)(Batch(csr, y), adagrad.LazyAdaGrad(fused, HP))
    opt = adagrad.LazyAdaGrad(split, HP)
    _, (uniq, g0, g1, gv) = Step(split, False)(Batch(csr, y))
    opt.step_rows(uniq.copy(), g1.copy(), gv.copy(), 10)
    opt.step_w0(g0, 10)
    np.testing.assert_allclose(split.v, fused.v, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(split.w1, fused.w1, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(split.w0, fused.w0, rtol=1e-6)


def test_fm_step_touches_only_the_batch_rows():
    X, _, params, csr = _setup(d=1000, n=4, nnz=3)
    before_v, before_w = params.v.copy(), params.w1.copy()
    Step(params, False)(Batch(csr, np.ones(4, np.float32)), adagrad.LazyAdaGrad(params, HP))
    changed_v = np.flatnonzero((params.v != before_v).any(axis=1))
    changed_w = np.flatnonzero(params.w1 != before_w)
    assert changed_v.tolist() == sorted(set(X.indices.tolist()))
    assert changed_w.tolist() == sorted(set(X.indices.tolist()))


def test_fm_key_outside_feature_dim_is_a_client_error():
    from contract.errors import ClientError
    _, _, params, _ = _setup(d=10)
    bad = Csr(np.ones(2, np.float32), np.array([3, 10]), np.array([0, 2]), (1, 11))
    with pytest.raises(ClientError, match="sparse key 10 is outside feature_dim 10"):
        Step(params, False)(Batch(bad, np.zeros(1, np.float32)))
