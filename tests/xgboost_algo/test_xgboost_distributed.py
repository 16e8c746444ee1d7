"""Two `train` processes as two hosts: xgboost's tracker on algo-1, both joining its collective."""
import json
import os

import numpy as np
from sklearn.datasets import load_breast_cancer

from helpers import free_port, job_dir, start_train
from xgb_data import as_read, csv_bytes, declared_metrics, load_model, metric_values


def test_two_hosts_train_one_model(tmp_path):
    X, y = load_breast_cancer(return_X_y=True)
    X = as_read(X)
    half = len(y) // 2
    # FullyReplicated: both hosts see both files and each takes one; the validation file is shared by rows.
    # It is 1-based libsvm, which both hosts must read as such though each sees only its own rows.
    one_based = "".join("%g %s\n" % (t, " ".join("%d:%.6g" % (j + 1, v) for j, v in enumerate(row)))
                        for row, t in zip(X[::3], y[::3])).encode()
    channels = {"train": {"content_type": "text/csv",
                          "files": {"a.csv": csv_bytes(X[:half], y[:half]), "b.csv": csv_bytes(X[half:], y[half:])}},
                "validation": {"content_type": "libsvm", "files": {"v.libsvm": one_based}}}
    hp = {"num_round": 4, "objective": "binary:logistic", "eval_metric": "auc,accuracy", "tree_method": "hist"}
    hosts = ["algo-1", "algo-2"]
    env = {"SAGEMAKER_HOST_ADDRESSES": json.dumps({h: "127.0.0.1" for h in hosts}),
           "SAGEMAKER_XGBOOST_TRACKER_PORT": str(free_port())}
    procs = []
    for h in hosts:
        job_dir(tmp_path / h, hp, channels, hosts=hosts, current_host=h)
        procs.append(start_train(tmp_path / h, "xgboost", env))
    logs = []
    for p in procs:
        out, _ = p.communicate(timeout=120)
        logs.append(out.decode())
    assert [p.returncode for p in procs] == [0, 0], "\n----\n".join(logs)
    assert "rank 0 of 2" in logs[0] and "rank 1 of 2" in logs[1]
    assert "train: %d rows" % half in logs[0] and "train: %d rows" % (len(y) - half) in logs[1]
    # only the master writes the model
    assert os.listdir(tmp_path / "algo-1" / "model") == ["xgboost-model"]
    assert os.listdir(tmp_path / "algo-2" / "model") == []
    model = load_model(str(tmp_path / "algo-1" / "model" / "xgboost-model"))
    assert model.num_boosted_rounds() == 4
    acc = ((model.inplace_predict(X) > 0.5) == y).mean()
    assert acc > 0.95
    # the evaluation is over both hosts' shares: the master's log carries the global metric
    aucs = metric_values(logs[0], declared_metrics()["validation:auc"])
    assert len(aucs) == 4 and aucs[-1] > 0.95
    assert np.isfinite(aucs).all()
    # the image's accuracy metric, over both hosts' rows: the model's accuracy on the whole file
    accs = metric_values(logs[0], declared_metrics()["validation:accuracy"])
    assert len(accs) == 4 and abs(accs[-1] - ((model.inplace_predict(X[::3]) > 0.5) == y[::3]).mean()) < 1e-5
