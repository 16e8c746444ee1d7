"""K-Means training speed through the real `train` program on 1,000,000 x 100 dense recordIO records
(File mode, k=10, one epoch, mini_batch_size=5000), and with extra_center_factor=1 against
scikit-learn's MiniBatchKMeans on the same matrix in memory, run side by side.

Throughput is the train program's own #throughput_metric: records from the first record read to the
model written. usage: PYTHONPATH=tests python benchmarks/kmeans.py [--records 1000000] [--rounds 2]
"""
import argparse
import os
import re
import subprocess
import tempfile
import time

import numpy as np

from formats import rioproto
from helpers import job_dir, train_env, program


def data(n, d, path):
    if not os.path.exists(path):
        rng = np.random.RandomState(0)
        centers = rng.rand(10, d) * 10
        with open(path + ".tmp", "wb") as f:
            for s in range(0, n, 100000):
                m = min(100000, n - s)
                X = (centers[rng.randint(0, 10, m)] + rng.randn(m, d)).astype(np.float32)
                f.write(rioproto.encode_dense(X))
        os.replace(path + ".tmp", path)
    return path


def run_train(base, hp, path):
    job_dir(base, hp, {"train": {"content_type": "application/x-recordio-protobuf"}})
    link = os.path.join(base, "input", "data", "train", "data.rec")
    if not os.path.exists(link):
        os.symlink(path, link)
    t = time.perf_counter()
    p = subprocess.run([program("train")], env=train_env(base, "kmeans"), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t
    log = p.stdout.decode()
    assert p.returncode == 0, log
    (tp,) = re.findall(r"train throughput=(\S+) records/second", log)
    return float(tp), wall


def sklearn_minibatch(path, n, d):
    from sklearn.cluster import MiniBatchKMeans
    X = rioproto.decode(open(path, "rb").read(), d).features
    t = time.perf_counter()
    MiniBatchKMeans(n_clusters=10, batch_size=5000, max_iter=1, n_init=1, init="random",
                    random_state=0).fit(X)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    n, d = args.records, 100
    path = data(n, d, "/tmp/kmeans-bench-%d.rec" % n)
    print("data: %s (%.0f MB)" % (path, os.path.getsize(path) / 1e6))
    hp = {"k": 10, "feature_dim": d, "epochs": 1, "mini_batch_size": 5000}
    for r in range(args.rounds):
        tp, wall = run_train(tempfile.mkdtemp(), hp, path)
        tp1, wall1 = run_train(tempfile.mkdtemp(), dict(hp, extra_center_factor=1), path)
        fit = sklearn_minibatch(path, n, d)
        ours1 = n / tp1
        print("round %d: defaults %.0f records/s (process wall %.1f s); extra_center_factor=1: %.2f s "
              "first record to model; sklearn MiniBatchKMeans(max_iter=1) fit on the in-memory matrix: "
              "%.2f s; ratio ours/sklearn %.2f" % (r, tp, wall, ours1, fit, ours1 / fit))


if __name__ == "__main__":
    main()
