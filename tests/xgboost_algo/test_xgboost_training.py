"""ALGORITHM=xgboost through the real `train` and `serve` programs: the model equals xgboost.train's."""
import io
import json
import os

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from helpers import job_dir, run_train, served
from xgb_data import (as_read, csv_bytes, declared_metrics, gz, libsvm_bytes, load_model, metric_values,
                      recordio_bytes, reference)

CSV, LIBSVM, RIO = "text/csv", "text/libsvm", "application/x-recordio-protobuf"


def _split(X, y, every=5):
    val = np.arange(len(y)) % every == 0
    return X[~val], y[~val], X[val], y[val]


def _assert_same(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), atol=1e-6, rtol=0)


def test_binary_csv_matches_xgboost_and_serves(tmp_path):
    X, y = load_breast_cancer(return_X_y=True)
    X = as_read(X)
    Xt, yt, Xv, yv = _split(X, y)
    hp = {"num_round": 8, "objective": "binary:logistic", "eval_metric": "auc,error,logloss", "max_depth": 4}
    job_dir(tmp_path, hp, {"train": {"content_type": CSV, "files": {"part-0.csv": csv_bytes(Xt[:200], yt[:200]),
                                                                    "sub/part-1.csv": csv_bytes(Xt[200:], yt[200:])}},
                           "validation": {"content_type": CSV, "files": {"v.csv": csv_bytes(Xv, yv)}}})
    r = run_train(tmp_path, "xgboost")
    assert r.rc == 0, r.log
    assert os.listdir(r.model_dir) == ["xgboost-model"]
    ref = reference({"objective": "binary:logistic", "eval_metric": ["auc", "error", "logloss"], "max_depth": 4},
                    Xt, yt, 8)
    model = load_model(os.path.join(r.model_dir, "xgboost-model"))
    assert model.get_dump() == ref.get_dump()
    expected = ref.inplace_predict(Xv)

    # every declared metric for the asked eval_metrics reads the real log, as the service would
    metrics = declared_metrics()
    for channel in ("train", "validation"):
        for m in ("auc", "error", "logloss"):
            values = metric_values(r.log, metrics["%s:%s" % (channel, m)])
            assert len(values) == 8, (channel, m, r.log)
            assert all(0 <= v <= 1 for v in values)
    final = metric_values(r.log, metrics["validation:auc"])[-1]
    assert "\t" in r.log and "[7]\ttrain-auc:" in r.log
    from sklearn.metrics import roc_auc_score
    assert abs(final - roc_auc_score(yv, expected)) < 1e-4

    body = csv_bytes(Xv)
    with served(tmp_path, "xgboost") as s:
        res = s.post(body, "text/csv", "application/json")
        assert res.status_code == 200, res.text
        got = [p["score"] for p in res.json()["predictions"]]
        _assert_same(got, expected)
        res = s.post(body, "text/csv", "text/csv")
        assert res.status_code == 200 and res.headers["Content-Type"].startswith("text/csv")
        _assert_same([float(v) for v in res.text.split(",")], expected)
        res = s.post(body, "text/csv", "application/jsonlines")
        _assert_same([json.loads(line)["score"] for line in res.text.splitlines()], expected)
        # the official client's serializers and deserializers work unchanged
        from sagemaker.deserializers import CSVDeserializer, JSONDeserializer
        from sagemaker.serializers import CSVSerializer
        ser = CSVSerializer()
        res = s.post(ser.serialize(Xv[:3].tolist()), ser.CONTENT_TYPE, "text/csv")
        rows = CSVDeserializer().deserialize(io.BytesIO(res.content), "text/csv")
        _assert_same([float(v) for v in rows[0]], expected[:3])
        res = s.post(ser.serialize(Xv[0].tolist()), ser.CONTENT_TYPE, "application/json")
        out = JSONDeserializer().deserialize(io.BytesIO(res.content), "application/json")
        _assert_same([out["predictions"][0]["score"]], expected[:1])
        # libsvm requests, with and without labels
        res = s.post(libsvm_bytes(Xv[:4]), "text/libsvm", "application/json")
        _assert_same([p["score"] for p in res.json()["predictions"]], expected[:4])
        res = s.post(libsvm_bytes(Xv[:4], yv[:4]), "text/x-libsvm", "application/json")
        _assert_same([p["score"] for p in res.json()["predictions"]], expected[:4])
        # JSON and recordIO requests; a recordIO response
        res = s.post(json.dumps({"instances": [{"features": Xv[0].tolist()}]}), "application/json",
                     "application/json")
        _assert_same([res.json()["predictions"][0]["score"]], expected[:1])
        res = s.post(recordio_bytes(Xv[:5], yv[:5]), RIO, RIO)
        assert res.status_code == 200
        from sagemaker.amazon.common import read_records
        recs = read_records(io.BytesIO(res.content))
        _assert_same([rec.label["score"].float32_tensor.values[0] for rec in recs], expected[:5])
        # bad requests are 4xx with a reason, and the server keeps serving
        res = s.post(b"1,2,3\n", "text/csv")
        assert res.status_code == 400 and "30 features" in res.text
        res = s.post(b"1 0:abc\n", "text/libsvm")
        assert res.status_code == 400 and "line 1" in res.text
        res = s.post(b"\x00\x01", "image/png")
        assert res.status_code == 415
        assert s.post(body, "text/csv").status_code == 200


