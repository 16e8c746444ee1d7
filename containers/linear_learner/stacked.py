"""M linear models trained at once: weights stacked into one (d, M*K) matrix, one matmul per batch.

The models see normalised features x' = (x - mu) / sigma, but the data is never transformed: the
normalisation is folded into the weights (x' w = x (w / sigma) - mu (w / sigma)), and likewise into
the gradient, so a batch costs two matmuls whatever the normalisation.

A training step (scores, loss, gradient, regularisation, optimizer, schedule) is one symbolic MXNet
graph, bound once per batch size: per mini-batch Python issues a single forward instead of dozens of
imperative operators, which is what makes many models per pass cheap.
"""
import mxnet as mx
import numpy as np

from containers.linear_learner import losses

nd = mx.nd
sym = mx.sym


class StackedLinear:
    def __init__(self, dim, opts, hp, scaler, ctx, pos_weights, seed=0):
        self.d, self.M, self.K = dim, opts.num_models, opts.outputs
        self.opts, self.hp, self.ctx = opts, hp, ctx
        self.use_bias = hp["use_bias"]
        rng = np.random.RandomState(seed)
        shape = (dim, self.M * self.K)
        if hp["init_method"] == "normal":
            w = rng.normal(0, hp["init_sigma"], shape)
        else:
            w = rng.uniform(-hp["init_scale"], hp["init_scale"], shape)
        mk = self.M * self.K
        rep = lambda v: nd.array(np.repeat(np.asarray(v, np.float32), self.K).reshape(1, -1), ctx=ctx)
        self.y_mean, self.y_scale = scaler.y_mean, scaler.y_scale
        self.lossp = {"margin": hp["margin"], "quantile": hp["quantile"],
                      "loss_insensitivity": hp["loss_insensitivity"] / scaler.y_scale,
                      "huber_delta": hp["huber_delta"] / scaler.y_scale}
        # constants of the step graph
        self.const = {"mu": nd.array(scaler.x_mean.reshape(-1, 1), ctx=ctx),
                      "inv_sigma": nd.array(1.0 / scaler.x_scale.reshape(-1, 1), ctx=ctx),
                      "lr0": rep(opts.lr), "wd": rep(opts.wd), "l1": rep(opts.l1),
                      "pos_w": nd.array(np.asarray(pos_weights, np.float32).reshape(1, -1), ctx=ctx),
                      "class_w": nd.ones((max(self.K, 1),), ctx=ctx)}
        # what each step reads and rewrites
        self.state = {"W": nd.array(w, ctx=ctx),
                      "b": nd.full((1, mk), hp["init_bias"] if self.use_bias else 0.0, ctx=ctx),
                      "t": nd.zeros((1, 1), ctx=ctx), "acc": nd.zeros((1, self.M), ctx=ctx)}
        slots = {"sgd": ["mom"], "rmsprop": ["sq"], "adam": ["m", "v"]}[opts.optimizer]
        for p in ("W", "b"):
            for s in slots:
                self.state["%s_%s" % (p, s)] = nd.zeros(self.state[p].shape, ctx=ctx)
        self.pos_weights = list(pos_weights)
        self.schedule = None
        self._graph = None
        self._exes = {}

    @property
    def W(self):
        return self.state["W"]

    @property
    def b(self):
        return self.state["b"]

    def set_class_weights(self, w):
        self.const["class_w"][:] = nd.array(w, ctx=self.ctx)

    # ---- scoring (imperative: validation, calibration, export) -----------------------------------
    def effective(self, W=None, b=None):
        """Weights and bias on raw features: (d, MK), (1, MK)."""
        W = self.W if W is None else W
        b = self.b if b is None else b
        We = nd.broadcast_mul(W, self.const["inv_sigma"])
        be = b - nd.dot(self.const["mu"], We, transpose_a=True)
        return We, be

    def raw_scores(self, x, We, be):
        s = nd.broadcast_add(nd.dot(x, We), be)
        return s.reshape((0, self.M, self.K)) if self.K > 1 else s

    def loss_terms(self, s, y, F=nd, c=None):
        """Per-record, per-model loss (n, M) and its gradient, with example weights applied."""
        c = c or self.const
        val, g = losses.value_and_grad(self.opts.loss, s, y, self.lossp, F, self.K)
        if self.opts.predictor_type == "binary_classifier":
            if all(pw == 1.0 for pw in self.pos_weights):
                return val, g
            w = 1 + F.broadcast_mul(y, c["pos_w"] - 1)   # 1 for negatives, the model's weight for positives
        elif self.opts.predictor_type == "multiclass_classifier":
            w = F.reshape(F.take(c["class_w"], F.reshape(y, shape=(-1,))), shape=(-1, 1))
        else:
            return val, g
        val = F.broadcast_mul(val, w)
        g = F.broadcast_mul(g, F.expand_dims(w, axis=2) if self.K > 1 else w)
        return val, g

    # ---- training --------------------------------------------------------------------------------
    def _build(self):
        F = sym
        o = self.opts
        v = {k: F.Variable(k) for k in list(self.const) + list(self.state) + ["x", "y"]}
        x, y, W, b, t = v["x"], v["y"], v["W"], v["b"], v["t"]
        t1 = t + 1
        lr = v["lr0"]
        if self.schedule is not None:
            step, factor, minimum = self.schedule
            decay = factor ** F.floor((t1 - 1) / step)
            lr = F.broadcast_maximum(F.broadcast_mul(lr, decay), F.ones_like(lr) * minimum)
        We = F.broadcast_mul(W, v["inv_sigma"])
        be = b - F.dot(v["mu"], We, transpose_a=True)
        s = F.broadcast_add(F.dot(x, We), be)
        if self.K > 1:
            s = F.reshape(s, shape=(0, self.M, self.K))
        val, g = self.loss_terms(s, y, F, v)
        g = F.reshape(g, shape=(0, -1))
        # column sums as matmuls with a ones vector: MXNet's sum over axis 0 is many times slower
        ones = F.ones_like(y)
        inv_n = 1.0 / F.sum(ones)
        gsum = F.broadcast_mul(F.dot(ones, g, transpose_a=True), inv_n)
        # d/dW of x' W: x'^T g = (x^T g - mu gsum) / sigma, the 1/n applied after the matmul
        gW = F.broadcast_mul(F.broadcast_mul(F.dot(x, g, transpose_a=True), inv_n) - F.dot(v["mu"], gsum),
                             v["inv_sigma"])
        gW = gW + F.broadcast_mul(W, v["wd"])
        gb = gsum + b * v["wd"] * o.bias_wd_mult
        out = {"t": t1, "acc": v["acc"] + F.dot(ones, val, transpose_a=True)}
        newW = self._optimizer(F, v, "W", W, gW, lr, t1, out)
        if self.use_bias:
            out["b"] = self._optimizer(F, v, "b", b, gb, lr * o.bias_lr_mult, t1, out)
        else:
            out["b"] = b
        if o.l1.any():
            # proximal step for L1: shrink towards zero by lr * l1
            newW = F.sign(newW) * F.relu(F.broadcast_sub(F.abs(newW), F.broadcast_mul(lr, v["l1"])))
        out["W"] = newW
        names = sorted(out)
        for n in self.state:
            if n not in out:
                out[n] = v[n]
                names.append(n)
        return names, F.Group([out[n] for n in names])

    def _optimizer(self, F, v, key, p, g, lr, t1, out):
        o = self.opts
        if o.optimizer == "sgd":
            mom = o.momentum * v[key + "_mom"] - F.broadcast_mul(g, lr)
            out[key + "_mom"] = mom
            return p + mom
        if o.optimizer == "rmsprop":
            sq = 0.9 * v[key + "_sq"] + 0.1 * g * g
            out[key + "_sq"] = sq
            return p - F.broadcast_mul(g / (F.sqrt(sq) + 1e-8), lr)
        b1, b2 = o.beta_1, o.beta_2
        m = b1 * v[key + "_m"] + (1 - b1) * g
        s2 = b2 * v[key + "_v"] + (1 - b2) * g * g
        out[key + "_m"], out[key + "_v"] = m, s2
        corr = F.sqrt(1 - b2 ** t1) / (1 - b1 ** t1)
        return p - F.broadcast_mul(F.broadcast_mul(m / (F.sqrt(s2) + 1e-8), lr), corr)

    def _executor(self, n):
        # two executors per batch size, used in turn: copying the next batch into one does not wait
        # for the other's step to finish (the engine still orders the steps through the shared state)
        self._turn = 1 - getattr(self, "_turn", 0)
        exe = self._exes.get((n, self._turn))
        if exe is None:
            if self._graph is None:
                self._graph = self._build()
            names, group = self._graph
            args = dict(self.const, **self.state)
            args["x"] = nd.zeros((n, self.d), ctx=self.ctx)
            args["y"] = nd.zeros((n, 1), ctx=self.ctx)
            exe = group.bind(self.ctx, args=args, grad_req="null")
            self._exes[(n, self._turn)] = exe
        return exe

    def step(self, x, y):
        """One mini-batch update of every model (x: (n, d), y: (n, 1), numpy or NDArray)."""
        exe = self._executor(x.shape[0])
        exe.arg_dict["x"][:] = x
        exe.arg_dict["y"][:] = y
        exe.forward(is_train=False)
        for name, out in zip(self._graph[0], exe.outputs):
            out.copyto(self.state[name])

    def take_losses(self):
        """Summed loss per model since the last call, (M,)."""
        acc = self.state["acc"]
        total = acc.asnumpy()[0].astype(np.float64)
        acc[:] = 0
        return total

    # ---- several hosts ---------------------------------------------------------------------------
    def params(self):
        return [self.W, self.b]

    def set_params(self, W, b):
        self.state["W"][:] = W
        self.state["b"][:] = b

    # ---- one model on raw features and labels -----------------------------------------------------
    def export(self, m, W=None, b=None):
        """(weights (d, K), bias (K,)) of model m, scores on the original label scale."""
        We, be = self.effective(W, b)
        cols = slice(m * self.K, (m + 1) * self.K)
        w = We.asnumpy()[:, cols] * self.y_scale
        bias = be.asnumpy()[0, cols] * self.y_scale + self.y_mean
        return w.astype(np.float32), bias.astype(np.float32)
