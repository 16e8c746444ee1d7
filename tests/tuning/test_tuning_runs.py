"""Tuning jobs run to the end through the real runner (process mode): K-Means and XGBoost, 4 jobs, 2 at a time."""
import datetime
import os
import re
import tarfile

import mxnet as mx
import numpy as np

from tuning_helpers import XgbObjective, objective

XGB_NAMES = ("eta", "max_depth", "num_round")


def _ts(iso):
    return datetime.datetime.fromisoformat(iso).timestamp()


def _max_concurrent(rows):
    events = sorted([(_ts(r["TrainingStartTime"]), 1) for r in rows] + [(_ts(r["TrainingEndTime"]), -1) for r in rows],
                    key=lambda e: (e[0], e[1]))
    now = peak = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


def _common(run, n_jobs, metric, kind):
    r = run["result"]
    assert r.rc == 0, r
    d = r.out
    assert d["HyperParameterTuningJobStatus"] == "Completed", r
    rows = d["TrainingJobSummaries"]
    assert len(rows) == n_jobs
    assert d["TrainingJobStatusCounters"]["Completed"] == n_jobs
    assert d["ObjectiveStatusCounters"] == {"Succeeded": n_jobs, "Pending": 0, "Failed": 0}
    values = [objective(row) for row in rows]
    best = (min if kind == "Minimize" else max)(values)
    assert d["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"] == {
        "Type": kind, "MetricName": metric, "Value": best}
    assert objective(d["BestTrainingJob"]) == best
    # one progress line per finished job, with the best so far
    lines = [l for l in r.stderr.splitlines() if re.match(r"\[\d+/%d\] " % n_jobs, l)]
    assert len(lines) == n_jobs, r.stderr
    assert all(" best %s=" % metric in l for l in lines)
    # the jobs ran 2 at a time, never more
    assert _max_concurrent(rows) == 2
    for row in rows:
        job = run["out"] / row["TrainingJobName"]
        assert row["TrainingJobName"].startswith(d["HyperParameterTuningJobName"] + "-")
        assert (job / "output" / "model.tar.gz").is_file()
        log = (job / "logs" / "algo-1.log").read_text()
        # the hyperparameters the job got: the static ones, the tuned ones and _tuning_objective_metric
        assert "'_tuning_objective_metric': '%s'" % metric in log
        for name, value in row["TunedHyperParameters"].items():
            assert "'%s': '%s'" % (name, value) in log
    # the record a warm start reads
    assert (run["out"] / d["HyperParameterTuningJobName"] / "DescribeHyperParameterTuningJob.json").is_file()
    return d, rows


def test_tuning_kmeans_minimizes_test_msd(kmeans_tuning, kmeans_data):
    d, rows = _common(kmeans_tuning, 4, "test:msd", "Minimize")
    x = kmeans_data["x_test"]
    for row in rows:
        hp = row["TunedHyperParameters"]
        assert 20 <= int(hp["mini_batch_size"]) <= 400 and 1 <= int(hp["extra_center_factor"]) <= 8
        # the objective is the model's mean squared distance on the test channel, computed here from its centers
        archive = kmeans_tuning["out"] / row["TrainingJobName"] / "output" / "model.tar.gz"
        dest = kmeans_tuning["root"] / row["TrainingJobName"]
        with tarfile.open(archive) as tar:
            tar.extractall(dest)
        centers = mx.nd.load(str(dest / "model_algo-1"))[0].asnumpy()
        assert centers.shape == (8, 64)
        msd = ((x[:, None, :] - centers[None]) ** 2).sum(-1).min(1).mean()
        assert np.isclose(objective(row), msd, rtol=1e-3), (objective(row), msd)


def test_tuning_xgboost_maximizes_validation_auc(xgb_tuning, xgb_data):
    d, rows = _common(xgb_tuning, 4, "validation:auc", "Maximize")
    oracle = XgbObjective.from_dirs(xgb_data["train"], xgb_data["validation"])
    for row in rows:
        hp = row["TunedHyperParameters"]
        assert sorted(hp) == sorted(XGB_NAMES)
        assert 0.05 <= float(hp["eta"]) <= 0.5 and 1 <= int(hp["max_depth"]) <= 6 and 2 <= int(hp["num_round"]) <= 30
        # the value read from the log is xgboost's own last-round validation AUC for those hyperparameters
        assert abs(objective(row) - oracle(hp)) < 1e-5, (hp, objective(row), oracle(hp))
    # the response echoes the request as DescribeHyperParameterTuningJob does
    cfg = d["HyperParameterTuningJobConfig"]
    assert cfg["ParameterRanges"] == xgb_tuning["request"]["HyperParameterTuningJobConfig"]["ParameterRanges"]
    assert cfg["TrainingJobEarlyStoppingType"] == "Off"
    assert d["TrainingJobDefinition"]["StaticHyperParameters"] == {"objective": "binary:logistic", "eval_metric": "auc"}
    assert d["BestTrainingJob"]["TuningJobName"] == "xgb-tune"
    assert os.path.basename(d["LocalJob"]["Record"]) == "xgb-tune"