def test_multiclass_libsvm_softprob(tmp_path):
    X, y = load_iris(return_X_y=True)
    X = as_read(X)
    Xt, yt, Xv, yv = _split(X, y)
    hp = {"num_round": 6, "objective": "multi:softprob", "num_class": 3, "eval_metric": "merror,mlogloss",
          "eta": 0.5}
    job_dir(tmp_path, hp, {"train": {"content_type": LIBSVM, "files": {"t.libsvm": gz(libsvm_bytes(Xt, yt))}},
                           "validation": {"content_type": LIBSVM, "mode": "File",
                                          "files": {"v.libsvm": libsvm_bytes(Xv, yv)}}})
    r = run_train(tmp_path, "xgboost")
    assert r.rc == 0, r.log
    ref = reference({"objective": "multi:softprob", "num_class": 3, "eta": 0.5}, Xt, yt, 6)
    assert load_model(os.path.join(r.model_dir, "xgboost-model")).get_dump() == ref.get_dump()
    metrics = declared_metrics()
    for name in ("train:merror", "validation:merror", "train:mlogloss", "validation:mlogloss"):
        assert len(metric_values(r.log, metrics[name])) == 6, name
    expected = ref.inplace_predict(Xv)
    with served(tmp_path, "xgboost") as s:
        res = s.post(libsvm_bytes(Xv), "text/libsvm", "text/csv")
        assert res.status_code == 200
        rows = [[float(v) for v in line.split(",")] for line in res.text.splitlines()]
        _assert_same(rows, expected)
        res = s.post(csv_bytes(Xv), "text/csv", "application/json")
        _assert_same([p["score"] for p in res.json()["predictions"]], expected)


def test_libsvm_weights_some_lines_without(tmp_path):
    X, y = load_iris(return_X_y=True)
    X, y = as_read(X), (y == 1).astype(np.float32)
    w = np.where(np.arange(len(y)) % 2 == 0, 2.5, 1.0).astype(np.float32)
    lines = libsvm_bytes(X, y).decode().splitlines()
    body = "\n".join(("%s:2.5 %s" % tuple(l.split(" ", 1))) if i % 2 == 0 else l for i, l in enumerate(lines))
    job_dir(tmp_path, {"num_round": 4, "objective": "binary:logistic"},
            {"train": {"content_type": LIBSVM, "files": {"t.libsvm": body.encode() + b"\n"}}})
    r = run_train(tmp_path, "xgboost")
    assert r.rc == 0, r.log
    ref = reference({"objective": "binary:logistic"}, X, y, 4, w=w)
    assert load_model(os.path.join(r.model_dir, "xgboost-model")).get_dump() == ref.get_dump()


