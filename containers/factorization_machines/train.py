"""Training: one pass per epoch over the train channel, a sparse AdaGrad step per mini-batch.

Every cost of a step follows the batch's non-zeros: the rows of w1 and v its features use are
gathered, the gradient is a row_sparse array over those rows, and the update touches only them.
"""
import time

import mxnet as mx
import numpy as np

from containers.factorization_machines import artifact, fm, rows as rowmod, scoring
from containers.factorization_machines.adagrad import LazyAdaGrad
from containers.factorization_machines.hosts import Exchange
from training.channels import Channel
from contract.errors import ClientError

nd = mx.nd
BATCH_LINE_EVERY = 100  # per-batch train lines: batch 0 and every 100th
SEED = 1  # the same on every host: replicas start equal


def _initial(hp, term, shape, ctx):
    method = hp[term + "_init_method"]
    if method == "normal":
        return nd.random.normal(0, hp[term + "_init_sigma"], shape=shape, ctx=ctx)
    if method == "uniform":
        scale = hp[term + "_init_scale"]
        if scale is None:
            raise ClientError("hyperparameter %s_init_scale is required when %s_init_method is uniform"
                              % (term, term))
        return nd.random.uniform(-scale, scale, shape=shape, ctx=ctx)
    value = hp[term + "_init_value"]
    if value is None:
        raise ClientError("hyperparameter %s_init_value is required when %s_init_method is constant"
                          % (term, term))
    return nd.full(shape, value, ctx=ctx)


def initial_params(hp, ctx):
    mx.random.seed(SEED)
    d, k = hp["feature_dim"], hp["num_factors"]
    return fm.Params(_initial(hp, "bias", (1,), ctx), _initial(hp, "linear", (d, 1), ctx),
                     _initial(hp, "factors", (d, k), ctx))


def _checked(batches, channel, hp, classifier):
    """Batches with labels; a classifier's labels must be 0 or 1. Errors name the record."""
    seen = 0
    for b in batches:
        if b.labels is None:
            raise ClientError("channel %s: records %d-%d have no label; %s needs a label per record"
                              % (channel, seen, seen + len(b) - 1, hp["predictor_type"]))
        if classifier:
            bad = np.flatnonzero((b.labels != 0) & (b.labels != 1))
            if len(bad):
                raise ClientError("channel %s: record %d has label %r; binary_classifier labels are 0 or 1"
                                  % (channel, seen + int(bad[0]), float(b.labels[bad[0]])))
        elif not np.isfinite(b.labels).all():
            bad = np.flatnonzero(~np.isfinite(b.labels))
            raise ClientError("channel %s: record %d has label %r" % (channel, seen + int(bad[0]),
                                                                      float(b.labels[bad[0]])))
        seen += len(b)
        yield b


def _dloss(raw, y, classifier):
    """dL/draw per record for log loss (classifier) or square loss (regressor; 1/2 folded in)."""
    return (nd.sigmoid(raw) - y) if classifier else (raw - y)


class Step:
    """Forward and summed gradients of one batch against the current parameters."""

    def __init__(self, params, hp, ctx):
        self.params, self.hp, self.ctx = params, hp, ctx
        self.classifier = hp["predictor_type"] == "binary_classifier"

    def __call__(self, batch, decay=(0.0, 0.0)):
        r = rowmod.localize(rowmod.to_csr(batch.features), self.hp["feature_dim"], self.ctx)
        wb, vb = fm.gather(self.params, r)
        raw, xv = fm.forward(self.params, r, wb, vb)
        y = nd.array(batch.labels.reshape(-1, 1), ctx=self.ctx)
        g0, g1, gv = fm.gradients(r, wb, vb, xv, _dloss(raw, y, self.classifier), *decay)
        return r, g0, g1, gv, len(batch), raw, vb


def _line(job, epoch, batch, names, sums):
    for name, v in sums.values(names).items():
        job.log.info("#quality_metric: host=%s, epoch=%d, batch=%d train %s <%s>=%r"
                     % (job.current_host, epoch, batch, name, scoring.KIND[name], float(v)))


