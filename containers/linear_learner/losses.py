"""Losses of the stacked models, value and gradient with respect to the scores, in MXNet NDArray.

Scores are (n, M) for one output per model, (n, M, K) for softmax. Labels y are (n, 1) (broadcast over
models). Values are per record and model; callers weight and average them.
"""
import mxnet as mx

nd = mx.nd

# the loss's name in the objective metric line, "<name>_objective"
OBJECTIVE_NAMES = {
    "logistic": "binary_classification_cross_entropy",
    "hinge_loss": "binary_classification_hinge_loss",
    "softmax_loss": "multiclass_cross_entropy",
    "squared_loss": "square_loss",
}


def objective_name(loss):
    return OBJECTIVE_NAMES.get(loss, loss)


def value_and_grad(loss, s, y, p, F=nd, classes=None):
    """(loss (n, M), dloss/ds like s). p: the loss parameters (margin, quantile, ...).

    F is mx.nd or mx.sym: the training step builds one symbolic graph from the same code.
    """
    nd = F  # noqa: F811 -- the same expressions serve both APIs
    if loss == "logistic":
        # log(1 + exp(s)) - y s. Activation (not the elementwise sigmoid/log1p) has a vectorised
        # MKLDNN kernel, several times faster on CPU.
        val = nd.Activation(s, act_type="softrelu") - nd.broadcast_mul(s, y)
        return val, nd.broadcast_sub(nd.Activation(s, act_type="sigmoid"), y)
    if loss == "hinge_loss":
        sign = 2 * y - 1
        m = p["margin"] - nd.broadcast_mul(s, sign)
        return nd.relu(m), -nd.broadcast_mul(m > 0, sign)
    if loss == "softmax_loss":
        logp = nd.log_softmax(s, axis=2)
        k = classes if classes is not None else s.shape[2]
        onehot = nd.one_hot(nd.reshape(y, shape=(-1,)), k).expand_dims(1)
        if F is mx.nd:
            onehot = onehot.astype(s.dtype)
        val = -nd.sum(nd.broadcast_mul(logp, onehot), axis=2)
        return val, nd.broadcast_sub(nd.exp(logp), onehot)
    r = nd.broadcast_sub(s, y)
    if loss == "squared_loss":
        return r * r, 2 * r
    if loss == "absolute_loss":
        return nd.abs(r), nd.sign(r)
    if loss == "eps_insensitive_squared_loss":
        e = nd.relu(nd.abs(r) - p["loss_insensitivity"])
        return e * e, 2 * e * nd.sign(r)
    if loss == "eps_insensitive_absolute_loss":
        e = nd.relu(nd.abs(r) - p["loss_insensitivity"])
        return e, (e > 0) * nd.sign(r)
    if loss == "quantile_loss":
        q = p["quantile"]
        # r = s - y: under-prediction (r < 0) costs q per unit, over-prediction 1 - q
        return nd.maximum(-q * r, (1 - q) * r), nd.where(r > 0, nd.ones_like(r) * (1 - q), nd.ones_like(r) * -q)
    if loss == "huber_loss":
        d = p["huber_delta"]
        a = nd.abs(r)
        val = nd.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))
        return val, nd.clip(r, -d, d)
    raise ValueError("unknown loss %s" % loss)
