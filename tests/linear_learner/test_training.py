"""Training behaviour through the real `train` program: selection criteria, losses, Pipe mode, hosts."""
import json
import os
import threading

import numpy as np
import pytest

from helpers import free_port, job_dir, run_train, start_train, TrainResult
from lldata import ALGO, CSV, RIO, channel, csv_bytes, split
from formats.rioproto import encode_dense


def test_threshold_meets_target_recall_on_validation(tmp_path):
    Xtr, Xte, ytr, yte = split("binary")
    hp = {"feature_dim": 30, "predictor_type": "binary_classifier", "mini_batch_size": 32, "epochs": 8,
          "binary_classifier_model_selection_criteria": "precision_at_target_recall", "target_recall": 0.99,
          "num_models": 8}
    job_dir(tmp_path, hp, {"train": channel(Xtr, ytr), "validation": channel(Xte, yte)})
    r = run_train(tmp_path, ALGO)
    assert r.rc == 0, r.log[-3000:]
    recall = r.metrics(r"host=\S+, validation recall <score>=(\S+)")
    assert recall and recall[0] >= 0.99
    # a high-recall threshold sits below the default 0.5
    extra = _extra(r)
    assert extra["threshold"] < 0.5


def _extra(r):
    import zipfile
    with zipfile.ZipFile(os.path.join(r.model_dir, "model_algo-1")) as z:
        return json.loads(z.read("additional-params.json"))


@pytest.mark.parametrize("loss,optimizer", [("quantile_loss", "rmsprop"), ("huber_loss", "sgd")])
def test_regression_losses_and_optimizers_learn(tmp_path, loss, optimizer):
    Xtr, Xte, ytr, yte = split("regression")
    hp = {"feature_dim": 10, "predictor_type": "regressor", "mini_batch_size": 16, "epochs": 10, "loss": loss,
          "optimizer": optimizer, "num_models": 4, "quantile": 0.5}
    job_dir(tmp_path, hp, {"train": channel(Xtr, ytr, RIO), "test": channel(Xte, yte, RIO)})
    r = run_train(tmp_path, ALGO)
    assert r.rc == 0, r.log[-3000:]
    assert r.metrics(r"test %s_objective <loss>=(\S+)" % loss)
    # far better than predicting the training mean
    baseline = float(np.mean(np.abs(yte - ytr.mean())))
    assert r.metrics(r"test absolute_loss <loss>=(\S+)")[0] < 0.85 * baseline


def test_hinge_loss_balanced_weights_and_early_stopping(tmp_path):
    Xtr, Xte, ytr, yte = split("binary")
    hp = {"feature_dim": 30, "predictor_type": "binary_classifier", "mini_batch_size": 50, "epochs": 40,
          "loss": "hinge_loss", "positive_example_weight_mult": "auto", "num_models": 4,
          "early_stopping_patience": 1, "early_stopping_tolerance": 0.2, "use_bias": "False"}
    job_dir(tmp_path, hp, {"train": channel(Xtr, ytr), "test": channel(Xte, yte)})
    r = run_train(tmp_path, ALGO)
    assert r.rc == 0, r.log[-3000:]
    assert "early stopping after epoch" in r.log
    assert len(r.metrics(r"epoch=\S+, train binary_classification_hinge_loss_objective <loss>=(\S+)")) < 40
    # no bias term and no feature shift (unbias_data auto follows use_bias): a worse but sane model
    assert r.metrics(r"test binary_classification_accuracy <score>=(\S+)")[0] > 0.8
    assert _extra(r)["loss_type"] == "hinge_loss"
    import mxnet as mx
    import zipfile
    with zipfile.ZipFile(os.path.join(r.model_dir, "model_algo-1")) as z:
        z.extract("mx-mod-0000.params", str(tmp_path))
    assert float(mx.nd.load(str(tmp_path / "mx-mod-0000.params"))["arg:fc0_bias"].abs().sum().asscalar()) == 0


def _feed(path, data):
    os.mkfifo(path)

    def write():
        with open(path, "wb") as f:
            f.write(data)
    t = threading.Thread(target=write, daemon=True)
    t.start()
    return t


def test_pipe_mode_multiclass_balanced(tmp_path):
    Xtr, Xte, ytr, yte = split("multiclass")
    hp = {"feature_dim": 64, "predictor_type": "multiclass_classifier", "num_classes": 10, "epochs": 3,
          "mini_batch_size": 100, "num_models": 2, "balance_multiclass_weights": "true",
          "early_stopping_patience": 10}
    chans = {"train": {"content_type": RIO, "mode": "Pipe"}, "test": {"content_type": CSV, "mode": "Pipe"}}
    job_dir(tmp_path, hp, chans)
    data = os.path.join(tmp_path, "input", "data")
    body = encode_dense(Xtr, ytr)
    feeders = [_feed(os.path.join(data, "train_%d" % e), body) for e in range(3)]
    feeders.append(_feed(os.path.join(data, "test_0"), csv_bytes(Xte, yte)))
    r = run_train(tmp_path, ALGO, timeout=120)
    assert r.rc == 0, r.log[-3000:]
    assert len(r.metrics(r"epoch=\S+, train multiclass_cross_entropy_objective <loss>=(\S+)")) == 3
    assert r.metrics(r"test multiclass_accuracy <score>=(\S+)")[0] > 0.9
    for t in feeders:
        t.join(5)
        assert not t.is_alive()


def test_two_hosts_average_through_the_kvstore(tmp_path):
    Xtr, Xte, ytr, yte = split("binary")
    hp = {"feature_dim": 30, "predictor_type": "binary_classifier", "mini_batch_size": 20, "epochs": 4,
          "num_models": 4, "early_stopping_patience": 10}
    env = {"SAGEMAKER_HOST_ADDRESSES": json.dumps({"algo-1": "127.0.0.1", "algo-2": "127.0.0.1"}),
           "SAGEMAKER_KVSTORE_PORT": str(free_port())}
    procs = []
    for host in ("algo-1", "algo-2"):
        base = tmp_path / host
        job_dir(base, hp, {"train": channel(Xtr, ytr), "test": channel(Xte, yte)}, hosts=["algo-1", "algo-2"],
                current_host=host)
        procs.append((base, start_train(base, ALGO, env)))
    results = []
    for base, p in procs:
        out, _ = p.communicate(timeout=120)
        results.append(TrainResult(str(base), p.returncode, out.decode("utf-8", "replace")))
    for r in results:
        assert r.rc == 0, r.log[-3000:]
        assert "kvstore up" in r.log
    master, worker = results
    assert os.path.exists(os.path.join(master.model_dir, "model_algo-1"))
    assert not os.path.exists(os.path.join(worker.model_dir, "model_algo-1"))
    # the epoch losses are summed over both hosts' shares, so both print the same numbers
    key = r"epoch=\S+, train binary_classification_cross_entropy_objective <loss>=(\S+)"
    assert master.metrics(key) == worker.metrics(key) and len(master.metrics(key)) == 4
    assert master.metrics(r"test binary_classification_accuracy <score>=(\S+)")[0] > 0.9