def _epoch(job, epoch, step, opt, exchange, hp):
    ptype = hp["predictor_type"]
    names = scoring.TRAIN_NAMES[ptype]
    sums = scoring.Sums(ptype)
    ch = job.channel("train")
    if exchange is not None:
        exchange.records = 0
    it = iter(_checked(ch.batches(hp["mini_batch_size"], hp["feature_dim"], epoch=epoch), "train", hp,
                       step.classifier))
    k = 0
    while True:
        b = None if job.stop_requested() else next(it, None)
        if b is None and exchange is None:
            break
        local = None
        if b is not None:
            # one host: weight decay folded into the gradients; several: added after they are summed
            r, g0, g1, gv, n, raw, vb = step(b, opt.decay(len(b)) if exchange is None else (0.0, 0.0))
            batch_sums = scoring.Sums(ptype).add_batch(raw.asnumpy(), b.labels)
            sums.v += batch_sums.v
            if k % BATCH_LINE_EVERY == 0:
                _line(job, epoch, k, names, batch_sums)
            local = (r.uniq, g0, g1, gv, n)
            ids, uniq = r.ids, r.uniq
            k += 1
        if exchange is not None:
            merged = exchange.combine(local)
            if merged is None:
                break
            uniq, g0, g1, gv, n = merged
            ids = rowmod.index_array(uniq, hp["feature_dim"], step.ctx)
            dw, dv = opt.decay(n)
            vb = nd.take(opt.params.v, ids)
            g1 = g1 + dw * nd.take(opt.params.w1, ids)
            gv = gv + dv * vb
        opt.step(ids, nd.array(uniq, dtype="int64", ctx=step.ctx), g0, g1, gv, vb, n)
    if sums.v[0] == 0 and (exchange is None or exchange.records == 0):
        raise ClientError("channel train: no records in epoch %d" % epoch)
    return sums


def evaluate(params, batches, ptype, ctx, feature_dim):
    sums = scoring.Sums(ptype)
    for b in batches:
        r = rowmod.localize(rowmod.to_csr(b.features), feature_dim, ctx)
        raw, _ = fm.forward(params, r)
        sums.add_batch(raw.asnumpy(), b.labels)
    return sums


def _whole(job, name):
    """The channel read in full (the final evaluation is the first host's, over every record)."""
    cfg = job.inputdataconfig.get(name)
    return None if cfg is None else Channel(name, cfg, job.paths.data, 0, 1, job.log,
                                            default_content_type="application/x-recordio-protobuf")


def train(job):
    hp = job.hyperparameters
    ctx = mx.cpu()  # sparse rows: the CPU is the guide's recommendation, and MXNet's sparse ops' home
    params = initial_params(hp, ctx)
    opt = LazyAdaGrad(params, hp)
    kv = job.kvstore()
    exchange = Exchange(kv, hp["num_factors"]) if kv is not None else None
    step = Step(params, hp, ctx)
    ptype = hp["predictor_type"]
    job.log.info("factorization machines: %s, feature_dim %d, num_factors %d, %d host(s)",
                 ptype, hp["feature_dim"], hp["num_factors"], len(job.hosts))
    for epoch in range(hp["epochs"]):
        t = time.time()
        sums = _epoch(job, epoch, step, opt, exchange, hp)
        nd.waitall()
        dt = max(time.time() - t, 1e-9)
        for name, v in sums.values(scoring.TRAIN_NAMES[ptype]).items():
            job.metrics.quality("train", name, v, scoring.KIND[name], epoch=epoch)
        job.metrics.throughput("train", sums.v[0] / dt)
        job.metrics.progress((epoch + 1) / hp["epochs"])
        job.log.info("epoch %d: %d records in %.2fs", epoch, int(sums.v[0]), dt)
        if job.stop_requested():
            break
    if exchange is not None:  # equal replicas on every host are the sign that the sums were shared
        job.log.info("parameter checksum: %.9g", float(nd.sum(params.v).asscalar() + nd.sum(params.w1).asscalar()
                                                        + params.w0.asscalar()))
    if not job.is_master:
        return
    job.save_model(artifact.MODEL_FILE, lambda path: artifact.write(path, params, ptype))
    test = _whole(job, "test")
    if test is not None and not job.stop_requested():
        batches = _checked(test.batches(hp["mini_batch_size"], hp["feature_dim"]), "test", hp,
                           ptype == "binary_classifier")
        sums = evaluate(params, batches, ptype, ctx, hp["feature_dim"])
        for name, v in sums.values(scoring.TEST_NAMES[ptype]).items():
            job.metrics.quality("test", name, v, scoring.KIND[name])
