"""PCA training: one pass over train (regular: scatter matrix; randomized: a sketch of it), hosts' sums
added through the kvstore, the master decomposes and writes model_algo-1; test, if given, is scored."""
import time

import mxnet as mx
import numpy as np

from containers.pca import artifact
from containers.pca.summary import (Scatter, Sketch, column_squares, column_sums, pilot_directions,
                                    random_directions)
from contract.errors import ClientError
from formats import Csr
from formats.batch import concat

DENSE_BLOCK = 1 << 22   # values per dense block: BLAS calls big enough to run at full speed
SPARSE_BLOCK = 1 << 20  # non-zeros per sparse block
MAX_ROWS = 1 << 16


def sketch_width(hp):
    """ℓ = num_components + extra_components (-1: max(10, num_components)), at most feature_dim."""
    k, extra = hp["num_components"], hp["extra_components"]
    extra = max(10, k) if extra == -1 else extra
    return min(k + extra, hp["feature_dim"])


def check(hp):
    d, k = hp["feature_dim"], hp["num_components"]
    if k > d:
        raise ClientError("hyperparameter num_components: %d is more than feature_dim %d; it must be "
                          "between 1 and feature_dim" % (k, d))
    if hp["algorithm_mode"] == "regular" and hp["extra_components"] != -1:
        raise ClientError("hyperparameter extra_components: %d is valid for algorithm_mode randomized "
                          "only; leave it out (or -1) with algorithm_mode regular" % hp["extra_components"])


def blocks(channel, hp, sparse_groups):
    """Blocks of records from one pass, sized for BLAS rather than by mini_batch_size: the sums do not
    depend on how records are cut. Hosts sharing one copy of the data split it by mini-batches, so
    then mini-batches are read and joined here."""
    d = hp["feature_dim"]
    rows = min(MAX_ROWS, max(1, DENSE_BLOCK // d))
    read = hp["mini_batch_size"] if channel.shared else max(hp["mini_batch_size"], rows)
    held, nnz, count = [], 0, 0
    for batch in channel.batches(read, d, label_size=1):
        x = batch.features
        grouped = sparse_groups and isinstance(x, Csr)
        if held and isinstance(x, Csr) != isinstance(held[0].features, Csr):
            yield concat(held).features
            held, nnz, count = [], 0, 0
        held.append(batch)
        count += len(batch)
        nnz += x.data.size if grouped else 0
        if count >= MAX_ROWS or (nnz >= SPARSE_BLOCK if grouped else count >= rows):
            yield held[0].features if len(held) == 1 else concat(held).features
            held, nnz, count = [], 0, 0
    if held:
        yield held[0].features if len(held) == 1 else concat(held).features


def _sum_over_hosts(job, arrays, first_key):
    """Element-wise sums of float64 arrays over all hosts (identity on one host)."""
    kv = job.kvstore()
    if kv is None:
        return arrays
    out = []
    for i, a in enumerate(arrays):
        key = first_key + i
        a = np.ascontiguousarray(a, dtype=np.float64)
        kv.init(key, mx.nd.zeros(a.shape, dtype=np.float64))
        kv.push(key, mx.nd.array(a, dtype=np.float64))
        total = mx.nd.zeros(a.shape, dtype=np.float64)
        kv.pull(key, out=total)
        out.append(total.asnumpy())
    return out


def agreed_shift(job, first, d):
    """The shift every host subtracts: the mean of the hosts' first blocks where some feature's mean is
    larger than its spread there (float32 products of such data lose the centred part), else 0."""
    if first is None:
        stats = [np.zeros(d), np.zeros(d), np.zeros(1)]
    else:
        stats = [column_sums(first), column_squares(first), np.array([float(first.shape[0])])]
    colsum, colsq, count = _sum_over_hosts(job, stats, first_key=0)
    if not count[0]:
        return np.zeros(d)
    mean = colsum / count[0]
    var = np.maximum(colsq / count[0] - mean ** 2, 0.0)
    return mean if np.any(mean ** 2 > var) else np.zeros(d)


def score(channel, hp, mean, v):
    """Records, mean squared reconstruction error and share of variance kept, on a channel."""
    n, resid, total = 0, 0.0, 0.0
    for x in blocks(channel, hp, sparse_groups=False):  # rows bounded: sparse blocks are densified
        xc = (x.toarray() if isinstance(x, Csr) else x) - mean
        p = xc @ v
        sq = float(np.einsum("ij,ij->", xc, xc, dtype=np.float64))
        resid += sq - float(np.einsum("ij,ij->", p, p, dtype=np.float64))
        total += sq
        n += x.shape[0]
    return n, resid / max(n, 1), (1 - resid / total) if total else 0.0


def train(job):
    hp = job.hyperparameters
    check(hp)
    d, k, mode = hp["feature_dim"], hp["num_components"], hp["algorithm_mode"]
    start = time.time()
    stream = blocks(job.channel("train"), hp, sparse_groups=mode == "randomized")
    first = next(stream, None)
    shift = agreed_shift(job, first, d) if hp["subtract_mean"] else np.zeros(d)
    if mode == "regular":
        summary = Scatter(d, shift)
    else:
        width = sketch_width(hp)
        omega = random_directions(d, width)
        pilot = Sketch(d, shift, omega)
        if first is not None:
            pilot.add(first)
        (total,) = _sum_over_hosts(job, [pilot.total()], first_key=3)
        summary = Sketch(d, shift, pilot_directions(omega, total))
        job.log.info("randomized mode: sketch of %d x %d", d, width)
    stopped = False
    if first is not None:
        summary.add(first)
        for x in stream:
            summary.add(x)
            if job.stop_requested():
                stopped = True
                break
    stopped = stopped or job.stop_requested()
    seen = summary.n
    summary.set_state(_sum_over_hosts(job, summary.state(), first_key=4))
    if summary.n == 0:
        if stopped:
            job.log.info("stopped before any data was read: no model to save")
            return
        raise ClientError("channel train: no records")
    mean, s, v = summary.components(k, hp["subtract_mean"])
    if job.is_master:
        job.save_model(artifact.MODEL_FILE, lambda path: artifact.save(path, mean, s, v))
    job.metrics.progress(1.0)
    # the service's figure: records from the first one read to the model written
    job.metrics.throughput("train", seen / max(time.time() - start, 1e-9))
    job.log.info("trained on %d records (%d on all hosts); singular values, ascending: %s",
                 seen, summary.n, np.array2string(s, precision=4))
    test = job.channel("test")
    if test is not None and job.is_master and not stopped:
        n, msre, kept = score(test, hp, mean, v)
        # the guide names no PCA metric, so this is a log line, not a #quality_metric
        job.log.info("test: %d records, mean squared reconstruction error %r, variance kept %r",
                     n, msre, kept)
