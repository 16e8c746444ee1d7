"""PCA training speed through the real `train` program (File mode, recordIO-protobuf).

1. Regular mode on 1,000,000 x 100 dense records, num_components=10, mini_batch_size=500 (what the
   official client sends): the train program's own #throughput_metric (records from the first one read
   to the model written), the process's wall time, and scikit-learn's PCA(n_components=10).fit on the
   same matrix in memory, run side by side.
2. Randomized mode on 200,000 x 10,000 sparse records (0.1% non-zeros): throughput and peak memory
   against the ℓ x d sketch and against the d x d scatter matrix regular mode would need.

usage: python benchmarks/pca.py [--records 1000000] [--sparse-records 200000] [--rounds 1]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

from helpers import job_dir, program, train_env
from formats import recordio, rioproto
from formats.record_pb import Record


def dense_data(n, d, path):
    """Rank-20 signal plus noise, offset from 0, float32 records as the official client writes them."""
    if not os.path.exists(path):
        rng = np.random.RandomState(0)
        W = rng.randn(20, d)
        with open(path + ".tmp", "wb") as f:
            for s in range(0, n, 100000):
                m = min(100000, n - s)
                f.write(rioproto.encode_dense((rng.randn(m, 20) @ W + 0.5 * rng.randn(m, d) + 3)
                                              .astype(np.float32)))
        os.replace(path + ".tmp", path)
    return path


def sparse_data(n, d, density, path):
    if not os.path.exists(path):
        rng = np.random.RandomState(1)
        per_row = max(1, int(round(d * density)))
        rec = Record()
        with open(path + ".tmp", "wb") as f:
            for s in range(0, n, 10000):
                payloads = []
                for _ in range(min(10000, n - s)):
                    rec.Clear()
                    t = rec.features["values"].float32_tensor
                    t.keys.extend(np.sort(rng.choice(d, per_row, replace=False)).tolist())
                    t.values.extend(rng.rand(per_row).astype(np.float32).tolist())
                    t.shape.append(d)
                    payloads.append(rec.SerializeToString())
                f.write(recordio.encode_all(payloads))
        os.replace(path + ".tmp", path)
    return path


def run_train(hp, path):
    base = tempfile.mkdtemp(prefix="pca-bench-")
    job_dir(base, hp, {"train": {"content_type": "application/x-recordio-protobuf"}})
    os.symlink(path, os.path.join(base, "input", "data", "train", "data.pbr"))
    # a launcher per run, so the peak memory reported is this train process's own
    launcher = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:]); "
                "print('peak_rss_kb=%d' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", launcher, program("train")], env=train_env(base, "pca"),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t
    log = p.stdout.decode()
    assert p.returncode == 0, log[-3000:]
    assert "training finished" in log, log[-3000:]
    (tp,) = re.findall(r"train throughput=(\S+) records/second", log)
    (rss,) = re.findall(r"peak_rss_kb=(\d+)", log)
    return float(tp), wall, int(rss) / 1024


def sklearn_fit(path, d):
    from sklearn.decomposition import PCA
    X = rioproto.decode(open(path, "rb").read(), d).features
    t = time.perf_counter()
    PCA(n_components=10).fit(X)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--sparse-records", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    n, d = args.records, 100
    path = dense_data(n, d, "/tmp/pca-bench-dense-%dx%d.rec" % (n, d))
    print("dense data: %s (%.0f MB)" % (path, os.path.getsize(path) / 1e6))
    hp = {"feature_dim": d, "num_components": 10, "mini_batch_size": 500}
    for r in range(args.rounds):
        tp, wall, rss = run_train(hp, path)
        fit = sklearn_fit(path, d)
        print("round %d regular: %.0f records/s first record to model (%.2f s), train process wall %.2f s; "
              "sklearn PCA(n_components=10).fit on the in-memory matrix %.2f s; ratio ours/sklearn: "
              "%.2f (first record to model), %.2f (whole process); train peak RSS %.0f MB"
              % (r, tp, n / tp, wall, fit, n / tp / fit, wall / fit, rss))
    if args.sparse_records:
        ns, ds = args.sparse_records, 10000
        spath = sparse_data(ns, ds, 0.001, "/tmp/pca-bench-sparse-%dx%d.rec" % (ns, ds))
        print("sparse data: %s (%.0f MB)" % (spath, os.path.getsize(spath) / 1e6))
        hp = {"feature_dim": ds, "num_components": 10, "mini_batch_size": 500, "algorithm_mode": "randomized"}
        tp, wall, rss = run_train(hp, spath)
        ell = 20
        print("randomized sparse: %.0f records/s first record to model, train process wall %.2f s, peak RSS "
              "%.0f MB; sketch ℓ x d = %d x %d float64 = %.1f MB (a d x d scatter would be %.0f MB)"
              % (tp, wall, rss, ell, ds, ell * ds * 8 / 1e6,
                 ds * ds * 8 / 1e6))


if __name__ == "__main__":
    main()
