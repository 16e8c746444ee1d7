"""k-NN training (G:5344-5360): sample, reduce, index. One pass over the train channel.

Each of N hosts keeps a uniform reservoir sample of sample_size/N of the rows it reads; the master
gathers the samples through the kvstore, projects them (sign or FJLT, seed kept in the model),
builds the FAISS index and writes the three model files, then scores the test channel.
"""
import random
import time

import numpy as np

import faiss
from contract.errors import ClientError
from containers.knn import artifact, index as indexes, plan as plans, sampling
from containers.knn.neighbours import Neighbours, prepare
from containers.knn.projection import Projection

CHUNK = 50000  # rows projected at a time (FJLT pads each row to a power of two)


def _rows(batch, channel, dim, first):
    """Dense features and labels of a batch; ClientError when labels are missing or not finite."""
    if batch.labels is None:
        raise ClientError("channel %s: records %d-%d have no label; k-NN needs one per record "
                          "(label['values'] in recordIO-protobuf, the first column with label_size=1 in CSV)"
                          % (channel, first, first + len(batch) - 1))
    x = batch.dense()
    if x.shape[1] != dim:
        raise ClientError("channel %s: records %d-%d have %d features, feature_dim is %d"
                          % (channel, first, first + len(batch) - 1, x.shape[1], dim))
    bad = ~np.isfinite(batch.labels)
    if bad.any():
        raise ClientError("channel %s: record %d has label %r; labels must be finite numbers"
                          % (channel, first + int(np.argmax(bad)), float(batch.labels[np.argmax(bad)])))
    if not np.isfinite(x).all():
        raise ClientError("channel %s: record %d has a feature that is not a finite number"
                          % (channel, first + int(np.argmax(~np.isfinite(x).all(axis=1)))))
    return x, batch.labels


def _sample(job, hp, size):
    reservoir = sampling.Reservoir(size, seed=job.host_rank)
    channel = job.channel("train")
    dim = hp["feature_dim"]
    for batch in channel.batches(hp["mini_batch_size"], dim, label_size=1):
        x, y = _rows(batch, "train", dim, reservoir.seen)
        reservoir.offer(x, y)
        if job.stop_requested():
            break
    return reservoir


def _project(plan, x, log):
    """(projection or None, projected rows); a fresh seed per job, kept in the model's JSON."""
    if plan.reduction is None:
        return None, x
    proj = Projection(plan.reduction, random.SystemRandom().randrange(1 << 31), plan.input_dim,
                      plan.target_dim)
    out = np.empty((len(x), plan.target_dim), dtype=np.float32)
    for s in range(0, len(x), CHUNK):
        out[s:s + CHUNK] = proj(x[s:s + CHUNK])
    log.info("projected %d rows from %d to %d dimensions (%s, seed %d)", len(x), plan.input_dim,
             plan.target_dim, plan.reduction, proj.seed)
    return proj, out


def _save(job, index, labels, meta):
    job.save_model(artifact.INDEX_FILE, lambda p: faiss.write_index(index, p))
    job.save_model(artifact.LABELS_FILE, lambda p: labels.astype(np.float32).tofile(p))
    job.save_model(artifact.META_FILE, lambda p: artifact.write_meta(p, meta))


def _score(job, model, hp):
    """test accuracy and macro F1 (classifier) or mse (regressor) over the whole test channel."""
    dim = hp["feature_dim"]
    truth, preds = [], []
    for batch in job.channel("test").batches(hp["mini_batch_size"], dim, label_size=1):
        x, y = _rows(batch, "test", dim, sum(map(len, truth)))
        preds.append(model.predict(x)[0])
        truth.append(y)
    if not truth:
        return
    y, p = np.concatenate(truth), np.concatenate(preds)
    if model.predictor_type == "regressor":
        scores = [("mse", float(np.mean((p.astype(np.float64) - y) ** 2)), "loss")]
    else:
        scores = [("accuracy", float(np.mean(p == y)), "score"), ("macro_f_1.000", _macro_f1(y, p), "score")]
    for name, value, kind in scores:
        job.log.info("#test_score (%s) : %r", job.current_host, (name, value))
        job.metrics.quality("test", name, value, kind=kind)


def _macro_f1(y, p):
    """F1 averaged over every label that is true or predicted somewhere (scikit-learn's macro F1)."""
    f1 = []
    for c in np.union1d(y, p):
        tp = np.sum((p == c) & (y == c))
        fp = np.sum((p == c) & (y != c))
        fn = np.sum((p != c) & (y == c))
        f1.append(2.0 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1))


def train(job):
    hp = job.hyperparameters
    log = job.log
    plan = plans.make(hp, log)
    hosts = len(job.hosts)
    size = sampling.per_host_sizes(hp["sample_size"], hosts)[job.host_rank]
    log.info("Using per-worker sample size = %d (%d hosts, sample_size %d)", size, hosts, hp["sample_size"])
    start = time.time()
    reservoir = _sample(job, hp, size)
    x, y = reservoir.sample()
    read = reservoir.seen
    kv = job.kvstore()
    if kv is not None:
        x, y, rows, reads = sampling.gather(kv, job.host_rank, hosts, x, y, read, hp["feature_dim"])
        log.info("Getting reservoir sample from %d hosts: %s rows of %s read", hosts, list(rows), list(reads))
        read_all = int(reads.sum())
    else:
        read_all = read
    log.info("Getting reservoir sample: data=%s, labels=%s", None if x is None else x.shape,
             None if y is None else y.shape)
    if x is None:
        if job.stop_requested():
            log.info("stopped before any record was read: no model to save")
            return
        raise ClientError("channel train: no records")
    if read_all < hp["sample_size"]:
        log.warning("sample_size %d is larger than the %d records in the train channel: all of them are used",
                    hp["sample_size"], read_all)
    if not job.is_master:
        job.metrics.throughput("train", read / max(time.time() - start, 1e-9))
        return
    projection, xs = _project(plan, x, log)
    xs = prepare(xs, None, plan.normalize, plan.index_dim)
    index = indexes.build(plan, xs, hp["sample_size"], log)
    meta = artifact.metadata(hp["k"], hp["predictor_type"], projection, plan.normalize)
    _save(job, index, y, meta)
    job.metrics.progress(1.0)
    job.metrics.throughput("train", read_all / max(time.time() - start, 1e-9))
    log.info("trained on %d records, index of %d", read_all, index.ntotal)
    if job.channel("test") is not None and not job.stop_requested():
        _score(job, Neighbours(index, y, hp["k"], hp["predictor_type"], projection, plan.normalize), hp)
