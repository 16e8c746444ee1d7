"""Two `train` processes joined by MXNet's dist_sync kvstore: summaries summed, the master writes."""
import json
import os

import mxnet as mx
import numpy as np

from helpers import free_port, job_dir, start_train
from pcadata import ALGO, K, RECORDIO, captured_variance, dense_recordio, digits, max_angle, sklearn_pca


def _two_hosts(tmp_path, hp, shards, distribution):
    env = {"SAGEMAKER_HOST_ADDRESSES": json.dumps({"algo-1": "127.0.0.1", "algo-2": "127.0.0.1"}),
           "SAGEMAKER_KVSTORE_PORT": str(free_port())}
    procs = []
    for host, data in zip(["algo-1", "algo-2"], shards):
        base = job_dir(tmp_path / host, hp, {"train": {"content_type": RECORDIO, "distribution": distribution,
                                                      "files": {"part.pbr": data}}},
                       hosts=["algo-1", "algo-2"], current_host=host)
        procs.append(start_train(base, ALGO, env))
    logs = [p.communicate(timeout=180)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs
    assert os.listdir(tmp_path / "algo-2" / "model") == []
    arrays = mx.nd.load(str(tmp_path / "algo-1" / "model" / "model_algo-1"))
    return logs, {k: v.asnumpy() for k, v in arrays.items()}


def test_regular_mode_on_two_shards_equals_the_whole(tmp_path):
    # the second shard's mean is far from the first's: the merged scatter must still be centred
    X = digits().astype(np.float64)
    X[1::2] += 3.0
    logs, m = _two_hosts(tmp_path, {"feature_dim": 64, "num_components": K, "mini_batch_size": 200},
                         [dense_recordio(X[0::2].astype(np.float32)), dense_recordio(X[1::2])],
                         "ShardedByS3Key")
    ref = sklearn_pca(X)
    assert max_angle(m["v"], ref.components_.T) < 1e-3
    np.testing.assert_allclose(m["s"][::-1], ref.singular_values_, rtol=1e-4)
    np.testing.assert_allclose(m["mean"][0], X.mean(0), rtol=1e-5)
    assert "trained on 899 records (1797 on all hosts)" in logs[0]
    assert "trained on 898 records (1797 on all hosts)" in logs[1]


def test_randomized_mode_on_two_fully_replicated_hosts(tmp_path):
    X = digits()
    data = dense_recordio(X)
    logs, m = _two_hosts(tmp_path, {"feature_dim": 64, "num_components": K, "mini_batch_size": 100,
                                    "algorithm_mode": "randomized"}, [data, data], "FullyReplicated")
    ref = sklearn_pca(X)
    assert abs(captured_variance(X, m["v"], m["mean"]) / ref.explained_variance_ratio_.sum() - 1) < 0.01
    # every other mini-batch of 100 records each: 9 on the first host, 8 (the last one short) on the second
    assert "trained on 900 records (1797 on all hosts)" in logs[0]
    assert "trained on 897 records (1797 on all hosts)" in logs[1]
