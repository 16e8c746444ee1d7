"""Two `train` processes joined by the kvstore: data-parallel steps, one model file per host."""
import json
import re

import numpy as np

import ntmdata as d
from helpers import free_port, job_dir, start_train


def test_two_hosts_train_one_model_each_in_lock_step(tmp_path):
    V, K = 200, 5
    beta = d.topics(V, K, seed=3)
    X, _ = d.documents(beta, 900, seed=4)
    Xv, _ = d.documents(beta, 200, seed=5)
    env = {"SAGEMAKER_HOST_ADDRESSES": json.dumps({"algo-1": "127.0.0.1", "algo-2": "127.0.0.1"}),
           "SAGEMAKER_KVSTORE_PORT": str(free_port())}
    hp = {"feature_dim": V, "num_topics": K, "optimizer": "adam", "learning_rate": 0.02, "mini_batch_size": 50,
          "epochs": 3, "encoder_layers": "20,10"}
    procs = []
    # uneven shards (500 and 400 documents): the host that runs out first keeps stepping with zeros
    shards = [X[:500], X[500:]]
    for i, host in enumerate(["algo-1", "algo-2"]):
        base = job_dir(tmp_path / host, hp,
                       {"train": dict(d.channel(d.recordio_sparse(shards[i])), distribution="ShardedByS3Key"),
                        "validation": d.channel(d.recordio_sparse(Xv))},
                       hosts=["algo-1", "algo-2"], current_host=host)
        procs.append(start_train(base, d.ALGO, env))
    logs = [p.communicate(timeout=180)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    assert sorted(p.name for p in (tmp_path / "algo-1" / "model").iterdir()) == ["model_algo-1"]
    assert sorted(p.name for p in (tmp_path / "algo-2" / "model").iterdir()) == ["model_algo-2"]
    p1, _ = d.load_params(tmp_path / "algo-1" / "model" / "model_algo-1")
    p2, _ = d.load_params(tmp_path / "algo-2" / "model" / "model_algo-2")
    # same start, same summed gradients: the replicas are the same model
    for name in p1:
        np.testing.assert_allclose(p1[name], p2[name], rtol=1e-5, atol=1e-6)
    # the epoch losses are sums over both hosts: every host reports the same numbers and sees all records
    val = [re.findall(r"host=algo-\d, epoch=(\d+), validation total_loss <loss>=(\S+)", log) for log in logs]
    assert len(val[0]) == 3 and [e for e, _ in val[0]] == [e for e, _ in val[1]]
    np.testing.assert_allclose([float(v) for _, v in val[0]], [float(v) for _, v in val[1]], rtol=1e-6)
    assert float(val[0][-1][1]) < float(val[0][0][1])
    assert "epoch 1: 500 documents" in logs[0] and "epoch 1: 400 documents" in logs[1]
