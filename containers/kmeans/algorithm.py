"""Web-scale mini-batch k-means with K = k * extra_center_factor centers, reduced to k by local Lloyd."""
import time

import mxnet as mx
import numpy as np

from containers.kmeans import lloyd
from formats import FormatError

MODEL_FILE = "model_algo-1"
AUTO_EXTRA_CENTER_FACTOR = 4
AUTO_LLOYD_TRIALS = 10


def _sq_dist(x, centers, c_norm):
    """Squared distances (n, K) between rows of x and the centers, clipped at 0."""
    x_norm = mx.nd.sum(x * x, axis=1, keepdims=True)
    d = mx.nd.broadcast_add(mx.nd.broadcast_add(-2 * mx.nd.dot(x, centers, transpose_b=True), x_norm),
                            c_norm.reshape((1, -1)))
    return mx.nd.relu(d)


class MiniBatchKMeans:
    def __init__(self, num_centers, dim, ctx, init_method="random", half_life=0, seed=0):
        self.K = num_centers
        self.dim = dim
        self.ctx = ctx
        self.init_method = init_method
        self.half_life = half_life
        self.rng = np.random.RandomState(seed)
        self.centers = None
        self.counts = None

    def _init(self, x):
        n = x.shape[0]
        if self.init_method == "kmeans++":
            c = lloyd.kmeans_pp(x, np.ones(n), self.K, self.rng)
        else:
            idx = self.rng.choice(n, self.K, replace=n < self.K)
            c = x[idx]
        self.centers = mx.nd.array(c, ctx=self.ctx)
        self.counts = mx.nd.zeros((self.K,), ctx=self.ctx)

    def step(self, x_np):
        """One mini-batch update (the guide's steps a-d); returns the batch's summed squared distance."""
        if self.centers is None:
            self._init(x_np)
        x = mx.nd.array(x_np, ctx=self.ctx)
        c_norm = mx.nd.sum(self.centers * self.centers, axis=1)
        d = _sq_dist(x, self.centers, c_norm)
        assign = mx.nd.argmin(d, axis=1)
        best = mx.nd.pick(d, assign, axis=1)
        onehot = mx.nd.one_hot(assign, self.K)
        new = mx.nd.sum(onehot, axis=0)
        sums = mx.nd.dot(onehot, x, transpose_a=True)
        if self.half_life:
            # a point's weight halves after half_life_time_size further points
            self.counts *= 0.5 ** (x_np.shape[0] / float(self.half_life))
        total = self.counts + new
        p = new / mx.nd.maximum(total, 1e-12)
        mean_new = sums / mx.nd.maximum(new, 1).reshape((-1, 1))
        self.centers = self.centers + mx.nd.broadcast_mul(p.reshape((-1, 1)), mean_new - self.centers)
        self.counts = total
        return mx.nd.sum(best)


def _dense(batch, dim):
    x = batch.dense()
    if x.shape[1] != dim:
        raise FormatError("records have %d features, feature_dim is %d" % (x.shape[1], dim))
    return x


def _evaluate(job, channel, centroids, hp):
    """test msd / ssd of the final model on a channel."""
    ctx = job.context
    c = mx.nd.array(centroids, ctx=ctx)
    c_norm = mx.nd.sum(c * c, axis=1)
    ssd = 0.0
    n = 0
    for batch in channel.batches(hp["mini_batch_size"], hp["feature_dim"], label_size=1):
        x = mx.nd.array(_dense(batch, hp["feature_dim"]), ctx=ctx)
        ssd += float(mx.nd.sum(mx.nd.min(_sq_dist(x, c, c_norm), axis=1)).asscalar())
        n += len(batch)
    return ssd, n


def _gather_centers(job, centers, counts):
    """All hosts' centers and counts, through the kvstore (a sum of disjoint slots is a gather)."""
    kv = job.kvstore()
    if kv is None:
        return centers, counts
    H, (K, d) = len(job.hosts), centers.shape
    mine = np.zeros((H * K, d + 1), dtype=np.float32)
    mine[job.host_rank * K:(job.host_rank + 1) * K, :d] = centers
    mine[job.host_rank * K:(job.host_rank + 1) * K, d] = counts
    kv.init(0, mx.nd.zeros(mine.shape))
    kv.push(0, mx.nd.array(mine))
    out = mx.nd.zeros(mine.shape)
    kv.pull(0, out=out)
    allc = out.asnumpy()
    job.log.info("gathered %d centers from %d hosts", H * K, H)
    return allc[:, :d], allc[:, d]


def train(job):
    hp = job.hyperparameters
    k, dim = hp["k"], hp["feature_dim"]
    factor = AUTO_EXTRA_CENTER_FACTOR if hp["extra_center_factor"] == "auto" else hp["extra_center_factor"]
    trials = AUTO_LLOYD_TRIALS if hp["local_lloyd_num_trials"] == "auto" else hp["local_lloyd_num_trials"]
    train_ch = job.channel("train")
    model = MiniBatchKMeans(k * factor, dim, job.context, hp["init_method"], hp["half_life_time_size"],
                            seed=job.host_rank)
    epochs = hp["epochs"]
    start = time.time()
    seen = 0
    stopped = False
    for epoch in range(epochs):
        ssd = mx.nd.zeros((1,), ctx=job.context)
        n = 0
        for batch in train_ch.batches(hp["mini_batch_size"], dim, epoch=epoch, label_size=1):
            ssd += model.step(_dense(batch, dim))
            n += len(batch)
            if job.stop_requested():
                stopped = True
                break
        # a SIGTERM during a blocked pipe read ends the epoch with no batch to notice it above
        stopped = stopped or job.stop_requested()
        seen += n
        if n:
            job.metrics.quality("train", "msd", float(ssd.asscalar()) / n, epoch=epoch)
        job.metrics.progress((epoch + 1) / epochs)
        if stopped:
            break
    if model.centers is None:
        if stopped:
            job.log.info("stopped before any data was read: no model to save")
            return
        from training.errors import ClientError
        raise ClientError("channel train: no records for this host")
    centers, counts = _gather_centers(job, model.centers.asnumpy(), model.counts.asnumpy())
    rng = np.random.RandomState(0)
    final = lloyd.reduce(centers, counts, k, hp["local_lloyd_init_method"], hp["local_lloyd_max_iter"],
                         hp["local_lloyd_tol"], trials, rng)
    if job.is_master:
        job.save_model(MODEL_FILE, lambda path: mx.nd.save(path, [mx.nd.array(final)]))
    # the service's figure: records from the first one read to the model written
    job.metrics.throughput("train", seen / max(time.time() - start, 1e-9))
    job.log.info("trained on %d records", seen)
    test = job.channel("test")
    if test is not None and job.is_master and not stopped:
        ssd, n = _evaluate(job, test, final, hp)
        if n:
            if "msd" in hp["eval_metrics"]:
                job.metrics.quality("test", "msd", ssd / n)
            if "ssd" in hp["eval_metrics"]:
                job.metrics.quality("test", "ssd", ssd)
