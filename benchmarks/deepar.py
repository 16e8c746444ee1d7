"""DeepAR speed: the real `train` program next to GluonTS's DeepAREstimator called directly on the same data
and mapped hyperparameters, and serving throughput of the real `serve` program.

Data: --series hourly series of --length points (daily and weekly cycles, noise, a level per series).
Training, two figures, each side a fresh process (imports included), run alternately --repeat times:
  ours    the `train` program: read and check JSON Lines, train, write model_algo-1-*;
  gluonts a Python process: read the same JSON Lines, DeepAREstimator(...).train(...), serialize.
Serving: one /invocations request of --series instances x --length points, num_samples --samples,
output_types mean+quantiles; series/s over --requests requests after one warm-up.

    .venv/bin/python benchmarks/deepar.py [--series 100] [--length 500] [--epochs 5] [--samples 100]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from helpers import job_dir, run_train, served

ALGO = "forecasting-deepar"

DIRECT = r"""
import json, sys, warnings, tempfile, pathlib
warnings.simplefilter("ignore")
import numpy as np, mxnet as mx
from gluonts.env import env
from gluonts.dataset.common import ListDataset
from gluonts.mx import DeepAREstimator, Trainer
env._push(use_tqdm=False)
path, hp = sys.argv[1], json.loads(sys.argv[2])
with open(path) as f:
    data = [json.loads(l) for l in f]
n = len(data)
est = DeepAREstimator(freq="h", prediction_length=hp["prediction_length"], context_length=hp["context_length"],
                      num_cells=hp["num_cells"], num_layers=hp["num_layers"], batch_size=hp["mini_batch_size"],
                      trainer=Trainer(epochs=hp["epochs"], learning_rate=hp["learning_rate"],
                                      num_batches_per_epoch=max(10, -(-n // hp["mini_batch_size"]))))
mx.random.seed(0); np.random.seed(0)
p = est.train(ListDataset(data, freq="h"))
p.serialize(pathlib.Path(tempfile.mkdtemp()))
"""


def make_series(n, length, seed=0):
    rng = np.random.RandomState(seed)
    t = np.arange(length)
    out = []
    for i in range(n):
        level = rng.uniform(5, 50)
        y = level * (1 + 0.3 * np.sin(2 * np.pi * t / 24 + rng.uniform(0, 6)) + 0.1 * np.sin(2 * np.pi * t / 168))
        y = y + rng.normal(0, 0.05 * level, length)
        out.append({"start": "2020-01-%02d 00:00:00" % (1 + i % 28), "target": np.round(y, 3).tolist()})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=100)
    ap.add_argument("--length", type=int, default=500)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--requests", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    hp = {"time_freq": "H", "prediction_length": 24, "context_length": 24, "epochs": a.epochs, "num_cells": 40,
          "num_layers": 2, "mini_batch_size": 128, "learning_rate": 0.001}
    series = make_series(a.series, a.length)
    body = "".join(json.dumps(s) + "\n" for s in series).encode()
    print("DeepAR: %d hourly series x %d points, %d epochs of %d batches x %d, 40 cells x 2 layers; load: %s"
          % (a.series, a.length, a.epochs, max(10, -(-a.series // 128)), 128, os.getloadavg()))
    with tempfile.TemporaryDirectory() as tmp:
        data_path = os.path.join(tmp, "train.json")
        with open(data_path, "wb") as f:
            f.write(body)
        ours, theirs = [], []
        base = None
        for k in range(a.repeat):
            base = os.path.join(tmp, "job%d" % k)
            job_dir(base, hp, {"train": {"files": {"train.json": body}}})
            t = time.time()
            r = run_train(base, ALGO)
            ours.append(time.time() - t)
            assert r.rc == 0, r.log[-2000:]
            t = time.time()
            subprocess.run([sys.executable, "-c", DIRECT, data_path, json.dumps(hp)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            theirs.append(time.time() - t)
        print("training wall s   ours %s   gluonts %s   ratio (best/best) %.2fx"
              % (" ".join("%.1f" % v for v in ours), " ".join("%.1f" % v for v in theirs), min(ours) / min(theirs)))

        request = json.dumps({"instances": series, "configuration": {
            "num_samples": a.samples, "output_types": ["mean", "quantiles"]}}).encode()
        with served(base, ALGO, timeout=120) as server:
            r = server.post(request, "application/json")  # warm-up
            assert r.status_code == 200, r.text
            t = time.time()
            for _ in range(a.requests):
                r = server.post(request, "application/json")
                assert r.status_code == 200, r.text
            dt = time.time() - t
        print("serving: %d series x %d points, %d samples: %.1f series/s (%.2f s per request of %d series)"
              % (a.series, a.length, a.samples, a.series * a.requests / dt, dt / a.requests, a.series))


if __name__ == "__main__":
    main()
