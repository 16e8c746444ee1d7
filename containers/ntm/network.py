"""The NVDM-style variational autoencoder (Miao et al. 2016), as the service's notebook describes it.

encoder  pi = MLP(x),  mu = l1(pi),  log sigma = l2(pi),  h = mu + sigma * eps,  z = softmax(h)
decoder  y = softmax(W z + b) over the vocabulary,  -log p(x|z) = -sum_w x_w log y_w
loss     reconstruction + KL(N(mu, sigma^2) || N(0, I))

Documents stay sparse end to end: the first encoder layer is a CSR x dense product whose gradient is
the transposed product (MXNet's own backward densifies the CSR). The reconstruction reads log y only
at each document's words: log_softmax over the vocabulary (MXNet's fused kernel; its row reductions
done op by op cost ten times more), gathered at the non-zero (row, word) positions and summed per
document by a (documents x non-zeros) CSR product holding the counts.
"""
import mxnet as mx
from mxnet import autograd, gluon, nd

from contract.errors import ClientError

ACTIVATIONS = ("sigmoid", "tanh", "relu")


def encoder_sizes(value, num_topics):
    """encoder_layers as validated ('auto' or a list of strings) -> the layer sizes, [3K, 2K] for auto."""
    items = [value] if isinstance(value, str) else [str(v).strip() for v in value]
    if "".join(items).lower() == "auto":
        return [3 * num_topics, 2 * num_topics]
    sizes = []
    for item in items:
        try:
            size = float(item)
        except ValueError:
            size = None
        if size is None or not size.is_integer() or size < 1:
            raise ClientError("hyperparameter encoder_layers: %r is not a positive integer; expected auto or "
                              "a list of positive integers (JSON list or comma-separated), e.g. [%d, %d]"
                              % (item, 3 * num_topics, 2 * num_topics))
        sizes.append(int(size))
    return sizes


class _SparseDot(autograd.Function):
    """csr (n, V) x w (V, h) with the gradient dot(csr.T, dy), kept dense and never densifying csr."""

    def __init__(self, csr):
        super().__init__()
        self.csr = csr

    def forward(self, w):
        return nd.sparse.dot(self.csr, w)

    def backward(self, dy):
        return nd.sparse.dot(self.csr, dy, transpose_a=True, forward_stype="default")


def sparse_dot(csr, w):
    if autograd.is_recording():
        return _SparseDot(csr)(w)
    return nd.sparse.dot(csr, w)


