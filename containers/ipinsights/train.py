"""IP Insights training: a discriminator between observed (entity, IP) pairs and generated negatives
(random IPs and IPs shuffled within the mini-batch), Adam with weight decay, on job.contexts."""
import time

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from containers.ipinsights import artifact, pairs
from containers.ipinsights.network import IPInsightsNet
from contract.errors import ClientError


def _read(channel, shard=True):
    """(entity strings, uint32 IPs) of a CSV channel: this host's share, or all of it."""
    entities, ips = [], []
    for name, f in channel.streams():
        data = f.read()
        try:
            e, a = pairs.split_csv(data)
        except pairs.PairError as err:
            raise ClientError("channel %s, file %s, line %d: %s" % (channel.name, name, err.index + 1, err)) from None
        entities.extend(e)
        ips.append(a)
    if not entities:
        raise ClientError("channel %s: no (entity, IP address) rows" % channel.name)
    ips = np.concatenate(ips)
    if not shard:
        return entities, ips
    keep = np.fromiter(channel.shard(range(len(entities))), dtype=np.int64)
    return [entities[i] for i in keep] if len(keep) < len(entities) else entities, ips[keep]


def _negatives(n, hp, rng):
    """The batch's negatives: R sets of uniformly random IPs and S permutations of the batch's own IPs.
    Labels follow the score order: n positives, R*n random-IP negatives, S*n shuffled-IP negatives."""
    r, s = hp["random_negative_sampling_rate"], hp["shuffled_negative_sampling_rate"]
    random_ips = rng.randint(0, 1 << 32, size=n * r, dtype=np.uint64).astype(np.uint32)
    perms = [rng.permutation(n) for _ in range(s)]
    labels = np.concatenate([np.ones(n, np.float32), np.zeros(n * (r + s), np.float32)])
    return random_ips, perms, labels


def _auc(scores, labels):
    """Area under the ROC curve by ranks (ties averaged)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    # average ranks of ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1
    ranks[order] = np.repeat(avg, counts)
    pos = labels > 0.5
    n_pos, n_neg = pos.sum(), (~pos).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


class _Steps:
    """Forward/backward of one batch split across the contexts (every GPU, else the CPU).

    A shuffled negative pairs an entity with another positive's address, so its score reuses the
    positives' entity and IP vectors: only the positives and the random addresses are encoded."""

    def __init__(self, net, ctxs, hp):
        self.net, self.ctxs, self.hp = net, ctxs, hp
        self.loss = gluon.loss.SigmoidBinaryCrossEntropyLoss()
        self._ones = {}

    def _rowsum(self, x):
        """x.sum(axis=1) as a matrix-vector product: MXNet's sum over a short last axis, and its
        backward, cost several times BLAS's gemv on the same (n, d) block."""
        ones = self._ones.get(x.context)
        if ones is None:
            ones = self._ones[x.context] = mx.nd.ones((x.shape[1],), ctx=x.context)
        return mx.nd.dot(x, ones)

    def _scores(self, e_ids, ip_ids, rand_ids, perms, ctx):
        net = self.net
        e = net.entity(e_ids)
        n = e_ids.shape[0]
        r = self.hp["random_negative_sampling_rate"]
        # the positives' and the random addresses encoded together: one sparse gradient for the table
        ids = np.concatenate([ip_ids, rand_ids]) if r else ip_ids
        if ctx.device_type == "cpu":
            v_all = net.encode_ip_sparse(ids, ctx)
        else:  # the sparse product's speed was measured on CPUs only; GPUs keep the lookup
            v_all = net.encode_ip(mx.nd.array(ids, ctx=ctx, dtype=np.int32))
        v = mx.nd.slice_axis(v_all, axis=0, begin=0, end=n)
        parts = [self._rowsum(e * v)]
        if r:
            vr = mx.nd.slice_axis(v_all, axis=0, begin=n, end=None)
            # the entity vectors once per random address; at the default rate 1 they are e itself
            parts.append(self._rowsum((mx.nd.tile(e, reps=(r, 1)) if r > 1 else e) * vr))
        for perm in perms:
            parts.append(self._rowsum(e * mx.nd.take(v, perm)))
        return mx.nd.concat(*parts, dim=0)

    def run(self, ent_ids, ips, rng, train=True):
        """(scores, labels, summed loss) for the positives ent_ids/ips and their generated negatives."""
        outs, losses, labels = [], [], []
        with autograd.record(train_mode=train) if train else _nothing():
            for ctx, idx in zip(self.ctxs, np.array_split(np.arange(len(ent_ids)), len(self.ctxs))):
                rand_ips, perms, y = _negatives(len(idx), self.hp, rng)
                scores = self._scores(
                    mx.nd.array(ent_ids[idx], ctx=ctx, dtype=np.int32),
                    pairs.ip_buckets(ips[idx]), pairs.ip_buckets(rand_ips),
                    [mx.nd.array(p, ctx=ctx, dtype=np.int32) for p in perms], ctx)
                losses.append(self.loss(scores, mx.nd.array(y, ctx=ctx)))
                outs.append(scores)
                labels.append(y)
        if train:
            autograd.backward(losses)
        return (np.concatenate([o.asnumpy() for o in outs]), np.concatenate(labels),
                float(sum(l.sum().asscalar() for l in losses)))


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


# Gluon's Trainer keys the kvstore by parameter index: an integer far above them for the batch counts.
_COUNT_KEY = 1 << 20


