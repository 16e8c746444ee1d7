"""The search itself, over many seeds: the XGBoost case's objective computed in this process with xgboost
(the same value the runner reads from the image's log, as test_tuning_runs checks job by job), so each
evaluation takes milliseconds rather than a training job's seconds."""
import statistics

import numpy as np
import pytest

from contract import registry
from localjob.progress import Terminal
from localjob.tuning.jobs import FunctionJobs
from localjob.tuning.request import TuningRequest
from localjob.tuning.tuner import Tuner, finish
from tuning_helpers import N_TRAIN, XGB_STATIC, XgbObjective, binary_data, channel, objective, tuning_request

RANGES = {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5",
                                         "ScalingType": "Logarithmic"}],
          "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "1", "MaxValue": "10"},
                                     {"Name": "num_round", "MinValue": "1", "MaxValue": "50"}]}
CHANNELS = [channel("train", "/unused/train"), channel("validation", "/unused/validation")]


@pytest.fixture(scope="module")
def xgb():
    x, y = binary_data()
    data = np.column_stack([y, x]).astype(np.float32)
    return {"decl": registry.declaration_of("xgboost"), "f": XgbObjective(data[:N_TRAIN], data[N_TRAIN:])}


def _tune(xgb, out, name, strategy, seed, jobs, parallel=1, warm_start=None):
    req = tuning_request(name, "xgboost:1", "validation:auc", "Maximize", RANGES, XGB_STATIC, CHANNELS, out,
                         strategy=strategy, jobs=jobs, parallel=parallel, seed=seed, warm_start=warm_start)
    d, rows = finish(Tuner(TuningRequest(req, xgb["decl"]), FunctionJobs(xgb["f"]), Terminal(quiet=True)))
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    return d, sorted(rows, key=lambda r: r["TrainingJobName"])


def test_tuning_search_bayesian_beats_the_median_of_random(tmp_path, xgb):
    budget, seeds = 10, range(4)
    best = {s: [objective(_tune(xgb, tmp_path, "%s-%d" % (s.lower(), seed), s, seed, budget)[0]["BestTrainingJob"])
                for seed in seeds] for s in ("Random", "Bayesian")}
    random_median = statistics.median(best["Random"])
    print("best validation:auc after %d jobs: Random %s, Bayesian %s" % (budget, best["Random"], best["Bayesian"]))
    assert statistics.median(best["Bayesian"]) > random_median
    assert sum(b > random_median for b in best["Bayesian"]) >= 3


def _jobs_to_reach(rows, target):
    for i, row in enumerate(rows):
        if objective(row) is not None and objective(row) >= target:
            return i + 1
    return len(rows) + 1


def test_tuning_search_warm_start_reaches_the_parents_best_in_fewer_jobs(tmp_path, xgb):
    """A warm start from a parent (IdenticalDataAndAlgorithm) against the same search started cold, each
    with the parent's budget: how many of their own jobs until the parent's best objective is matched."""
    budget, warm, cold = 6, [], []
    for seed in range(6):
        parent, _ = _tune(xgb, tmp_path, "parent-%d" % seed, "Bayesian", seed, budget)
        target = objective(parent["BestTrainingJob"])
        ws = {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "parent-%d" % seed}],
              "WarmStartType": "IdenticalDataAndAlgorithm"}
        d, rows = _tune(xgb, tmp_path, "warm-%d" % seed, "Bayesian", seed + 100, budget, warm_start=ws)
        assert d["LocalJob"]["WarmStartEvaluations"] == budget  # every parent job, read from its record
        overall = d["OverallBestTrainingJob"]
        assert objective(overall) == max(target, objective(d["BestTrainingJob"]))
        warm.append(_jobs_to_reach(rows, target))
        _, rows = _tune(xgb, tmp_path, "cold-%d" % seed, "Bayesian", seed + 100, budget)
        cold.append(_jobs_to_reach(rows, target))
    print("jobs to reach the parent's best (%d = not within %d): warm %s, cold %s" % (budget + 1, budget, warm, cold))
    assert sum(warm) < sum(cold)
    assert sum(w <= c for w, c in zip(warm, cold)) >= 4
