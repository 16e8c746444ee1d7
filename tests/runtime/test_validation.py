"""Hyperparameter and channel validation from the declaration."""
import pytest
from helpers import client_session

from training import algorithms, declaration
from training.errors import ClientError


@pytest.fixture(scope="module")
def kmeans_decl():
    decl, _ = algorithms.resolve("kmeans")
    return decl


def test_defaults_and_types(kmeans_decl):
    hp = declaration.validate(kmeans_decl["hyperparameters"], {"k": "10", "feature_dim": "64"})
    assert hp["k"] == 10 and hp["epochs"] == 1 and hp["mini_batch_size"] == 5000
    assert hp["extra_center_factor"] == "auto" and hp["eval_metrics"] == ["msd"]
    assert hp["local_lloyd_tol"] == 0.0001 and hp["init_method"] == "random"


@pytest.mark.parametrize("given, pattern", [
    ({"k": "10", "feature_dim": "64", "mini_batch_siz": "5"}, "unknown hyperparameter mini_batch_siz"),
    ({"k": "10"}, "missing required hyperparameter feature_dim"),
    ({"k": "ten", "feature_dim": "64"}, "hyperparameter k: 'ten' is not valid; expected an integer >= 1"),
    ({"k": "2.5", "feature_dim": "64"}, "hyperparameter k"),
    ({"k": "0", "feature_dim": "64"}, r"hyperparameter k: '0' is not valid \(out of range\)"),
    ({"k": "3", "feature_dim": "64", "local_lloyd_tol": "2"}, "local_lloyd_tol.*in \\[0, 1\\]"),
    ({"k": "3", "feature_dim": "64", "init_method": "best"}, "init_method.*one of random, kmeans\\+\\+"),
    ({"k": "3", "feature_dim": "64", "eval_metrics": '["mse"]'}, "eval_metrics"),
    ({"k": "3", "feature_dim": "64", "extra_center_factor": "lots"}, "extra_center_factor.*or auto"),
])
def test_violations_name_the_hyperparameter(kmeans_decl, given, pattern):
    with pytest.raises(ClientError, match=pattern):
        declaration.validate(kmeans_decl["hyperparameters"], given)


def test_tuning_parameters_accepted(kmeans_decl):
    hp = declaration.validate(kmeans_decl["hyperparameters"],
                              {"k": "3", "feature_dim": "4", "_tuning_objective_metric": "test:msd"})
    assert "_tuning_objective_metric" not in hp


def test_official_client_hyperparameters_accepted(kmeans_decl):
    from sagemaker import KMeans
    est = KMeans(role="arn:aws:iam::123456789012:role/x", instance_count=1, instance_type="ml.c5.xlarge",
                 k=10, init_method="kmeans++", max_iterations=50, tol=0.01, num_trials=2,
                 local_init_method="random", half_life_time_size=100, epochs=3, center_factor=2,
                 eval_metrics=["msd", "ssd"], sagemaker_session=client_session())
    est.feature_dim = 64
    est.mini_batch_size = 500
    sent = est.hyperparameters()
    hp = declaration.validate(kmeans_decl["hyperparameters"], sent)
    assert hp["local_lloyd_max_iter"] == 50 and hp["eval_metrics"] == ["msd", "ssd"]
    assert hp["extra_center_factor"] == 2 and hp["init_method"] == "kmeans++"


def test_unknown_algorithm_lists_the_available_ones():
    with pytest.raises(ClientError, match="unknown ALGORITHM 'kmean'; available algorithms: .*kmeans"):
        algorithms.resolve("kmean")


def test_channels(kmeans_decl):
    ch = kmeans_decl["channels"]
    declaration.validate_channels(ch, {"train": {"ContentType": "text/csv;label_size=0"}})
    with pytest.raises(ClientError, match="missing required channel train"):
        declaration.validate_channels(ch, {"test": {}})
    with pytest.raises(ClientError, match="unknown channel validation"):
        declaration.validate_channels(ch, {"train": {}, "validation": {}})
    with pytest.raises(ClientError, match="channel train: content type image/png"):
        declaration.validate_channels(ch, {"train": {"ContentType": "image/png"}})
