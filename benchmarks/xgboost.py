"""XGBoost speed figures: `train` vs a plain xgboost.train script on the same 1,000,000 x 50 CSV, side by
side, then serving a 6 MB CSV batch and one-record latency. Prints figures; asserts nothing.
--libsvm adds the same data as a 1-based libsvm file (the common kind, which `train` detects and reads
as xgboost's parser does with indexing_mode=1) against a script loading it that way.

    PYTHONPATH=tests python benchmarks/xgboost.py [--rows 1000000] [--rounds 10] [--repeat 2] [--libsvm]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from helpers import job_dir, served, train_env, program

DATA_DIR = "/tmp/xgb_bench"
FEATURES = 50

BASELINE = r'''
import sys, time, xgboost as xgb
t = time.time()
d = xgb.DMatrix(sys.argv[1] + ("?format=libsvm&indexing_mode=1" if sys.argv[1].endswith(".libsvm")
                               else "?format=csv&label_column=0"))
params = {"objective": "binary:logistic", "alpha": 1.0, "base_score": 0.5, "seed": 0, "eta": 0.3,
          "max_depth": 6, "tree_method": "auto", "max_bin": 256}
bst = xgb.train(params, d, int(sys.argv[2]), evals=[(d, "train")], verbose_eval=True)
bst.save_raw("ubj")
'''


def make_data(rows):
    path = os.path.join(DATA_DIR, "train-%d.csv" % rows)
    if os.path.exists(path):
        return path
    os.makedirs(DATA_DIR, exist_ok=True)
    rng = np.random.RandomState(0)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for start in range(0, rows, 100000):
            n = min(100000, rows - start)
            X = rng.randn(n, FEATURES).astype(np.float32)
            y = ((X[:, 0] + X[:, 1] * X[:, 2] + 0.3 * rng.randn(n)) > 0).astype(np.float32)
            np.savetxt(f, np.hstack([y[:, None], X]), fmt="%.6g", delimiter=",")
    os.replace(tmp, path)
    return path


def make_libsvm(csv_path):
    path = csv_path[:-4] + ".libsvm"
    if os.path.exists(path):
        return path
    tmp = path + ".tmp"
    with open(csv_path) as src, open(tmp, "w") as out:
        for line in src:
            vals = line.rstrip("\n").split(",")
            out.write(vals[0] + " " + " ".join("%d:%s" % (j, v) for j, v in enumerate(vals[1:], 1)) + "\n")
    os.replace(tmp, path)
    return path


def time_baseline(path, rounds):
    t = time.time()
    subprocess.run([sys.executable, "-c", BASELINE, path, str(rounds)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.time() - t


def time_train(base, rounds, path, ctype="text/csv"):
    job_dir(base, {"num_round": rounds, "objective": "binary:logistic"},
            {"train": {"content_type": ctype, "files": {}}})
    link = os.path.join(base, "input", "data", "train", "train.data")
    if not os.path.exists(link):
        os.symlink(path, link)
    t = time.time()
    p = subprocess.run([program("train")], env=train_env(base, "xgboost"), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    elapsed = time.time() - t
    if p.returncode != 0:
        raise SystemExit(p.stdout.decode()[-3000:])
    return elapsed


def serving(base, path):
    with open(path, "rb") as f:
        head = f.read(7 << 20)
    lines = head.split(b"\n")
    body, size = [], 0
    for line in lines[:-1]:
        row = line.split(b",", 1)[1] + b"\n"  # serving CSV has no label column
        if size + len(row) > 6_000_000:
            break
        body.append(row)
        size += len(row)
    batch = b"".join(body)
    one = body[0]
    with served(base, "xgboost", timeout=120) as s:
        s.post(batch, "text/csv")
        big = []
        for _ in range(5):
            t = time.perf_counter()
            r = s.post(batch, "text/csv", "text/csv")
            big.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
        import requests
        sess = requests.Session()
        small = []
        for _ in range(300):
            t = time.perf_counter()
            r = sess.post(s.url + "/invocations", data=one, headers={"Content-Type": "text/csv"})
            small.append(time.perf_counter() - t)
        assert r.status_code == 200
    return len(batch), len(body), big, small


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--libsvm", action="store_true")
    args = ap.parse_args()
    path = make_data(args.rows)
    mb = os.path.getsize(path) / 1e6
    print("data: %s, %d x %d, %.0f MB" % (path, args.rows, FEATURES, mb))
    base = tempfile.mkdtemp(prefix="xgb-bench-")
    ours, theirs = [], []
    for i in range(args.repeat):  # interleaved, so load from elsewhere hits both alike
        theirs.append(time_baseline(path, args.rounds))
        ours.append(time_train(base, args.rounds, path))
        print("run %d: plain xgboost.train script %.2fs, train %.2fs" % (i, theirs[-1], ours[-1]))
    b, o = min(theirs), min(ours)
    print("train end to end: %.2fs vs plain script %.2fs -> ratio %.3f (target <= 1.1)" % (o, b, o / b))
    if args.libsvm:
        lpath = make_libsvm(path)
        lbase = tempfile.mkdtemp(prefix="xgb-bench-libsvm-")
        lo, lt = [], []
        for i in range(args.repeat):
            lt.append(time_baseline(lpath, args.rounds))
            lo.append(time_train(lbase, args.rounds, lpath, "text/libsvm"))
        print("train 1-based libsvm (%.0f MB): %.2fs vs plain script (indexing_mode=1) %.2fs -> ratio %.3f"
              % (os.path.getsize(lpath) / 1e6, min(lo), min(lt), min(lo) / min(lt)))
    size, rows, big, small = serving(base, path)
    print("serve %.1f MB CSV batch (%d rows): median %.1f ms, min %.1f ms (target <= 100 ms)"
          % (size / 1e6, rows, 1e3 * statistics.median(big), 1e3 * min(big)))
    small.sort()
    print("serve one record: p50 %.2f ms, p90 %.2f ms (target p50 <= 3 ms)"
          % (1e3 * small[len(small) // 2], 1e3 * small[int(len(small) * 0.9)]))
    print(json.dumps({"train_ratio": o / b, "train_s": o, "baseline_s": b,
                      "batch_ms": 1e3 * statistics.median(big), "one_p50_ms": 1e3 * small[len(small) // 2]}))


if __name__ == "__main__":
    main()