def test_libsvm_ranking_groups_from_qid(tmp_path):
    import xgboost as xgb
    rng = np.random.RandomState(4)
    X = as_read(rng.rand(300, 5) + 0.01)
    y = np.minimum(3, (X[:, 0] * 3 + rng.rand(300)).astype(int)).astype(np.float32)
    qid = np.repeat(np.arange(30), 10)
    lines = libsvm_bytes(X, y).decode().splitlines()
    body = "\n".join("%s qid:%d %s" % (l.split(" ", 1)[0], q, l.split(" ", 1)[1]) for l, q in zip(lines, qid))
    job_dir(tmp_path, {"num_round": 4, "objective": "rank:pairwise", "eval_metric": "ndcg"},
            {"train": {"content_type": LIBSVM, "files": {"t.libsvm": body.encode() + b"\n"}}})
    r = run_train(tmp_path, "xgboost")
    assert r.rc == 0, r.log
    assert len(metric_values(r.log, declared_metrics()["train:ndcg"])) == 4
    d = xgb.DMatrix(X, label=y, qid=qid)
    from xgb_data import GUIDE
    ref = xgb.train(dict(GUIDE, objective="rank:pairwise", eval_metric="ndcg"), d, 4)
    assert load_model(os.path.join(r.model_dir, "xgboost-model")).get_dump() == ref.get_dump()


