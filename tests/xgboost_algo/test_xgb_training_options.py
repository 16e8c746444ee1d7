"""The image's training features: its custom metrics, early stopping on the tuning objective, k-fold
cross-validation (and serving its models as one ensemble), constraints, save_model_on_termination."""
import os
import re
import signal

import numpy as np
import pytest
import xgboost as xgb
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.metrics import accuracy_score, f1_score, r2_score
from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold

from helpers import job_dir, run_train, served, start_train
from xgb_data import GUIDE, as_read, csv_bytes, declared_metrics, load_model, metric_values

CSV = "text/csv"


def _dumps(path):
    return load_model(path).get_dump()


def test_custom_metrics_and_early_stopping_on_the_tuning_objective(tmp_path):
    X, y = load_breast_cancer(return_X_y=True)
    X, y = as_read(X), y.astype(np.float32)
    Xt, yt, Xv, yv = X[:380], y[:380], X[380:], y[380:]
    hp = {"num_round": 40, "objective": "binary:logistic", "eta": 0.5, "max_depth": 2, "early_stopping_rounds": 3,
          "eval_metric": "accuracy,f1_binary,logloss", "_tuning_objective_metric": "validation:auc"}
    job_dir(tmp_path, hp, {"train": {"content_type": CSV, "files": {"t.csv": csv_bytes(Xt, yt)}},
                           "validation": {"content_type": CSV, "files": {"v.csv": csv_bytes(Xv, yv)}}})
    r = run_train(tmp_path, "xgboost")
    assert r.rc == 0, r.log
    assert "early stopping on validation-auc (maximize)" in r.log
    dtrain, dval = xgb.DMatrix(Xt, label=yt), xgb.DMatrix(Xv, label=yv)
    full = xgb.train(dict(GUIDE, objective="binary:logistic", eta=0.5, max_depth=2, eval_metric=["logloss", "auc"]),
                     dtrain, 40, evals=[(dtrain, "train"), (dval, "validation")], verbose_eval=False,
                     callbacks=[xgb.callback.EarlyStopping(3, metric_name="auc", data_name="validation",
                                                           maximize=True)])
    best = full.best_iteration
    assert best + 1 < 40, "the data must make early stopping happen"
    assert _dumps(os.path.join(r.model_dir, "xgboost-model")) == full[: best + 1].get_dump()
    metrics = declared_metrics()
    acc = metric_values(r.log, metrics["validation:accuracy"])
    f1 = metric_values(r.log, metrics["validation:f1_binary"])
    auc = metric_values(r.log, metrics["validation:auc"])
    assert len(acc) == len(f1) == len(auc) == full.num_boosted_rounds()
    for i in (0, best):
        labels = (full.predict(dval, iteration_range=(0, i + 1)) > 0.5).astype(int)
        assert abs(acc[i] - accuracy_score(yv, labels)) < 1e-5
        assert abs(f1[i] - f1_score(yv, labels)) < 1e-5
    assert len(metric_values(r.log, metrics["train:accuracy"])) == len(acc)


def _fold_models(params, X, y, splits, rounds):
    out = []
    for tr, va in splits:
        d = xgb.DMatrix(X, label=y)
        out.append(xgb.train(dict(GUIDE, **params), d.slice(tr), rounds))
    return out


