"""k-NN speed, through the real `train` and `serve` programs, side by side with FAISS called directly.

1. Training: 1,000,000 x 100 dense recordIO records (File mode, labels in label["values"]) into a
   faiss.Flat index of sample_size 200,000: the train program's own #throughput_metric (records from
   the first one read to the model written), and the process's wall time.
2. Serving, on that model (the serve program splits a large flat index into one FAISS shard per
   core): a 5,000-row CSV batch, queries/s over HTTP, against faiss.read_index(model_algo-1).search on
   the same 5,000 rows in this process with one OpenMP thread and with one per core (the ratio is to
   the faster), alternated round by round.
3. One record: p50 / p90 of single-row CSV requests on one keep-alive connection, with FAISS's own one-query search time on the
   read index beside it (one thread whatever the setting: FAISS parallelises over queries).

usage: python benchmarks/knn.py [--records 1000000] [--sample-size 200000] [--batch 5000] [--rounds 2]
                                [--singles 200]
"""
import argparse
import http.client
import os
import re
import subprocess
import tempfile
import time

import numpy as np

from helpers import job_dir, program, served, train_env
from formats import rioproto

D = 100


def data(n, path):
    """n rows around 10 centres, label = centre, written once and reused."""
    if not os.path.exists(path):
        rng = np.random.RandomState(0)
        centers = rng.rand(10, D) * 10
        with open(path + ".tmp", "wb") as f:
            for s in range(0, n, 100000):
                m = min(100000, n - s)
                c = rng.randint(0, 10, m)
                f.write(rioproto.encode_dense((centers[c] + rng.randn(m, D)).astype(np.float32), c))
        os.replace(path + ".tmp", path)
    return path


def queries(n):
    rng = np.random.RandomState(1)
    centers = np.random.RandomState(0).rand(10, D) * 10
    return (centers[rng.randint(0, 10, n)] + rng.randn(n, D)).astype(np.float32)


def train(base, path, sample_size):
    job_dir(base, {"feature_dim": D, "k": 10, "predictor_type": "classifier", "sample_size": sample_size},
            {"train": {"content_type": "application/x-recordio-protobuf"}})
    os.symlink(path, os.path.join(base, "input", "data", "train", "data.rec"))
    t = time.perf_counter()
    p = subprocess.Popen([program("train")], env=train_env(base, "knn"), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    log = p.stdout.read().decode()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    assert os.waitstatus_to_exitcode(status) == 0, log[-3000:]
    (tp,) = re.findall(r"train throughput=(\S+) records/second", log)
    return float(tp), wall, usage.ru_utime + usage.ru_stime


def csv_body(X):
    return "".join(",".join("%.6g" % v for v in r) + "\n" for r in X).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--sample-size", type=int, default=200000)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--singles", type=int, default=200)
    args = ap.parse_args()
    path = data(args.records, "/tmp/knn-bench-%d.rec" % args.records)
    print("data: %s (%.0f MB), load: %s" % (path, os.path.getsize(path) / 1e6,
                                            open("/proc/loadavg").read().strip()))
    base = tempfile.mkdtemp(prefix="knn-bench-")
    tp, wall, cpu = train(base, path, args.sample_size)
    print("training: %.0f records/s (#throughput_metric), process wall %.1f s, CPU %.1f s (user+sys, all"
          " threads), %d records into faiss.Flat of %d" % (tp, wall, cpu, args.records, args.sample_size))

    import faiss
    cpus = len(os.sched_getaffinity(0))
    index = faiss.read_index(os.path.join(base, "model", "model_algo-1"))
    Q = queries(args.batch)
    body = csv_body(Q)
    with served(base, "knn", timeout=120) as server:
        server.post(csv_body(Q[:100]), "text/csv")  # the worker's first request loads the CSV reader
        for r in range(args.rounds):
            t = time.perf_counter()
            resp = server.post(body, "text/csv", "application/json")
            over_http = time.perf_counter() - t
            assert resp.status_code == 200, resp.text[:500]
            assert len(resp.json()["predictions"]) == args.batch
            direct = {}
            for threads in sorted({1, cpus}):
                faiss.omp_set_num_threads(threads)
                t = time.perf_counter()
                index.search(Q, 10)
                direct[threads] = time.perf_counter() - t
            best = min(direct.values())
            print("round %d: %d-row CSV batch over HTTP %.0f queries/s; faiss search direct %s; ratio to the"
                  " best direct %.2f" % (r, args.batch, args.batch / over_http,
                                         ", ".join("%.0f queries/s with %d OpenMP thread(s)" % (args.batch / v, k)
                                                   for k, v in direct.items()), best / over_http))
        one = [csv_body(Q[i:i + 1]) for i in range(args.singles)]
        # one keep-alive connection, as the platform's front end holds to a model container
        conn = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]))

        def post(b):
            conn.request("POST", "/invocations", body=b, headers={"Content-Type": "text/csv",
                                                                  "Accept": "application/json"})
            r = conn.getresponse()
            r.read()
            return r.status

        for b in one[:10]:
            post(b)
        # one query runs in one FAISS thread whatever the setting; with more, the idle OpenMP threads of
        # this process spin after each search and take the cores the server's shards run on
        faiss.omp_set_num_threads(1)
        # in alternating blocks of 50: a FAISS search in this process right after each request slowed both
        # (two processes each streaming an 80 MB table through the same memory bus, call by call)
        times, direct = [], []
        for start in range(0, len(one), 50):
            for b in one[start:start + 50]:
                t = time.perf_counter()
                status = post(b)
                times.append(time.perf_counter() - t)
                assert status == 200
            for i in range(start, min(start + 50, len(one))):
                t = time.perf_counter()
                index.search(Q[i:i + 1], 10)
                direct.append(time.perf_counter() - t)
        ms = np.array(times) * 1e3
        conn.close()
        print("one record over HTTP (keep-alive): p50 %.2f ms, p90 %.2f ms; faiss one-query search direct p50 %.2f ms"
              % (np.percentile(ms, 50), np.percentile(ms, 90), np.median(direct) * 1e3))
    print("load after: %s" % open("/proc/loadavg").read().strip())


if __name__ == "__main__":
    main()
