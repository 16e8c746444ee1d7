"""Serving speed through the real `serve` program: one-record latency, keep-alive throughput on
2 workers, and a MULTI_RECORD batch of 6 MB of CSV answered in JSON Lines.

usage: PYTHONPATH=tests python benchmarks/serving.py [--algorithm kmeans] [--features 100]
"""
import argparse
import http.client
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

BIN = os.path.dirname(sys.executable)


def make_model(algorithm, base, features):
    """A model for the algorithm, trained by the real `train` program on random data."""
    from helpers import job_dir, run_train
    from formats import rioproto
    rng = np.random.RandomState(0)
    X = rng.rand(2000, features).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(np.float32)
    if algorithm == "kmeans":
        hp = {"k": 10, "feature_dim": features}
        ctype, data = "application/x-recordio-protobuf", rioproto.encode_dense(X, y)
    elif algorithm == "linear-learner":
        hp = {"predictor_type": "binary_classifier", "feature_dim": features, "epochs": 1}
        ctype, data = "application/x-recordio-protobuf", rioproto.encode_dense(X, y)
    elif algorithm == "xgboost":
        hp = {"num_round": 10, "objective": "binary:logistic"}
        ctype = "text/csv"
        data = ("\n".join(",".join("%g" % v for v in [l] + list(r)) for r, l in zip(X, y)) + "\n").encode()
    else:
        raise SystemExit("no recipe for %s" % algorithm)
    job_dir(base, hp, {"train": {"content_type": ctype, "files": {"data": data}}})
    r = run_train(base, algorithm)
    if r.rc != 0:
        raise SystemExit(r.log)


def csv_rows(n, features, seed=1):
    X = np.random.RandomState(seed).rand(n, features) * 100
    return "\n".join(",".join("%.6g" % v for v in row) for row in X).encode() + b"\n"


def _client(port, body, seconds, q):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    n = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        conn.request("POST", "/invocations", body, {"Content-Type": "text/csv"})
        r = conn.getresponse()
        r.read()
        assert r.status == 200
        n += 1
    q.put(n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--algorithm", default="kmeans")
    ap.add_argument("--features", type=int, default=100)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=5)
    args = ap.parse_args()
    base = tempfile.mkdtemp()
    make_model(args.algorithm, base, args.features)
    port = 8000 + os.getpid() % 1000
    env = dict(os.environ, SAGEMAKER_BASE_DIR=base, ALGORITHM=args.algorithm, SAGEMAKER_BIND_TO_PORT=str(port),
               SAGEMAKER_MODEL_SERVER_WORKERS="2", SAGEMAKER_MAX_PAYLOAD_IN_MB="20")
    t0 = time.perf_counter()
    server = subprocess.Popen([os.path.join(BIN, "serve")], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/ping")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.05)
        print("serve start to first 200 on /ping: %.2f s" % (time.perf_counter() - t0))
        one = csv_rows(1, args.features)
        conn = http.client.HTTPConnection("127.0.0.1", port)
        lat = []
        for i in range(1200):
            t = time.perf_counter()
            conn.request("POST", "/invocations", one, {"Content-Type": "text/csv"})
            r = conn.getresponse()
            r.read()
            lat.append(time.perf_counter() - t)
        lat = np.array(lat[200:]) * 1000
        print("one CSV record, keep-alive, sequential: p50 %.2f ms, p99 %.2f ms" %
              (np.percentile(lat, 50), np.percentile(lat, 99)))
        q = multiprocessing.Queue()
        procs = [multiprocessing.Process(target=_client, args=(port, one, args.seconds, q))
                 for _ in range(args.clients)]
        for p in procs:
            p.start()
        total = sum(q.get() for _ in procs)
        for p in procs:
            p.join()
        print("throughput, %d keep-alive clients, 2 workers: %.0f requests/s" % (args.clients, total / args.seconds))
        big = csv_rows(int(6e6 / (len(one))), args.features, seed=2)
        times = []
        for i in range(6):
            t = time.perf_counter()
            conn.request("POST", "/invocations", big, {"Content-Type": "text/csv", "Accept": "application/jsonlines"})
            r = conn.getresponse()
            out = r.read()
            times.append(time.perf_counter() - t)
            assert r.status == 200 and out.count(b"\n") == big.count(b"\n")
        best = np.median(times[1:])
        print("MULTI_RECORD %.1f MB CSV (%d rows) -> JSON Lines: median %.0f ms (%.0f MB/s)" %
              (len(big) / 1e6, big.count(b"\n"), best * 1000, len(big) / 1e6 / best))
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
