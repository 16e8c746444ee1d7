"""WarmStartConfig through the real runner: the child reads the XGBoost tuning job's record from its output
folder, starts its search from those evaluations, and reports the overall best of parent and child."""
import copy

import pytest

from contract import registry
from localjob.progress import Terminal
from localjob.tuning.jobs import FunctionJobs
from localjob.tuning.request import TuningRequest
from localjob.tuning.tuner import Tuner
from localjob.uris import RequestError
from tuning_helpers import channel, local_job, objective, save


def _child(parent_request, name, kind="IdenticalDataAndAlgorithm", jobs=2, parents=("xgb-tune",)):
    req = copy.deepcopy(parent_request)
    req["HyperParameterTuningJobName"] = name
    req["HyperParameterTuningJobConfig"]["ResourceLimits"] = {"MaxNumberOfTrainingJobs": jobs,
                                                              "MaxParallelTrainingJobs": 2}
    req["WarmStartConfig"] = {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": p} for p in parents],
                              "WarmStartType": kind}
    return req


def test_tuning_warm_start_identical_data_and_algorithm(xgb_tuning):
    parent = xgb_tuning["result"].out
    assert parent["HyperParameterTuningJobStatus"] == "Completed", xgb_tuning["result"]
    req = _child(xgb_tuning["request"], "xgb-warm")
    req["HyperParameterTuningJobConfig"]["RandomSeed"] = 11
    r = local_job("tune", save(xgb_tuning["root"] / "warm.json", req), "--mode", "process")
    assert r.rc == 0, r
    d = r.out
    # every one of the parent's 4 evaluations, read back from <S3OutputPath>/xgb-tune/
    assert d["LocalJob"]["WarmStartEvaluations"] == 4
    assert "warm start from 4 evaluation(s) of xgb-tune" in r.stderr
    assert d["WarmStartConfig"] == req["WarmStartConfig"]
    rows = d["TrainingJobSummaries"]
    assert len(rows) == 2 and all(row["TrainingJobName"].startswith("xgb-warm-") for row in rows)
    for row in rows:
        assert (xgb_tuning["out"] / row["TrainingJobName"] / "output" / "model.tar.gz").is_file()
    # BestTrainingJob is this job's own; OverallBestTrainingJob the best of parent and child
    assert objective(d["BestTrainingJob"]) == max(objective(row) for row in rows)
    everyone = rows + parent["TrainingJobSummaries"]
    best = max(everyone, key=objective)
    assert objective(d["OverallBestTrainingJob"]) == objective(best)
    assert d["OverallBestTrainingJob"]["TuningJobName"] == best["TuningJobName"]


@pytest.fixture(scope="module")
def xgb_decl():
    return registry.declaration_of("xgboost")


def _tuner(req, decl, parent_dirs=()):
    return Tuner(TuningRequest(req, decl), FunctionJobs(lambda hp: 0.5), Terminal(quiet=True), parent_dirs=parent_dirs)


def test_tuning_warm_start_restrictions(xgb_tuning, xgb_decl, tmp_path):
    base = xgb_tuning["request"]
    # the set of static plus tunable names must stay as it was
    req = _child(base, "xgb-more")
    req["TrainingJobDefinition"]["StaticHyperParameters"]["gamma"] = "0.1"
    with pytest.raises(RequestError, match="set of tunable plus static hyperparameter names"):
        _tuner(req, xgb_decl)
    # IdenticalDataAndAlgorithm needs the same data; TransferLearning takes other data, and still the evaluations
    req = _child(base, "xgb-other-data")
    req["TrainingJobDefinition"]["InputDataConfig"][1] = channel("validation", str(tmp_path))
    with pytest.raises(RequestError, match="use TransferLearning"):
        _tuner(req, xgb_decl)
    req = _child(base, "xgb-transfer", kind="TransferLearning")
    req["TrainingJobDefinition"]["InputDataConfig"][1] = channel("validation", str(tmp_path))
    assert len(_tuner(req, xgb_decl).known) == 4
    # the objective stays
    req = _child(base, "xgb-auc-min")
    req["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"] = {"MetricName": "validation:error",
                                                                               "Type": "Minimize"}
    with pytest.raises(RequestError, match="objective"):
        _tuner(req, xgb_decl)
    # a parent nobody recorded; one found through --parent-dir from another output path
    with pytest.raises(RequestError, match="no-such-job has no record"):
        _tuner(_child(base, "xgb-orphan", parents=("no-such-job",)), xgb_decl)
    req = _child(base, "xgb-elsewhere", kind="TransferLearning")
    req["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"] = str(tmp_path / "elsewhere")
    with pytest.raises(RequestError, match="--parent-dir"):
        _tuner(req, xgb_decl)
    assert len(_tuner(req, xgb_decl, parent_dirs=[str(xgb_tuning["out"])]).known) == 4
    # a narrower range keeps only the parent's evaluations inside it
    req = _child(base, "xgb-narrow")
    req["HyperParameterTuningJobConfig"]["ParameterRanges"]["IntegerParameterRanges"][0]["MaxValue"] = "3"
    inside = [row for row in xgb_tuning["result"].out["TrainingJobSummaries"]
              if int(row["TunedHyperParameters"]["max_depth"]) <= 3]
    assert len(_tuner(req, xgb_decl).known) == len(inside)
