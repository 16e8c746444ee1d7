"""Linear Learner training speed: 1,000,000 x 100 dense binary records in recordIO-protobuf.

Runs the real `train` program (File mode, one epoch) with the default num_models and with num_models=1,
and scikit-learn's SGDClassifier for one epoch on the same matrix in memory, one after the other, and
prints records/second (as logged by `train`, and from wall time) and the ratios.

    PYTHONPATH=tests python benchmarks/linear_learner.py [--records 1000000] [--dim 100]
"""
import argparse
import json
import os
import re
import subprocess
import tempfile
import time

import numpy as np

from formats.rioproto import encode_dense
from helpers import job_dir, program, train_env

CACHE = "/tmp/ll-bench"


def dataset(n, d):
    """(X, y, path of the recordIO file), cached under /tmp: encoding 1M records takes a while."""
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, "train-%d-%d.rec" % (n, d))
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, d)).astype(np.float32)
    w = rng.normal(size=d)
    y = ((X @ w + rng.normal(scale=2.0, size=n)) > 0).astype(np.float32)
    if not os.path.exists(path):
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            for i in range(0, n, 50000):
                f.write(encode_dense(X[i:i + 50000], y[i:i + 50000]))
        os.replace(tmp, path)
    return X, y, path


def run_train(path, d, extra):
    base = tempfile.mkdtemp(prefix="ll-bench-")
    hp = dict({"feature_dim": d, "predictor_type": "binary_classifier", "epochs": 1}, **extra)
    job_dir(base, hp, {"train": {"content_type": "application/x-recordio-protobuf", "files": {}}})
    os.symlink(path, os.path.join(base, "input", "data", "train", "part-0.rec"))
    t = time.time()
    p = subprocess.run([program("train")], env=train_env(base, "linear-learner"), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    wall = time.time() - t
    log = p.stdout.decode()
    if p.returncode != 0:
        raise SystemExit(log[-3000:])
    logged = float(re.findall(r"train throughput=(\S+) records/second", log)[-1])
    models = re.findall(r"optimizer \w+, (\d+) models", log)[0]
    return logged, wall, models


def sklearn_epoch(X, y):
    from sklearn.linear_model import SGDClassifier
    clf = SGDClassifier(loss="log_loss", max_iter=1, tol=None, random_state=0)
    t = time.time()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    return time.time() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--dim", type=int, default=100)
    a = ap.parse_args()
    t = time.time()
    X, y, path = dataset(a.records, a.dim)
    print("data: %s (%.0f MB), ready in %.1fs" % (path, os.path.getsize(path) / 1e6, time.time() - t))
    n = a.records
    auto_logged, auto_wall, auto_models = run_train(path, a.dim, {})
    one_logged, one_wall, _ = run_train(path, a.dim, {"num_models": 1})
    sk = sklearn_epoch(X, y)
    print(json.dumps({
        "default_num_models": int(auto_models),
        "default_logged_records_per_s": round(auto_logged),
        "default_wall_s": round(auto_wall, 2), "default_wall_records_per_s": round(n / auto_wall),
        "one_model_logged_records_per_s": round(one_logged),
        "one_model_wall_s": round(one_wall, 2),
        "sklearn_sgd_one_epoch_s": round(sk, 2), "sklearn_records_per_s": round(n / sk),
        "ratio_one_model_train_time_vs_sklearn": round((n / one_logged) / sk, 2),
        "ratio_one_model_wall_vs_sklearn": round(one_wall / sk, 2),
        "target_default_records_per_s": 110000,
    }, indent=1))


if __name__ == "__main__":
    main()
