"""Each loss's gradient agrees with finite differences of its value (the gradients are hand-written)."""
import mxnet as mx
import numpy as np
import pytest

from containers.linear_learner import losses

PARAMS = {"margin": 1.0, "quantile": 0.3, "loss_insensitivity": 0.1, "huber_delta": 0.5}


@pytest.mark.parametrize("loss", ["logistic", "hinge_loss", "squared_loss", "absolute_loss",
                                  "eps_insensitive_squared_loss", "eps_insensitive_absolute_loss",
                                  "quantile_loss", "huber_loss", "softmax_loss"])
def test_gradient_matches_finite_differences(loss):
    rng = np.random.RandomState(0)
    if loss == "softmax_loss":
        s = rng.normal(size=(6, 2, 4))
        y = rng.randint(0, 4, size=(6, 1)).astype(np.float64)
    elif loss in ("logistic", "hinge_loss"):
        s = rng.normal(size=(6, 3)) * 2
        y = rng.randint(0, 2, size=(6, 1)).astype(np.float64)
    else:
        s = rng.normal(size=(6, 3)) * 2
        y = rng.normal(size=(6, 1)) * 2
    val, grad = losses.value_and_grad(loss, mx.nd.array(s, dtype="float64"), mx.nd.array(y, dtype="float64"),
                                      PARAMS)
    grad = grad.asnumpy()
    assert val.shape == s.shape[:2] and grad.shape == s.shape
    assert np.all(val.asnumpy() >= -1e-9)
    eps = 1e-6
    for idx in np.ndindex(*s.shape):
        sp, sm = s.copy(), s.copy()
        sp[idx] += eps
        sm[idx] -= eps
        vp = losses.value_and_grad(loss, mx.nd.array(sp, dtype="float64"), mx.nd.array(y, dtype="float64"),
                                   PARAMS)[0].asnumpy().sum()
        vm = losses.value_and_grad(loss, mx.nd.array(sm, dtype="float64"), mx.nd.array(y, dtype="float64"),
                                   PARAMS)[0].asnumpy().sum()
        assert abs((vp - vm) / (2 * eps) - grad[idx]) < 1e-4, (loss, idx)
