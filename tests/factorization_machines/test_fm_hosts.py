"""Two `train` processes joined by MXNet's dist_sync kvstore: each step's sparse gradients are summed
across hosts, so both replicas stay equal and learn from both shards."""
import json
import os
import re

import numpy as np

import fmdata
from helpers import free_port, job_dir, start_train


def test_fm_two_hosts_share_their_gradients(tmp_path):
    rng = np.random.default_rng(7)
    d = 5000
    truth = fmdata.Truth(d, 2, rng, linear=0.3, pairs=0.3)
    X = fmdata.sparse_rows(5000, d, 8, rng, active=np.arange(0, d, 50))
    y, _ = fmdata.regression(truth, X, 0.3, rng)
    Xte, yte = X[4000:], y[4000:]
    env = {"SAGEMAKER_HOST_ADDRESSES": json.dumps({"algo-1": "127.0.0.1", "algo-2": "127.0.0.1"}),
           "SAGEMAKER_KVSTORE_PORT": str(free_port())}
    hp = {"feature_dim": d, "num_factors": 2, "predictor_type": "regressor", "epochs": 8,
          "mini_batch_size": 250, "bias_lr": 0.1, "linear_lr": 0.1, "factors_lr": 0.1, "factors_init_sigma": 0.1}
    procs = []
    # the shards differ in size: the host that runs out first keeps stepping with the other
    shards = [(0, 2200), (2200, 4000)]
    for (a, b), host in zip(shards, ["algo-1", "algo-2"]):
        base = job_dir(tmp_path / host, hp, {
            "train": dict(fmdata.channel(X[a:b], y[a:b]), distribution="ShardedByS3Key"),
            "test": fmdata.channel(Xte, yte)}, hosts=["algo-1", "algo-2"], current_host=host)
        procs.append(start_train(base, fmdata.ALGO, env))
    logs = [p.communicate(timeout=240)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    sums = [re.findall(r"parameter checksum: (\S+)", log) for log in logs]
    assert sums[0] and sums[0] == sums[1]  # equal replicas, though each host read a different shard
    assert "records in" in logs[0] and "2200 records in" in logs[0] and "1800 records in" in logs[1]
    assert os.listdir(tmp_path / "algo-1" / "model") == ["model_algo-1"]
    assert os.listdir(tmp_path / "algo-2" / "model") == []
    model = fmdata.learned(str(tmp_path / "algo-1" / "model" / "model_algo-1"))
    noise = fmdata.rmse(yte, truth.raw(Xte))
    ours = fmdata.rmse(yte, model.raw(Xte))
    logged = float(re.search(r"host=algo-1, test rmse <loss>=(\S+)", logs[0]).group(1))
    assert abs(logged - ours) < 1e-4 * ours
    print("two hosts: test rmse %.4f, noise %.4f" % (ours, noise))
    assert ours < 1.15 * noise, (ours, noise)