def test_kfold_multiclass_writes_a_model_per_fold_and_the_mean_metrics(tmp_path):
    X, y = load_iris(return_X_y=True)
    X, y = as_read(X), y.astype(np.float32)
    hp = {"num_round": 3, "objective": "multi:softprob", "num_class": 3, "eval_metric": "merror,accuracy",
          "_kfold": 3, "_num_cv_round": 2}
    job_dir(tmp_path, hp, {"train": {"content_type": CSV, "files": {"t.csv": csv_bytes(X[:120], y[:120])}},
                           "validation": {"content_type": CSV, "files": {"v.csv": csv_bytes(X[120:], y[120:])}}})
    r = run_train(tmp_path, "xgboost")
    assert r.rc == 0, r.log
    assert sorted(os.listdir(r.model_dir)) == ["xgboost-model-%d" % n for n in range(6)]
    splits = list(RepeatedStratifiedKFold(n_splits=3, n_repeats=2, random_state=0).split(X, y))
    refs = _fold_models({"objective": "multi:softprob", "num_class": 3, "eval_metric": ["merror"]}, X, y, splits, 3)
    for n, ref in enumerate(refs):
        assert _dumps(os.path.join(r.model_dir, "xgboost-model-%d" % n)) == ref.get_dump(), n
    # the last summary line is the mean over all six folds of their held-out merror and accuracy
    merr = [np.mean(np.argmax(ref.predict(xgb.DMatrix(X[va])), 1) != y[va]) for ref, (_, va) in zip(refs, splits)]
    acc = [1 - m for m in merr]
    summary = [line for line in r.log.splitlines() if line.startswith("[3]\t") and "validation-merror" in line]
    assert len(summary) == 3  # one per round of folds, then the overall one
    assert metric_values(summary[-1], declared_metrics()["validation:merror"]) == [round(np.mean(merr), 5)]
    assert metric_values(summary[-1], declared_metrics()["validation:accuracy"]) == [round(np.mean(acc), 5)]
    preds = np.loadtxt(os.path.join(str(tmp_path), "output", "data", "predictions.csv"), delimiter=",")
    assert preds.shape == (150, 3) and (preds[:, 0] == y).all() and (preds[:, 2] == y).mean() > 0.85


