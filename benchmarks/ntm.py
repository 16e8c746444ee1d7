"""NTM training speed: the real `train` program against a plain Gluon loop of the same network.

Data: documents from a 20-topic model over a 10,000-word vocabulary (about 100 tokens each), written
as sparse recordIO (the official client's write_spmatrix_to_sparse_tensor layout), cached in /tmp.
`train`: one epoch, File mode, encoder_layers [60, 40], mini_batch_size 256 and the default optimizer
(adadelta): documents/second from its own #throughput_metric (reading, decoding and metrics included).
Baseline: the same network (containers.ntm.network.NTM) and optimizer, the same documents already in
memory as MXNet CSR batches, a bare record/backward/step loop: documents/second. The ratio
train / baseline is the issue's bound (>= 0.8).

usage: PYTHONPATH=.:tests python benchmarks/ntm.py [--docs 100000] [--vocab 10000] [--topics 20]
       [--length 100] [--batch 256]
"""
import argparse
import os
import re
import subprocess
import tempfile
import time

import numpy as np

from formats import recordio
from formats.record_pb import Record
from helpers import job_dir, program, train_env

ALGO = "ntm"


def corpus(n, V, K, length, seed=0):
    """CSR (data, indices, indptr) of n documents: topic per token from Dirichlet(0.1) mixtures, word
    from the topic's Dirichlet(0.05) distribution, all tokens drawn at once."""
    rng = np.random.default_rng(seed)
    beta = rng.dirichlet([0.05] * V, K)
    theta = rng.dirichlet([0.1] * K, n)
    lengths = rng.poisson(length, n) + 5
    doc = np.repeat(np.arange(n), lengths)
    tcdf = np.cumsum(theta, axis=1)
    tcdf[:, -1] = 1.0
    z = np.searchsorted((tcdf + np.arange(n)[:, None]).ravel(), rng.random(len(doc)) + doc, side="right") - doc * K
    z = np.clip(z, 0, K - 1)
    wcdf = np.cumsum(beta, axis=1)
    wcdf[:, -1] = 1.0
    w = np.searchsorted((wcdf + np.arange(K)[:, None]).ravel(), rng.random(len(doc)) + z, side="right") - z * V
    w = np.clip(w, 0, V - 1)
    key = doc.astype(np.int64) * V + w
    uniq, cnt = np.unique(key, return_counts=True)
    rows, cols = uniq // V, uniq % V
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return cnt.astype(np.float32), cols.astype(np.int64), indptr


def write(path, data, indices, indptr, V):
    if os.path.exists(path):
        return
    rec = Record()
    with open(path + ".tmp", "wb") as f:
        payloads = []
        for i in range(len(indptr) - 1):
            lo, hi = indptr[i], indptr[i + 1]
            rec.Clear()
            t = rec.features["values"].float32_tensor
            t.values.extend(data[lo:hi].tolist())
            t.keys.extend(indices[lo:hi].tolist())
            t.shape.append(V)
            payloads.append(rec.SerializeToString())
            if len(payloads) == 20000:
                f.write(recordio.encode_all(payloads))
                payloads = []
        f.write(recordio.encode_all(payloads))
    os.replace(path + ".tmp", path)


def baseline(data, indices, indptr, V, K, layers, batch):
    """One epoch of the bare loop over in-memory batches (CSR, positions, counts: what the network
    takes, built before the clock starts): documents/second."""
    import mxnet as mx
    from mxnet import autograd, gluon
    from containers.ntm.counts import Docs
    from containers.ntm.network import NTM
    from formats import Csr
    mx.random.seed(1)
    net = NTM(V, K, layers)
    net.collect_params().initialize(ctx=mx.cpu())
    trainer = gluon.Trainer(net.collect_params(), mx.optimizer.create("adadelta"), kvstore="device")
    n = len(indptr) - 1
    batches = []
    for s in range(0, n, batch):
        e = min(s + batch, n)
        lo, hi = indptr[s], indptr[e]
        docs = Docs(Csr(data[lo:hi], indices[lo:hi], indptr[s:e + 1] - lo, (e - s, V)), V, [mx.cpu()])
        batches.append((docs.parts[0], e - s))
    mx.nd.waitall()
    t = time.time()
    for part, m in batches:
        with autograd.record():
            rec, kl = net(part)
            loss = rec + kl
        loss.backward()
        trainer.step(m)
    mx.nd.waitall()
    return n / (time.time() - t)


def run_train(path, V, K, layers, batch):
    with tempfile.TemporaryDirectory() as base:
        hp = {"feature_dim": V, "num_topics": K, "encoder_layers": str(layers), "epochs": 1, "mini_batch_size": batch}
        job_dir(base, hp, {"train": {"content_type": "application/x-recordio-protobuf"}})
        os.symlink(path, os.path.join(base, "input", "data", "train", "docs.rec"))
        t = time.time()
        p = subprocess.run([program("train")], env=train_env(base, ALGO), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        wall = time.time() - t
        log = p.stdout.decode("utf-8", "replace")
        if p.returncode != 0:
            raise SystemExit(log[-3000:])
    rate = float(re.findall(r"train throughput=(\S+) records/second", log)[-1])
    return rate, wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=100000)
    ap.add_argument("--vocab", type=int, default=10000)
    ap.add_argument("--topics", type=int, default=20)
    ap.add_argument("--length", type=int, default=100)
    ap.add_argument("--batch", type=int, default=256)
    a = ap.parse_args()
    layers = [60, 40]
    data, indices, indptr = corpus(a.docs, a.vocab, a.topics, a.length)
    path = "/tmp/ntm-bench-%d-%d-%d-%d.rec" % (a.docs, a.vocab, a.topics, a.length)
    write(path, data, indices, indptr, a.vocab)
    print("%d documents, vocabulary %d, %d topics, %.1f distinct words/document, %.1f MB recordIO"
          % (a.docs, a.vocab, a.topics, len(data) / a.docs, os.path.getsize(path) / 1e6))
    base = baseline(data, indices, indptr, a.vocab, a.topics, layers, a.batch)
    ours, wall = run_train(path, a.vocab, a.topics, layers, a.batch)
    print("plain Gluon loop, in memory:   %10.0f documents/s" % base)
    print("train (File, recordIO sparse): %10.0f documents/s  (whole process %.1fs)" % (ours, wall))
    print("ratio train / plain loop:      %10.2f  (issue: >= 0.8)" % (ours / base))


if __name__ == "__main__":
    main()