class NTM(gluon.Block):
    """Parameter names are the artifact's (`arg:` + name): encoder_<i>_weight/bias (layer 0 stored
    (vocabulary, h0) for the sparse product, later layers FullyConnected's (out, in)), optional
    encoder_<i>_bn_gamma/beta (aux moving_mean/var), mu_*, logsigma_*, projection_weight
    (vocabulary, num_topics) and projection_bias (vocabulary,)."""

    def __init__(self, vocab, num_topics, layers, activation="sigmoid", batch_norm=False):
        super().__init__(prefix="")
        self.V, self.K, self.layers = vocab, num_topics, list(layers)
        self.activation, self.batch_norm = activation, batch_norm
        self.enc = []
        fan_in = vocab
        with self.name_scope():
            for i, h in enumerate(self.layers):
                shape = (vocab, h) if i == 0 else (h, fan_in)
                layer = {"weight": self.params.get("encoder_%d_weight" % i, shape=shape, init=mx.init.Xavier()),
                         "bias": self.params.get("encoder_%d_bias" % i, shape=(h,), init="zeros")}
                if batch_norm:
                    p = "encoder_%d_bn_" % i
                    layer["gamma"] = self.params.get(p + "gamma", shape=(h,), init="ones")
                    layer["beta"] = self.params.get(p + "beta", shape=(h,), init="zeros")
                    layer["mean"] = self.params.get(p + "moving_mean", shape=(h,), init="zeros",
                                                    grad_req="null", differentiable=False)
                    layer["var"] = self.params.get(p + "moving_var", shape=(h,), init="ones",
                                                   grad_req="null", differentiable=False)
                self.enc.append(layer)
                fan_in = h
            self.mu_w = self.params.get("mu_weight", shape=(num_topics, fan_in), init=mx.init.Xavier())
            self.mu_b = self.params.get("mu_bias", shape=(num_topics,), init="zeros")
            self.ls_w = self.params.get("logsigma_weight", shape=(num_topics, fan_in), init=mx.init.Xavier())
            self.ls_b = self.params.get("logsigma_bias", shape=(num_topics,), init="zeros")
            # topics start as distinct random word distributions: with near-uniform ones the KL term
            # wins before the encoder gets a signal and the model collapses to the unigram
            self.proj_w = self.params.get("projection_weight", shape=(vocab, num_topics), init=mx.init.Normal(1.0))
            self.proj_b = self.params.get("projection_bias", shape=(vocab,), init="zeros")

    def encode(self, csr):
        """(mu, log sigma) of each document, a CSR batch on one context."""
        ctx = csr.context
        h = None
        for i, layer in enumerate(self.enc):
            w, b = layer["weight"].data(ctx), layer["bias"].data(ctx)
            h = (sparse_dot(csr, w) + b) if i == 0 else nd.FullyConnected(h, w, b, num_hidden=w.shape[0])
            if self.batch_norm:
                h = nd.BatchNorm(h, layer["gamma"].data(ctx), layer["beta"].data(ctx),
                                 layer["mean"].data(ctx), layer["var"].data(ctx), fix_gamma=False)
            h = nd.Activation(h, act_type=self.activation)
        mu = nd.FullyConnected(h, self.mu_w.data(ctx), self.mu_b.data(ctx), num_hidden=self.K)
        logsigma = nd.FullyConnected(h, self.ls_w.data(ctx), self.ls_b.data(ctx), num_hidden=self.K)
        return mu, logsigma

    def forward(self, part, sample=True):
        """Per-document (reconstruction, KL) of a counts.Part (a CSR batch on one context)."""
        csr = part.csr
        mu, logsigma = self.encode(csr)
        kl = 0.5 * nd.sum(mu * mu + nd.exp(2 * logsigma) - 1 - 2 * logsigma, axis=1)
        h = mu + nd.exp(logsigma) * nd.random.normal(shape=mu.shape, ctx=csr.context) if sample else mu
        z = nd.softmax(h)
        logits = nd.FullyConnected(z, self.proj_w.data(csr.context), self.proj_b.data(csr.context), num_hidden=self.V)
        # log y at the document's words only, summed per document with counts as weights
        at_words = nd.gather_nd(nd.log_softmax(logits), part.positions).reshape((-1, 1))
        return -sparse_dot(part.weights, at_words).reshape((-1,)), kl

    def topic_weights(self, csr):
        mu, _ = self.encode(csr)
        return nd.softmax(mu)


def symbol(vocab, num_topics, layers, activation, batch_norm):
    """The inference graph over `data` (n, vocabulary): outputs topic_weights = softmax(mu), the
    document's word distribution softmax(W topic_weights + b) and log sigma. Argument names are the
    params' names, so symbol.json + params bind with no renaming."""
    data = mx.sym.Variable("data")
    h = data
    fan_in = vocab
    for i, size in enumerate(layers):
        w = mx.sym.Variable("encoder_%d_weight" % i, shape=(vocab, size) if i == 0 else (size, fan_in))
        b = mx.sym.Variable("encoder_%d_bias" % i, shape=(size,))
        h = mx.sym.broadcast_add(mx.sym.dot(h, w), b) if i == 0 else mx.sym.FullyConnected(h, w, b, num_hidden=size)
        if batch_norm:
            p = "encoder_%d_bn_" % i
            h = mx.sym.BatchNorm(h, mx.sym.Variable(p + "gamma"), mx.sym.Variable(p + "beta"),
                                 mx.sym.Variable(p + "moving_mean"), mx.sym.Variable(p + "moving_var"),
                                 fix_gamma=False, use_global_stats=True, name="encoder_%d_bn" % i)
        h = mx.sym.Activation(h, act_type=activation)
        fan_in = size
    mu = mx.sym.FullyConnected(h, mx.sym.Variable("mu_weight"), mx.sym.Variable("mu_bias"),
                               num_hidden=num_topics, name="mu")
    weights = mx.sym.softmax(mu, name="topic_weights")
    words = mx.sym.softmax(mx.sym.FullyConnected(weights, mx.sym.Variable("projection_weight"),
                                                 mx.sym.Variable("projection_bias"), num_hidden=vocab),
                           name="word_distribution")
    logsigma = mx.sym.FullyConnected(h, mx.sym.Variable("logsigma_weight"), mx.sym.Variable("logsigma_bias"),
                                     num_hidden=num_topics, name="logsigma")
    return mx.sym.Group([weights, words, logsigma])