def test_regression_recordio_pipe_and_sparse(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    X = X.astype(np.float32)
    y = y.astype(np.float32)
    Xt, yt, Xv, yv = _split(X, y)
    hp = {"num_round": 5, "objective": "reg:linear", "eval_metric": "rmse,mae", "early_stopping_rounds": 2}
    job_dir(tmp_path / "dense", hp, {"train": {"content_type": RIO, "mode": "Pipe"},
                                     "validation": {"content_type": RIO, "files": {"v": recordio_bytes(Xv, yv)}}})
    with open(tmp_path / "dense" / "input" / "data" / "train_0", "wb") as f:
        f.write(gz(recordio_bytes(Xt, yt)))  # a plain file stands in for the FIFO; gzip is detected
    r = run_train(tmp_path / "dense", "xgboost")
    assert r.rc == 0, r.log
    assert "reg:squarederror" in r.log  # the 0.72 name is mapped, and the log says so
    ref = reference({"objective": "reg:squarederror", "eval_metric": ["rmse", "mae"]}, Xt, yt, 5,
                    evals_of=(Xv, yv), early_stopping_rounds=2)
    model = load_model(os.path.join(r.model_dir, "xgboost-model"))
    assert model.get_dump() == ref.get_dump()
    metrics = declared_metrics()
    assert metric_values(r.log, metrics["validation:rmse"]) and metric_values(r.log, metrics["train:mae"])

    job_dir(tmp_path / "sparse", {"num_round": 5, "objective": "reg:squarederror"},
            {"train": {"content_type": RIO, "files": {"t": recordio_bytes(Xt, yt, sparse=True)}}})
    r = run_train(tmp_path / "sparse", "xgboost")
    assert r.rc == 0, r.log
    import scipy.sparse
    ref = reference({"objective": "reg:squarederror"}, scipy.sparse.csr_matrix(Xt), yt, 5)
    _assert_same(load_model(os.path.join(r.model_dir, "xgboost-model")).inplace_predict(Xv), ref.inplace_predict(Xv))


def test_csv_weights_gzip_pipe(tmp_path):
    X, y = load_breast_cancer(return_X_y=True)
    X = as_read(X)
    w = np.where(y > 0, 2.0, 0.5).astype(np.float32)
    job_dir(tmp_path, {"num_round": 4, "objective": "binary:logistic", "csv_weights": 1},
            {"train": {"content_type": "text/csv", "mode": "Pipe"}})
    with open(tmp_path / "input" / "data" / "train_0", "wb") as f:
        f.write(gz(csv_bytes(X, y.astype(np.float32), w)))
    r = run_train(tmp_path, "xgboost")
    assert r.rc == 0, r.log
    ref = reference({"objective": "binary:logistic"}, X, y, 4, w=w)
    assert load_model(os.path.join(r.model_dir, "xgboost-model")).get_dump() == ref.get_dump()


@pytest.mark.parametrize("hp, needle", [
    ({"num_round": 2, "objective": "binary:nonsense"}, "hyperparameter objective"),
    ({"num_round": 2, "objective": "multi:softmax"}, "num_class is required"),
    ({"num_round": 2, "eval_metric": "auc,bogus"}, "hyperparameter eval_metric"),
    ({"num_round": 2, "tweedie_variance_power": 2}, "hyperparameter tweedie_variance_power"),
    ({"num_round": 2, "updater": "grow_colmaker,nope"}, "hyperparameter updater"),
])
def test_bad_hyperparameters_are_client_errors(tmp_path, hp, needle):
    job_dir(tmp_path, hp, {"train": {"content_type": CSV, "files": {"t.csv": b"1,2,3\n0,4,5\n"}}})
    r = run_train(tmp_path, "xgboost")
    assert r.rc != 0
    assert r.failure.startswith("ClientError: ") and needle in r.failure, r.failure


@pytest.mark.parametrize("ctype, body, needle", [
    (CSV, b"1,2,3\n0,4,5\n1,abc,6\n0,7,8\n", "file bad: line 3"),
    (CSV, b"1,2,3\n0,4\n", "file bad: line 2"),
    # xgboost's own CSV loader would read these as 0, 1 and 5 without a word
    (CSV, b"1,2,3\nx,4,5\n", "file bad: line 2: field 1 ('x')"),
    (CSV, b"1,2,3\n0,1-2,5\n", "file bad: line 2: field 2 ('1-2')"),
    (CSV, b"1,2,3\n" * 50000 + b"0,4,5abc\n", "file bad: line 50001: field 3 ('5abc')"),
    (LIBSVM, b"1 0:2 1:3\n0 0:4 1:x\n", "file bad: line 2"),
    (LIBSVM, b"1 qid:2 0:2\n0 qid:2 0:4\n1 qid:1 0:3\n", "record 3: qid 1 after qid 2"),
], ids=["csv-abc", "csv-short", "csv-label-x", "csv-1-2", "csv-deep", "libsvm-x", "libsvm-qid-order"])
def test_bad_data_names_file_and_line(tmp_path, ctype, body, needle):
    job_dir(tmp_path, {"num_round": 2}, {"train": {"content_type": ctype, "files": {"bad": body}}})
    r = run_train(tmp_path, "xgboost")
    assert r.rc != 0 and r.failure.startswith("ClientError: ") and needle in r.failure, (r.failure, r.log)


def test_renamed_and_dropped_parameters_are_logged(tmp_path):
    X, y = load_breast_cancer(return_X_y=True)
    hp = {"num_round": 2, "silent": 1, "lambda_bias": 0.2, "sketch_eps": 0.05, "updater": "grow_skmaker,prune",
          "objective": "binary:logistic", "_tuning_objective_metric": "validation:auc"}
    job_dir(tmp_path, hp, {"train": {"content_type": CSV, "files": {"t.csv": csv_bytes(X[:100], y[:100])}}})
    r = run_train(tmp_path, "xgboost")
    assert r.rc == 0, r.log
    for text in ("silent=1 is verbosity=0", "lambda_bias has no effect", "sketch_eps has no effect",
                 "updater grow_skmaker no longer exists; using grow_histmaker"):
        assert text in r.log, text
