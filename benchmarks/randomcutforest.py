"""Random Cut Forest speed, side by side with krcf (a Rust port of AWS's RCF):

1. training through the real `train` program on 1,000,000 x 10 dense recordIO records (File mode,
   defaults: 100 trees x 256 samples): the program's own #throughput_metric (one sampling pass);
2. scoring a 10,000-row batch with 100 trees x 256 samples: our scorer in process (all cores, and
   one thread), the same batch through `serve` over HTTP (CSV in, JSON out), and krcf's score() on a
   forest of the same size fed the same data, one row at a time (its only API);
3. one-record latency through `serve` (p50 / p99 over --requests requests on one keep-alive connection).

usage: python benchmarks/randomcutforest.py [--records 1000000] [--batch 10000] [--dim 10]
"""
import argparse
import os
import re
import subprocess
import tempfile
import time

import numpy as np
import requests

from helpers import job_dir, program, served, train_env
from formats import rioproto
from containers.randomcutforest import artifact
from containers.randomcutforest.scoring import Scorer

ALGO = "randomcutforest"


def mixture(n, d, seed):
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(99).uniform(-6, 6, (3, d))
    X = centers[rng.integers(0, 3, n)] + rng.normal(0, 1, (n, d))
    at = rng.choice(n, n // 100, replace=False)
    X[at] = rng.uniform(-10, 10, (len(at), d))
    return X.astype(np.float32)


def data(n, d, path):
    if not os.path.exists(path):
        with open(path + ".tmp", "wb") as f:
            for s in range(0, n, 100000):
                f.write(rioproto.encode_dense(mixture(min(100000, n - s), d, s)))
        os.replace(path + ".tmp", path)
    return path


def train(n, d, path):
    base = tempfile.mkdtemp()
    job_dir(base, {"feature_dim": d, "num_trees": 100, "num_samples_per_tree": 256, "mini_batch_size": 1000},
            {"train": {"content_type": "application/x-recordio-protobuf", "distribution": "ShardedByS3Key"}})
    os.symlink(path, os.path.join(base, "input", "data", "train", "data.rec"))
    t = time.perf_counter()
    p = subprocess.run([program("train")], env=train_env(base, ALGO), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t
    log = p.stdout.decode()
    assert p.returncode == 0, log
    (tp,) = re.findall(r"train throughput=(\S+) records/second", log)
    return base, float(tp), wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--batch", type=int, default=10000)
    ap.add_argument("--dim", type=int, default=10)
    ap.add_argument("--krcf-rows", type=int, default=2000, help="rows krcf scores (its rate is per row)")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    d = args.dim
    print("load: %s" % open("/proc/loadavg").read().strip(), "| cpus:", os.cpu_count())
    path = data(args.records, d, "/tmp/rcf-bench-%d-%d.rec" % (args.records, d))
    base, tp, wall = train(args.records, d, path)
    print("training: %d x %d records: %.0f records/s (#throughput_metric, one sampling pass); "
          "process wall %.1f s" % (args.records, d, tp, wall))

    forest, _ = artifact.load(os.path.join(base, "model", artifact.MODEL_FILE))
    X = mixture(args.batch, d, 12345)
    import krcf
    kf = krcf.RandomCutForest({"dimensions": d, "shingle_size": 1, "num_trees": 100, "sample_size": 256,
                               "output_after": 1, "random_seed": 1, "lambda": 0.0})
    for row in mixture(30000, d, 7).astype(np.float64):
        kf.update(row)
    K = X[:args.krcf_rows].astype(np.float64)
    scorers = {"ours": Scorer(forest), "ours1": Scorer(forest, threads=1)}
    body = ("\n".join(",".join("%.7g" % v for v in r) for r in X) + "\n").encode()
    one = body.split(b"\n", 1)[0] + b"\n"
    best = {}
    cpu = {}

    def timed(name, fn, n):
        c, t = time.process_time(), time.perf_counter()
        fn()
        wall, used = time.perf_counter() - t, time.process_time() - c
        best[name] = max(best.get(name, 0), n / wall)
        cpu[name] = max(cpu.get(name, 0), n / used)

    with served(base, ALGO, env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}) as server:
        server.post(one, "text/csv").raise_for_status()
        # interleaved rounds: the machine is shared, each figure is the best of its rounds
        for _ in range(args.rounds):
            timed("ours", lambda: scorers["ours"].scores(X), len(X))
            timed("ours1", lambda: scorers["ours1"].scores(X), len(X))
            timed("krcf", lambda: [kf.score(r) for r in K], len(K))
            timed("http", lambda: server.post(body, "text/csv").raise_for_status(), len(X))
        lat = []
        sess = requests.Session()  # one keep-alive connection, as the platform's front end holds
        for _ in range(args.requests):
            t = time.perf_counter()
            sess.post(server.url + "/invocations", data=one, headers={"Content-Type": "text/csv"}).raise_for_status()
            lat.append(time.perf_counter() - t)
        sess.close()
    ours, ours1, theirs, http = best["ours"], best["ours1"], best["krcf"], best["http"]
    print("scoring %d rows, 100 trees x 256 samples, d=%d:" % (len(X), d))
    print("  ours in process: %.0f records/s (%d threads), %.0f records/s (1 thread); per CPU-second: %.0f"
          % (ours, os.cpu_count(), ours1, cpu["ours1"]))
    print("  ours through serve (CSV in, JSON out, one worker): %.0f records/s" % http)
    print("  krcf score(), one row at a time: %.0f records/s; per CPU-second: %.0f" % (theirs, cpu["krcf"]))
    print("  ratio ours/krcf: %.1fx (in process, all threads), %.1fx (1 thread), %.1fx per CPU-second"
          % (ours / theirs, ours1 / theirs, cpu["ours1"] / cpu["krcf"]))
    print("one-record latency through serve (keep-alive): p50 %.2f ms, p99 %.2f ms"
          % (1e3 * np.percentile(lat, 50), 1e3 * np.percentile(lat, 99)))
    print("load: %s" % open("/proc/loadavg").read().strip())


if __name__ == "__main__":
    main()
