"""Hyperparameters: what the official client sends is accepted; bad values are ClientErrors naming them."""
import os

import pytest
import yaml
from sagemaker import LinearLearner

import containers.linear_learner as pkg
from containers.linear_learner import options
from helpers import client_session, job_dir, run_train
from lldata import ALGO, channel, split
from training import declaration
from training.errors import ClientError

DECL = yaml.safe_load(open(os.path.join(os.path.dirname(pkg.__file__), "algorithm.yaml")))["hyperparameters"]


def _client_hps(**kw):
    est = LinearLearner(role="arn:aws:iam::123456789012:role/x", instance_count=1, instance_type="ml.c5.xlarge",
                        sagemaker_session=client_session(), **kw)
    est.feature_dim = 30
    est.mini_batch_size = 32
    return est.hyperparameters()


EVERYTHING = dict(
    predictor_type="binary_classifier", binary_classifier_model_selection_criteria="f1", target_recall=0.9,
    target_precision=0.9, positive_example_weight_mult="balanced", epochs=3, use_bias=True, num_models=4,
    num_calibration_samples=500, init_method="normal", init_scale=0.1, init_sigma=0.02, init_bias=0.1,
    optimizer="sgd", loss="logistic", wd=0.001, l1=0.0001, momentum=0.8, learning_rate=0.05, beta_1=0.9,
    beta_2=0.99, bias_lr_mult=2, bias_wd_mult=0.5, use_lr_scheduler=True, lr_scheduler_step=10,
    lr_scheduler_factor=0.9, lr_scheduler_minimum_lr=1e-5, normalize_data=True, normalize_label=False,
    unbias_data=True, unbias_label=False, num_point_for_scaler=200, margin=1.0, quantile=0.5,
    loss_insensitivity=0.01, huber_delta=1.0, early_stopping_patience=5, early_stopping_tolerance=0.0001,
    num_classes=3, accuracy_top_k=2, f_beta=2.0, balance_multiclass_weights=False)


def test_every_client_hyperparameter_is_declared_and_accepted():
    hps = _client_hps(**EVERYTHING)
    assert set(hps) - {"feature_dim", "mini_batch_size"} == set(EVERYTHING)
    typed = declaration.validate(DECL, hps)
    assert typed["positive_example_weight_mult"] == "balanced" and typed["use_bias"] is True
    for word in ("auto", "balanced", "1.5"):
        declaration.validate(DECL, dict(hps, positive_example_weight_mult=word))


def test_client_hyperparameters_train_through_the_real_program(tmp_path):
    Xtr, Xte, ytr, yte = split("binary")
    hps = _client_hps(**EVERYTHING)
    job_dir(tmp_path, hps, {"train": channel(Xtr, ytr)})
    r = run_train(tmp_path, ALGO)
    assert r.rc == 0, r.log[-3000:]
    assert "binary_f_2.000" in r.log
    assert os.path.exists(os.path.join(r.model_dir, "model_algo-1"))


@pytest.mark.parametrize("name,value", [
    ("learning_rate", "0"), ("learning_rate", "fast"), ("momentum", "1.0"), ("loss", "cosine"),
    ("target_recall", "1.5"), ("positive_example_weight_mult", "heavy"), ("num_models", "0"),
    ("optimizer", "adagrad"), ("normalize_data", "maybe"), ("epochs", "2.5"), ("quantile", "0"),
    ("binary_classifier_model_selection_criteria", "auc"), ("wd", "-1"), ("use_bias", "perhaps")])
def test_bad_values_name_the_hyperparameter(name, value):
    hps = {"feature_dim": "30", "predictor_type": "binary_classifier", name: value}
    with pytest.raises(ClientError, match=name):
        declaration.validate(DECL, hps)


def _failure(tmp_path, hp):
    Xtr, _, ytr, _ = split("binary")
    job_dir(tmp_path, hp, {"train": channel(Xtr[:50], ytr[:50])})
    r = run_train(tmp_path, ALGO)
    assert r.rc != 0
    return r.failure


@pytest.mark.parametrize("hps,name", [
    ({"predictor_type": "binary_classifier", "loss": "squared_loss"}, "loss"),
    ({"predictor_type": "regressor", "loss": "softmax_loss"}, "loss"),
    ({"predictor_type": "multiclass_classifier"}, "num_classes"),
    ({"predictor_type": "multiclass_classifier", "num_classes": "2"}, "num_classes")])
def test_combinations_are_checked_before_training(hps, name):
    typed = declaration.validate(DECL, dict(hps, feature_dim="30"))
    with pytest.raises(ClientError, match=name):
        options.resolve(typed)


def test_real_program_reports_client_errors(tmp_path):
    f = _failure(tmp_path / "a", {"feature_dim": 30, "predictor_type": "binary_classifier", "loss": "squared_loss"})
    assert f.startswith("ClientError:") and "loss" in f and "binary_classifier" in f



def test_bad_labels_name_the_channel_and_record(tmp_path):
    Xtr, _, ytr, _ = split("binary")
    y = ytr[:50].copy()
    y[7] = 2
    job_dir(tmp_path, {"feature_dim": 30, "predictor_type": "binary_classifier"}, {"train": channel(Xtr[:50], y)})
    r = run_train(tmp_path, ALGO)
    assert r.rc != 0 and r.failure.startswith("ClientError:")
    assert "channel train" in r.failure and "record 8" in r.failure
