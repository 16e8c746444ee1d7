"""Training: one sampling pass over the train channel, the hosts' reservoirs merged on the master,
the forest built there, and the test channel scored against its labels."""
import time

import numpy as np

from contract.errors import ClientError
from containers.randomcutforest import artifact, forest as forest_mod, sampling
from containers.randomcutforest.scoring import Scorer

SEED = 1234
READ_BYTES = 16 << 20   # rows read per block: about 16 MB of float32 whatever feature_dim is


def _label_size(channel, default):
    # the guide's own example writes `label-size`; the common data format says `label_size`
    raw = channel.params.get("label_size", channel.params.get("label-size"))
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ClientError("channel %s: label_size must be an integer, got %r" % (channel.name, raw)) from None


def _block_rows(dim):
    return max(1000, min(100000, READ_BYTES // (4 * dim)))


def _sample(job, hp, capacity, rng):
    ch = job.channel("train")
    dim = hp["feature_dim"]
    res = sampling.Reservoir(capacity, dim, rng)
    job.log.info("Sampling training data...")
    start = time.time()
    # blocks of at least 10,000 records (at most about 16 MB): smaller ones cost throughput; a SIGTERM
    # keeps the blocks read whole
    rows = min(max(hp["mini_batch_size"], 10000), _block_rows(dim))
    for batch in ch.batches(rows, dim, label_size=_label_size(ch, 1)):
        x = batch.dense()
        if not np.isfinite(x).all():
            raise ClientError("channel train: record %d has a NaN or infinite feature"
                              % (res.seen + int(np.nonzero(~np.isfinite(x).all(1))[0][0])))
        res.add(x)
        if job.stop_requested():
            break
    elapsed = max(time.time() - start, 1e-9)
    job.metrics.throughput("train", res.seen / elapsed)
    job.log.info("read %d records in %.2fs, reservoir holds %d", res.seen, elapsed, res.size)
    return res


def _exchange(kv, key, array):
    """Sum of every host's array (each host fills only its own rows: a gather)."""
    import mxnet as mx
    kv.init(key, mx.nd.zeros(array.shape, dtype=array.dtype))
    kv.push(key, mx.nd.array(array, dtype=array.dtype))
    out = mx.nd.zeros(array.shape, dtype=array.dtype)
    kv.pull(key, out=out)
    return out.asnumpy()


def _merge(job, res, capacity):
    """A uniform `capacity`-sample of every host's records, from the hosts' reservoirs."""
    kv = job.kvstore()
    if kv is None:
        return res.sample(), res.seen
    H, r, dim = len(job.hosts), job.host_rank, res.rows.shape[1]
    counts = np.zeros((H, 2), dtype=np.float32)
    counts[r] = divmod(res.seen, 1 << 20)        # float32 holds each half exactly
    got = _exchange(kv, "rcf_counts", counts).astype(np.int64)
    seen = got[:, 0] * (1 << 20) + got[:, 1]
    # every host draws the same split from the same seed
    take = sampling.merge_counts(seen, capacity, np.random.default_rng(SEED))
    offsets = np.concatenate([[0], np.cumsum(take)])
    total = int(offsets[-1])
    mine = res.sample()
    pick = np.random.default_rng(SEED + 1 + r).choice(len(mine), int(take[r]), replace=False)
    block = max(1, (1 << 22) // dim)              # rows per kvstore key, at most 16 MB each
    merged = np.zeros((total, dim), dtype=np.float32)
    for k, lo in enumerate(range(0, max(total, 1), block)):
        hi = min(lo + block, total)
        part = np.zeros((hi - lo, dim), dtype=np.float32)
        a, b = max(lo, offsets[r]), min(hi, offsets[r + 1])
        if a < b:
            part[a - lo:b - lo] = mine[pick[a - offsets[r]:b - offsets[r]]]
        merged[lo:hi] = _exchange(kv, "rcf_sample_%d" % k, part)
    job.log.info("merged reservoirs of %d hosts: %s records seen, %s taken", H,
                 seen.tolist(), take.tolist())
    return merged, int(seen.sum())


def _build(job, hp, sample, total, rng):
    T = hp["num_trees"]
    m = sampling.per_tree(total, T, hp["num_samples_per_tree"])
    if m < 1:
        raise ClientError("channel train: %d records, fewer than num_trees=%d; every tree needs at least "
                          "one sample" % (total, T))
    job.log.info("Master node: building Random Cut Forest...")
    job.log.info("%d samples gathered", len(sample))
    sample = sample[rng.permutation(len(sample))[:T * m]]
    start = time.time()
    forest = forest_mod.build(sample, T, rng)
    info = forest.info()
    job.log.info("ForestInfo{%s} built in %.2fs", ", ".join("%s: %s" % kv for kv in info.items()),
                 time.time() - start)
    return forest


def _evaluate(job, hp, forest):
    ch = job.channel("test")
    # FullyReplicated: the master alone scores all of it, not a 1/hosts share
    if hasattr(ch, "num_hosts"):
        ch.num_hosts = 1
    dim = hp["feature_dim"]
    scorer = Scorer(forest)
    scores, labels = [], []
    for batch in ch.batches(_block_rows(dim), dim, label_size=_label_size(ch, 1)):
        if batch.labels is None:
            raise ClientError("channel test: records carry no labels; give text/csv;label_size=1 (first "
                              "column 1 = anomaly, 0 = normal) or recordIO records with a label")
        bad = np.nonzero((batch.labels != 0) & (batch.labels != 1))[0]
        if len(bad):
            raise ClientError("channel test: record %d has label %g; labels are 1 (anomaly) or 0"
                              % (sum(map(len, labels)) + int(bad[0]), batch.labels[bad[0]]))
        scores.append(scorer.scores(batch.dense()))
        labels.append(batch.labels)
    if not scores:
        raise ClientError("channel test: no records")
    s, y = np.concatenate(scores), np.concatenate(labels).astype(bool)
    for name, value in quality(s, y, hp["eval_metrics"]):
        job.metrics.quality("test", name, value, kind="score")
    return s


def quality(scores, labels, eval_metrics):
    """(name, value) pairs: anomalies are scores above mean + 3 std of the test scores (the guide's
    three-sigma rule); f1 of the anomaly class always (the tuning objective)."""
    threshold = scores.mean() + 3 * scores.std()
    pred = scores > threshold
    out = []

    def prf(pos_pred, pos_true):
        tp = float(np.sum(pos_pred & pos_true))
        p = tp / pos_pred.sum() if pos_pred.sum() else 0.0
        r = tp / pos_true.sum() if pos_true.sum() else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    p1, r1, f1 = prf(pred, labels)
    p0, r0, f0 = prf(~pred, ~labels)
    if "accuracy" in eval_metrics:
        out.append(("accuracy", float(np.mean(pred == labels))))
    if "precision_recall_fscore" in eval_metrics:
        out += [("precision", p1), ("recall", r1), ("precision_negative", p0), ("recall_negative", r0),
                ("f1_negative", f0)]
    out.append(("f1", f1))
    return out


def train(job):
    hp = job.hyperparameters
    T, m = hp["num_trees"], hp["num_samples_per_tree"]
    capacity = T * m
    job.log.info("Estimated sample size in bytes: %d", capacity * hp["feature_dim"] * 4)
    rng = np.random.default_rng(SEED + job.host_rank)
    res = _sample(job, hp, capacity, rng)
    job.metrics.progress(1.0)
    if res.seen == 0 and job.stop_requested():
        job.log.info("stopped before any data was read: no model to save")
        return
    sample, total = _merge(job, res, capacity)
    if not job.is_master:
        job.log.info("sample sent to the master, which builds the forest")
        return
    if job.stop_requested() and total < hp["num_trees"]:
        job.log.info("stopped after %d records, too few for %d trees: no model to save", total, hp["num_trees"])
        return
    forest = _build(job, hp, sample, total, rng)
    job.save_model(artifact.MODEL_FILE, lambda path: artifact.save(forest, path, {"records_seen": total}))
    if job.channel("test") is not None and not job.stop_requested():
        _evaluate(job, hp, forest)
