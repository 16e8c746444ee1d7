"""Two `train` processes as two hosts: each samples sample_size/2 of its shard, the master gathers
both samples through the kvstore and writes the one model."""
import json
import os

import faiss
import numpy as np

from helpers import free_port, job_dir, start_train
from knn_data import ALGO, CSV, RIO, channel, digits


def test_two_hosts_sample_half_each_and_the_master_builds_the_index(tmp_path):
    X, Xte, y, yte = digits()
    low, high = y < 5, y >= 5  # each host's shard holds different labels
    env = {"SAGEMAKER_HOST_ADDRESSES": json.dumps({"algo-1": "127.0.0.1", "algo-2": "127.0.0.1"}),
           "SAGEMAKER_KVSTORE_PORT": str(free_port())}
    hp = {"feature_dim": 64, "k": 3, "predictor_type": "classifier", "sample_size": 301, "mini_batch_size": 100}
    procs = []
    for host, rows in (("algo-1", low), ("algo-2", high)):
        train = dict(channel(X[rows], y[rows], RIO), distribution="ShardedByS3Key")
        base = job_dir(tmp_path / host, hp, {"train": train, "test": channel(Xte, yte, CSV)},
                       hosts=["algo-1", "algo-2"], current_host=host)
        procs.append(start_train(base, ALGO, env))
    logs = [p.communicate(timeout=180)[0].decode("utf-8", "replace") for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs
    assert "Using per-worker sample size = 151" in logs[0] and "Using per-worker sample size = 150" in logs[1]
    model = tmp_path / "algo-1" / "model"
    assert sorted(os.listdir(model)) == ["model_algo-1", "model_algo-1.json", "model_algo-1.labels"]
    assert not os.listdir(tmp_path / "algo-2" / "model")
    labels = np.fromfile(str(model / "model_algo-1.labels"), dtype=np.float32)
    index = faiss.read_index(str(model / "model_algo-1"))
    assert index.ntotal == len(labels) == 301
    assert (labels < 5).sum() == 151 and (labels >= 5).sum() == 150
    # every indexed row is a training row of the host it came from, with its own label
    where = {r.tobytes(): i for i, r in enumerate(X)}
    found = np.array([where[r.tobytes()] for r in index.reconstruct_n(0, 301)])
    np.testing.assert_array_equal(y[found], labels)
    assert len(set(found)) == 301
    # only the master scores the test channel
    assert "test accuracy <score>=" in logs[0] and "test accuracy" not in logs[1]
