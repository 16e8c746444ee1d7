"""Requests the service refuses are refused before any training job starts: exit 2, a message naming what
is wrong, nothing written under S3OutputPath."""
import copy
import json

import pytest

from contract import registry
from localjob.progress import Terminal
from localjob.tuning.jobs import TrainingJobs
from localjob.tuning.request import TuningRequest
from localjob.tuning.tuner import Tuner
from localjob.uris import RequestError
from tuning_helpers import (KMEANS_RANGES, KMEANS_STATIC, XGB_RANGES, XGB_STATIC, channel, local_job, save,
                            tuning_request)


def _kmeans(tmp_path, kmeans_data, **kw):
    ranges = kw.pop("ranges", KMEANS_RANGES)
    static = kw.pop("static", KMEANS_STATIC)
    objective = kw.pop("objective", ("test:msd", "Minimize"))
    return tuning_request("km-bad", "kmeans:1", objective[0], objective[1], ranges, static,
                          [channel("train", kmeans_data["train"]), channel("test", kmeans_data["test"])],
                          tmp_path / "out", **kw)


def _xgb(tmp_path, xgb_channels, **kw):
    ranges = kw.pop("ranges", XGB_RANGES)
    return tuning_request("xgb-bad", "xgboost:1", "validation:auc", "Maximize", ranges, XGB_STATIC,
                          xgb_channels, tmp_path / "out", **kw)


DECLARATIONS = {}


def _refused(tmp_path, req, *words):
    """What `local-job tune` does up to the first job (the CLI itself is driven once, above): the
    declaration read once here, as each read parses every algorithm.yaml."""
    algorithm = req["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"].split(":")[0]
    if algorithm not in DECLARATIONS:
        DECLARATIONS[algorithm] = registry.declaration_of(algorithm)
    started = []
    jobs = TrainingJobs(lambda: started.append(1))
    with pytest.raises(RequestError) as e:
        Tuner(TuningRequest(req, DECLARATIONS[algorithm]), jobs, Terminal(quiet=True), mode="process")
    for w in words:
        assert w in str(e.value), str(e.value)
    assert not started and not (tmp_path / "out").exists(), "something ran or was recorded"
    return str(e.value)


def test_tuning_ranges_refuse_a_hyperparameter_that_is_not_tunable(tmp_path, kmeans_data):
    # the guide's K-Means tuning table offers epochs, extra_center_factor, init_method and mini_batch_size;
    # k is not among them. Through the real CLI program, once.
    ranges = {"IntegerParameterRanges": [{"Name": "k", "MinValue": "2", "MaxValue": "12"}]}
    req = _kmeans(tmp_path, kmeans_data, ranges=ranges)
    r = local_job("tune", save(tmp_path / "req.json", req), "--mode", "process")
    assert r.rc == 2, r
    assert "k is not tunable for kmeans" in r.stderr and "mini_batch_size" in r.stderr, r.stderr
    assert r.out is None
    assert not (tmp_path / "out").exists()


