"""Training: one pass per epoch over the train channel, a sparse AdaGrad step per mini-batch.

Every cost of a step follows the batch's non-zeros: only the rows of w1 and v its features use are
read, and the update touches only them (step.py).
"""
import os
import time

import numba
import numpy as np

from containers.factorization_machines import artifact, fm, scoring
from containers.factorization_machines.adagrad import LazyAdaGrad
from containers.factorization_machines.hosts import Exchange
from containers.factorization_machines.step import Step, scores
from training.channels import Channel
from contract.errors import ClientError
from formats import sparse_compiled

BATCH_LINE_EVERY = 100  # per-batch train lines: batch 0 and every 100th
SEED = 1  # the same on every host: replicas start equal


def _initial(hp, term, shape, rng):
    method = hp[term + "_init_method"]
    out = fm.table(shape)  # drawn in place, float32: v is the big array
    if method == "normal":
        rng.standard_normal(dtype=np.float32, out=out)
        out *= np.float32(hp[term + "_init_sigma"])
        return out
    if method == "uniform":
        scale = hp[term + "_init_scale"]
        if scale is None:
            raise ClientError("hyperparameter %s_init_scale is required when %s_init_method is uniform"
                              % (term, term))
        rng.random(dtype=np.float32, out=out)
        out *= np.float32(2 * scale)
        out -= np.float32(scale)
        return out
    value = hp[term + "_init_value"]
    if value is None:
        raise ClientError("hyperparameter %s_init_value is required when %s_init_method is constant"
                          % (term, term))
    out[...] = value
    return out


def initial_params(hp):
    rng = np.random.default_rng(SEED)
    d, k = hp["feature_dim"], hp["num_factors"]
    return fm.Params(_initial(hp, "bias", (1,), rng), _initial(hp, "linear", (d,), rng),
                     _initial(hp, "factors", (d, k), rng))


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
            # one host: the step is applied as the gradients are made; several: after they are summed
            raw, grads = step(b, opt if exchange is None else None)
            batch_sums = scoring.Sums(ptype).add_batch(raw, b.labels)
            sums.v += batch_sums.v
            if k % BATCH_LINE_EVERY == 0:
                _line(job, epoch, k, names, batch_sums)
            local = None if grads is None else grads + (len(b),)
            k += 1
        if exchange is not None:
            merged = exchange.combine(local)
            if merged is None:
                break
            uniq, g0, g1, gv, n = merged
            opt.step_rows(uniq, g1, gv, n)
            opt.step_w0(g0, n)
    if sums.v[0] == 0 and (exchange is None or exchange.records == 0):
        raise ClientError("channel train: no records in epoch %d" % epoch)
    return sums


def evaluate(params, batches, ptype):
    sums = scoring.Sums(ptype)
    for b in batches:
        sums.add_batch(scores(params, b.features), b.labels)
    return sums


def _whole(job, name):
    """The channel read in full (the final evaluation is the first host's, over every record)."""
    cfg = job.inputdataconfig.get(name)
    return None if cfg is None else Channel(name, cfg, job.paths.data, 0, 1, job.log,
                                            default_content_type="application/x-recordio-protobuf")


def train(job):
    hp = job.hyperparameters
    # sparse rows: the CPU is the guide's recommendation; the compiled step threads over its cores
    numba.set_num_threads(max(1, min(numba.config.NUMBA_NUM_THREADS, len(os.sched_getaffinity(0)))))
    params = initial_params(hp)
    opt = LazyAdaGrad(params, hp)
    kv = job.kvstore()
    exchange = Exchange(kv, hp["num_factors"]) if kv is not None else None
    ptype = hp["predictor_type"]
    step = Step(params, ptype == "binary_classifier")
    step.compile()  # now, not inside the first epoch's timing; so is the compiled recordIO reader
    sparse_compiled.warm()
    job.log.info("factorization machines: %s, feature_dim %d, num_factors %d, %d host(s)",
                 ptype, hp["feature_dim"], hp["num_factors"], len(job.hosts))
    for epoch in range(hp["epochs"]):
        t = time.time()
        sums = _epoch(job, epoch, step, opt, exchange, hp)
        dt = max(time.time() - t, 1e-9)
        for name, v in sums.values(scoring.TRAIN_NAMES[ptype]).items():
            job.metrics.quality("train", name, v, scoring.KIND[name], epoch=epoch)
        job.metrics.throughput("train", sums.v[0] / dt)
        job.metrics.progress((epoch + 1) / hp["epochs"])
        job.log.info("epoch %d: %d records in %.2fs", epoch, int(sums.v[0]), dt)
        if job.stop_requested():
            break
    if exchange is not None:  # equal replicas on every host are the sign that the sums were shared
        job.log.info("parameter checksum: %.9g", float(params.v.sum(dtype=np.float64)
                                                        + params.w1.sum(dtype=np.float64) + params.w0[0]))
    if not job.is_master:
        return
    job.save_model(artifact.MODEL_FILE, lambda path: artifact.write(path, params, ptype))
    test = _whole(job, "test")
    if test is not None and not job.stop_requested():
        batches = _checked(test.batches(hp["mini_batch_size"], hp["feature_dim"]), "test", hp,
                           ptype == "binary_classifier")
        sums = evaluate(params, batches, ptype)
        for name, v in sums.values(scoring.TEST_NAMES[ptype]).items():
            job.metrics.quality("test", name, v, scoring.KIND[name])