def test_kfold_regression_models_are_served_as_one_ensemble(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    X, y = as_read(X[:200]), y[:200].astype(np.float32)
    hp = {"num_round": 4, "objective": "reg:squarederror", "eval_metric": "rmse,r2", "_kfold": 4}
    job_dir(tmp_path, hp, {"train": {"content_type": CSV, "files": {"t.csv": csv_bytes(X, y)}}})
    r = run_train(tmp_path, "xgboost")
    assert r.rc == 0, r.log
    splits = list(RepeatedKFold(n_splits=4, n_repeats=1, random_state=0).split(X))
    refs = _fold_models({"objective": "reg:squarederror"}, X, y, splits, 4)
    for n, ref in enumerate(refs):
        assert _dumps(os.path.join(r.model_dir, "xgboost-model-%d" % n)) == ref.get_dump(), n
    r2 = [r2_score(y[va], ref.predict(xgb.DMatrix(X[va]))) for ref, (_, va) in zip(refs, splits)]
    assert abs(metric_values(r.log, declared_metrics()["validation:r2"])[-1] - np.mean(r2)) < 1e-5
    with served(tmp_path, "xgboost") as s:
        res = s.post(csv_bytes(X[:5]), CSV, "application/json")
        assert res.status_code == 200, res.text
        expected = np.mean([ref.inplace_predict(X[:5]) for ref in refs], axis=0)
        np.testing.assert_allclose([p["score"] for p in res.json()["predictions"]], expected, rtol=1e-5)


def test_constraints_and_the_image_names_train_like_xgboost(tmp_path):
    rng = np.random.RandomState(2)
    X = as_read(rng.rand(300, 4))
    y = as_read((X[:, 0] * 3 - X[:, 1] * 2 + np.sin(X[:, 2] * 6) + rng.rand(300) * 0.2)[None])[0]
    X[rng.rand(300, 4) < 0.05] = np.nan
    # semicolons and empty fields for the missing values: the image sniffs the delimiter, and xgboost's
    # CSV loader reads an empty field as missing
    body = csv_bytes(X, y).replace(b"nan", b"").replace(b",", b";")
    hp = {"num_round": 5, "objective": "reg:squarederror", "monotone_constraints": "(1,-1,0,0)",
          "interaction_constraints": "[[0, 1], [2, 3]]", "tree_method": "hist", "reg_alpha": 0.5,
          "reg_lambda": 2, "min_split_loss": 0.01, "max_delta_step": 0.5, "dsplit": "row", "predictor": "auto",
          "prob_buffer_row": 2}
    job_dir(tmp_path, hp, {"train": {"content_type": "csv", "files": {"t.csv": body}}})
    r = run_train(tmp_path, "xgboost")
    assert r.rc == 0, r.log
    ref = xgb.train(dict(GUIDE, objective="reg:squarederror", monotone_constraints="(1,-1,0,0)",
                         interaction_constraints="[[0, 1], [2, 3]]", tree_method="hist", alpha=0.5,
                         reg_lambda=2, gamma=0.01, max_delta_step=0.5), xgb.DMatrix(X, label=y), 5)
    model = load_model(os.path.join(r.model_dir, "xgboost-model"))
    assert model.get_dump() == ref.get_dump()
    grid = np.repeat(np.nan_to_num(X[:1], nan=0.5), 50, axis=0)
    grid[:, 0] = np.linspace(0, 1, 50)
    assert (np.diff(model.inplace_predict(grid)) >= -1e-6).all()  # increasing in feature 0
    for tree in model.get_dump():  # no tree splits on features of both groups
        used = {int(f) for f in re.findall(r"\[f(\d+)<", tree)}
        assert not (used & {0, 1} and used & {2, 3}), tree


@pytest.mark.parametrize("hp, needle", [
    ({"monotone_constraints": "(2,0)"}, "hyperparameter monotone_constraints"),
    ({"interaction_constraints": "[[0, 'a']]"}, "hyperparameter interaction_constraints"),
    ({"_kfold": 1}, "hyperparameter _kfold"),
    ({"_tuning_objective_metric": "validation:bogus"}, "hyperparameter _tuning_objective_metric"),
    ({"eval_metric": "precision", "objective": "multi:softmax", "num_class": 3}, "Target is multiclass"),
], ids=["monotone", "interaction", "kfold", "tuning-metric", "binary-metric-multiclass"])
def test_bad_options_are_client_errors(tmp_path, hp, needle):
    job_dir(tmp_path, dict({"num_round": 2}, **hp),
            {"train": {"content_type": CSV, "files": {"t.csv": b"0,1,2\n1,3,4\n2,5,6\n0,1,1\n"}}})
    r = run_train(tmp_path, "xgboost")
    assert r.rc == 2 and r.failure.startswith("ClientError: ") and needle in r.failure, (r.failure, r.log[-2000:])


def _start_long_training(base, save):
    rng = np.random.RandomState(0)
    X = rng.rand(1000, 5)
    y = X[:, 0] + rng.rand(1000)
    job_dir(base, {"num_round": 100000, "max_depth": 6, "save_model_on_termination": save},
            {"train": {"content_type": CSV, "files": {"t.csv": csv_bytes(X, y)}}})
    return start_train(base, "xgboost")


def _sigterm_after_round_3(p):
    lines = []
    for raw in p.stdout:
        lines.append(raw.decode())
        if raw.startswith(b"[3]\t"):
            p.send_signal(signal.SIGTERM)
            break
    return "".join(lines) + p.communicate(timeout=120)[0].decode()


def test_save_model_on_termination(tmp_path):
    on, off = _start_long_training(tmp_path / "on", "true"), _start_long_training(tmp_path / "off", "false")
    log = _sigterm_after_round_3(on)
    assert on.returncode == 0, log
    model = load_model(str(tmp_path / "on" / "model" / "xgboost-model"))
    assert 4 <= model.num_boosted_rounds() < 100000 and "stopping after round" in log
    log = _sigterm_after_round_3(off)
    assert off.returncode == 0 and os.listdir(tmp_path / "off" / "model") == [], log
    assert "save_model_on_termination false: no model is saved" in log