BAD_KMEANS = [
    # outside what the hyperparameter allows (mini_batch_size: a positive integer)
    ({"ranges": {"IntegerParameterRanges": [{"Name": "mini_batch_size", "MinValue": "0", "MaxValue": "100"}]}},
     ("mini_batch_size", "out of range")),
    # not a hyperparameter at all
    ({"ranges": {"IntegerParameterRanges": [{"Name": "num_trees", "MinValue": "1", "MaxValue": "100"}]}},
     ("num_trees is not a hyperparameter of kmeans",)),
    # an objective K-Means does not emit, and one tuned the wrong way
    ({"objective": ("test:accuracy", "Maximize")}, ("test:accuracy", "test:msd")),
    ({"objective": ("test:msd", "Maximize")}, ("test:msd", "minimize")),
    # a categorical value the hyperparameter does not take
    ({"ranges": {"CategoricalParameterRanges": [{"Name": "init_method", "Values": ["kmeans++", "k-medoids"]}]}},
     ("init_method", "k-medoids")),
    # ReverseLogarithmic scaling takes continuous ranges within [0, 1) only
    ({"ranges": {"IntegerParameterRanges": [{"Name": "extra_center_factor", "MinValue": "1", "MaxValue": "8",
                                             "ScalingType": "ReverseLogarithmic"}]}},
     ("ReverseLogarithmic",)),
    # the static hyperparameters a job would fail on: feature_dim is required
    ({"static": {"k": 8}}, ("StaticHyperParameters", "feature_dim")),
    # tuned and static at once
    ({"static": dict(KMEANS_STATIC, mini_batch_size=100)}, ("mini_batch_size", "StaticHyperParameters")),
    # fewer combinations than jobs
    ({"ranges": {"CategoricalParameterRanges": [{"Name": "init_method", "Values": ["kmeans++", "random"]}]},
      "jobs": 4}, ("2 combinations", "MaxNumberOfTrainingJobs")),
    # a strategy the local runner does not have
    ({"strategy": "Hyperband"}, ("Hyperband",)),
]


@pytest.mark.parametrize("change,words", BAD_KMEANS, ids=[w[0] for _, w in BAD_KMEANS])
def test_tuning_ranges_refuse_bad_kmeans_requests(tmp_path, kmeans_data, change, words):
    _refused(tmp_path, _kmeans(tmp_path, kmeans_data, **copy.deepcopy(change)), *words)


def test_tuning_ranges_refuse_bad_xgboost_ranges(tmp_path, xgb_channels):
    # eta is in [0, 1]
    ranges = copy.deepcopy(XGB_RANGES)
    ranges["ContinuousParameterRanges"][0]["MaxValue"] = "2"
    _refused(tmp_path, _xgb(tmp_path, xgb_channels, ranges=ranges), "eta", "out of range")
    # max_depth takes integers
    ranges = {"ContinuousParameterRanges": [{"Name": "max_depth", "MinValue": "1", "MaxValue": "5"}]}
    _refused(tmp_path, _xgb(tmp_path, xgb_channels, ranges=ranges), "max_depth takes integers")
    # Logarithmic scaling needs a positive range
    ranges = {"ContinuousParameterRanges": [{"Name": "alpha", "MinValue": "0", "MaxValue": "10",
                                             "ScalingType": "Logarithmic"}]}
    _refused(tmp_path, _xgb(tmp_path, xgb_channels, ranges=ranges), "Logarithmic", "MinValue > 0")
    # a channel XGBoost does not read
    req = _xgb(tmp_path, xgb_channels)
    req["TrainingJobDefinition"]["InputDataConfig"].append(channel("test", "/nowhere"))
    _refused(tmp_path, req, "InputDataConfig", "unknown channel test")
    # the API's own shape: a number where the API wants a string
    req = _xgb(tmp_path, xgb_channels)
    req["HyperParameterTuningJobConfig"]["ParameterRanges"]["IntegerParameterRanges"][0]["MinValue"] = 1
    _refused(tmp_path, req, "MinValue", "CreateHyperParameterTuningJob")


def test_tuning_ranges_accept_the_objective_from_metric_definitions(tmp_path, xgb_channels):
    """A MetricDefinitions entry makes a metric the declaration lacks an objective; the request is then
    checked no further than the jobs: the TuningRequest takes it."""
    req = _xgb(tmp_path, xgb_channels)
    req["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"] = [
        {"Name": "validation:auc-first", "Regex": r"\[0\]#011validation-auc:([0-9.]+)"}]
    req["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"] = "validation:auc-first"
    t = TuningRequest(json.loads(json.dumps(req)), DECLARATIONS.get("xgboost") or registry.declaration_of("xgboost"))
    assert t.objective["Regex"] == r"\[0\]#011validation-auc:([0-9.]+)"
    hp = t.training_request("xgb-bad-001-abcdef12", {"eta": "0.1"})["HyperParameters"]
    assert hp["_tuning_objective_metric"] == "validation:auc-first" and hp["eta"] == "0.1"
