"""Pipe mode with real FIFOs, and two `train` processes joined by MXNet's dist_sync kvstore."""
import json
import os

import mxnet as mx
import numpy as np
from sklearn.datasets import load_digits

from formats import rioproto
from helpers import free_port, job_dir, run_train, start_train
from helpers import feed_pipe


def _digits():
    X, _ = load_digits(return_X_y=True)
    return X.astype(np.float32)


def test_pipe_mode_reads_one_fifo_per_epoch(tmp_path):
    X = _digits()
    base = job_dir(tmp_path, {"k": 5, "feature_dim": 64, "epochs": 3, "mini_batch_size": 200},
                   {"train": {"content_type": "application/x-recordio-protobuf", "mode": "Pipe"},
                    "test": {"content_type": "text/csv", "mode": "Pipe"}})
    feeders = [feed_pipe(base, "train", rioproto.encode_dense(X[:1200]), epochs=3, chunk=4096),
               feed_pipe(base, "test", ("\n".join(",".join(["0"] + ["%g" % v for v in r]) for r in X[1200:])
                                              + "\n").encode())]
    r = run_train(base, "kmeans", timeout=120)
    assert r.rc == 0, r.log
    for t in feeders:
        t.join(10)
        assert not t.is_alive()
    # each epoch read its own FIFO in full
    assert len(r.metrics(r"epoch=\d+, train msd <loss>=(\S+)")) == 3
    assert r.metrics(r"test msd <loss>=(\S+)")
    assert mx.nd.load(os.path.join(base, "model", "model_algo-1"))[0].shape == (5, 64)


def test_two_hosts_through_the_kvstore(tmp_path):
    X = _digits()
    env = {"SAGEMAKER_HOST_ADDRESSES": json.dumps({"algo-1": "127.0.0.1", "algo-2": "127.0.0.1"}),
           "SAGEMAKER_KVSTORE_PORT": str(free_port())}
    procs = []
    for i, host in enumerate(["algo-1", "algo-2"]):
        base = job_dir(tmp_path / host, {"k": 10, "feature_dim": 64, "mini_batch_size": 100},
                       {"train": {"content_type": "application/x-recordio-protobuf",
                                  "distribution": "ShardedByS3Key",
                                  "files": {"shard.rec": rioproto.encode_dense(X[i::2])}}},
                       hosts=["algo-1", "algo-2"], current_host=host)
        procs.append(start_train(base, "kmeans", env))
    logs = [p.communicate(timeout=120)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs
    for log in logs:
        assert "gathered 80 centers from 2 hosts" in log
    # one model, written by the first host, built from both hosts' centers
    assert os.listdir(tmp_path / "algo-1" / "model") == ["model_algo-1"]
    assert os.listdir(tmp_path / "algo-2" / "model") == []
    centroids = mx.nd.load(str(tmp_path / "algo-1" / "model" / "model_algo-1"))[0].asnumpy()
    assert centroids.shape == (10, 64)
    msd = ((X[:, None, :] - centroids[None]) ** 2).sum(-1).min(1).mean()
    assert msd < 800  # a trivial 1-center model scores ~1700 on digits


def test_fully_replicated_hosts_take_their_own_share(tmp_path):
    X = _digits()[:1000]
    env = {"SAGEMAKER_HOST_ADDRESSES": json.dumps({"algo-1": "127.0.0.1", "algo-2": "127.0.0.1"}),
           "SAGEMAKER_KVSTORE_PORT": str(free_port())}
    procs = []
    for host in ["algo-1", "algo-2"]:
        base = job_dir(tmp_path / host, {"k": 3, "feature_dim": 64, "mini_batch_size": 100},
                       {"train": {"content_type": "application/x-recordio-protobuf",
                                  "files": {"all.rec": rioproto.encode_dense(X)}}},
                       hosts=["algo-1", "algo-2"], current_host=host)
        procs.append(start_train(base, "kmeans", env))
    logs = [p.communicate(timeout=120)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs
    # each host read its half of the 10 mini-batches
    for log in logs:
        assert "trained on 500 records" in log
    assert os.path.exists(tmp_path / "algo-1" / "model" / "model_algo-1")