def _agree_on_batches(job, kv, n_batches):
    """Every host must take the same number of dist_sync steps: the smallest count any host has."""
    if kv is None:
        return n_batches
    counts = mx.nd.zeros((len(job.hosts),))
    kv.init(_COUNT_KEY, counts)
    mine = mx.nd.zeros((len(job.hosts),))
    mine[job.host_rank] = n_batches
    kv.push(_COUNT_KEY, mine)
    kv.pull(_COUNT_KEY, out=counts)
    return int(counts.asnumpy().min())


def train(job):
    hp = job.hyperparameters
    if hp["random_negative_sampling_rate"] + hp["shuffled_negative_sampling_rate"] < 1:
        raise ClientError("hyperparameters random_negative_sampling_rate + shuffled_negative_sampling_rate must be"
                          " at least 1 (got %d and %d)" % (hp["random_negative_sampling_rate"],
                                                             hp["shuffled_negative_sampling_rate"]))
    t0 = time.time()
    entities, ips = _read(job.channel("train"))
    ent_ids = pairs.entity_buckets(entities, hp["num_entity_vectors"])
    val = job.channel("validation")
    if val is not None:
        v_ent, v_ips = _read(val, shard=False)  # every host scores the whole validation set
        v_ent = pairs.entity_buckets(v_ent, hp["num_entity_vectors"])
    job.log.info("read %d training pairs in %.2fs", len(ent_ids), time.time() - t0)

    kv = job.kvstore()
    ctxs = job.contexts
    mx.random.seed(17)  # the same job trains the same model
    net = IPInsightsNet(hp["num_entity_vectors"], hp["vector_dim"], hp["num_ip_encoder_layers"],
                        sparse_grad=kv is None, prefix="ipinsights_")
    t_init = time.time()
    net.initialize(ctx=ctxs)
    net.hybridize(static_alloc=True)
    # MXNet draws the tables' initial values asynchronously (30M normals for 100,000 entities and the IP
    # table at vector_dim 128, ~0.6 s): finish that here, not inside the first timed batch
    mx.nd.waitall()
    job.log.info("initialized the model in %.2fs", time.time() - t_init)
    params = net.collect_params()
    adam = mx.optimizer.Adam(learning_rate=hp["learning_rate"], wd=hp["weight_decay"])
    # the kvstore's servers get the optimizer without its Parameters: give them the lr_mults by index
    adam.set_lr_mult({i: p.lr_mult for i, p in enumerate(params.values()) if p.lr_mult != 1.0})
    trainer = gluon.Trainer(params, adam,
                            kvstore=kv if kv is not None else ("device" if len(ctxs) > 1 else None))
    steps = _Steps(net, ctxs, hp)
    bs = hp["mini_batch_size"]
    n = len(ent_ids)
    n_batches = _agree_on_batches(job, kv, (n + bs - 1) // bs)
    rng = np.random.RandomState(17 + job.host_rank)
    epochs = hp["epochs"]
    interval = hp["batch_metrics_publish_interval"]
    seen = 0
    t_train = time.time()
    for epoch in range(epochs):
        order = rng.permutation(n)
        correct = total = 0
        loss_sum = 0.0
        t_epoch = time.time()
        t_interval, n_interval = time.time(), 0
        for b in range(n_batches):
            if job.stop_requested():
                break
            idx = order[b * bs:(b + 1) * bs]
            if len(idx) == 0:
                continue
            scores, y, loss = steps.run(ent_ids[idx], ips[idx], rng)
            trainer.step(len(y))
            hits = int(((scores > 0) == (y > 0.5)).sum())
            correct += hits
            total += len(y)
            loss_sum += loss
            seen += len(idx)
            n_interval += len(idx)
            if b % interval == 0:
                job.log.info("#quality_metric: host=%s, epoch=%d, batch=%d train binary_classification_accuracy "
                             "<score>=%r", job.current_host, epoch, b, hits / len(y))
                job.log.info("#quality_metric: host=%s, epoch=%d, batch=%d train binary_classification_cross_entropy"
                             " <loss>=%r", job.current_host, epoch, b, loss / len(y))
                now = time.time()
                if b:
                    job.log.info("Epoch[%d] Batch [%d]\tSpeed: %.2f samples/sec", epoch, b,
                                 n_interval / max(now - t_interval, 1e-9))
                t_interval, n_interval = now, 0
        if total:
            job.metrics.quality("train", "binary_classification_accuracy", correct / total, kind="score", epoch=epoch)
            job.metrics.quality("train", "binary_classification_cross_entropy", loss_sum / total, epoch=epoch)
        if val is not None and not job.stop_requested():
            job.metrics.quality("validation", "discriminator_auc", _validation_auc(steps, v_ent, v_ips, hp, bs),
                                kind="score", epoch=epoch)
        job.metrics.progress((epoch + 1) / epochs)
        job.metrics.throughput("train", seen / max(time.time() - t_train, 1e-9))
        job.log.info("Epoch[%d] Time cost=%.3f", epoch, time.time() - t_epoch)
        if job.stop_requested():
            break
    if job.is_master:
        job.save_model(artifact.MODEL_FILE, lambda path: artifact.write(path, net, hp))


def _validation_auc(steps, ent_ids, ips, hp, bs):
    rng = np.random.RandomState(23)  # the same negatives every epoch, so epochs compare
    scores, labels = [], []
    for start in range(0, len(ent_ids), bs):
        s, y, _ = steps.run(ent_ids[start:start + bs], ips[start:start + bs], rng, train=False)
        scores.append(s)
        labels.append(y)
    return _auc(np.concatenate(scores), np.concatenate(labels))
