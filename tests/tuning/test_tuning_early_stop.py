"""TrainingJobEarlyStoppingType Auto through the real runner, on the test algorithm whose learning curve is
known (tests/tuning/algorithms/curve_algo): a job worse than the median of the earlier jobs' running
averages at the same epoch is stopped; the others run to the end."""
import re

from localjob.tuning import early_stop
from tuning_helpers import CURVE_ENV, channel, local_job, save, tuning_request, write_csv

EPOCHS = 8
LOSS = re.compile(r"epoch=(\d+), validation loss <loss>=(\S+)")


def _curve(path):
    return [float(v) for _, v in LOSS.findall(path.read_text())]


def test_tuning_early_stop_auto_stops_the_job_behind_the_median(tmp_path):
    data = write_csv(str(tmp_path / "train" / "train.csv"), [[0.0, 1.0]])
    # RandomSeed 54 draws the rates 0.8, 0.5, then 0.02 (hopeless), then 0.8 again
    req = tuning_request("curve-tune", "curve-test:1", "validation:loss", "Minimize",
                         {"CategoricalParameterRanges": [{"Name": "rate", "Values": ["0.9", "0.5", "0.02", "0.8"]}]},
                         {"epochs": EPOCHS, "epoch_seconds": 0.25}, [channel("train", data)], tmp_path / "out",
                         strategy="Random", jobs=4, parallel=2, seed=54, early_stopping="Auto")
    r = local_job("tune", save(tmp_path / "req.json", req), "--mode", "process", "--stop-grace", "5", env=CURVE_ENV)
    assert r.rc == 0, r
    d = r.out
    rows = sorted(d["TrainingJobSummaries"], key=lambda row: row["TrainingJobName"])
    assert [row["TunedHyperParameters"]["rate"] for row in rows] == ["0.8", "0.5", "0.02", "0.8"]
    curves = [_curve(tmp_path / "out" / row["TrainingJobName"] / "logs" / "algo-1.log") for row in rows]
    stopped = d["LocalJob"]["EarlyStopped"]
    assert list(stopped) == [rows[2]["TrainingJobName"]], stopped
    assert [row["TrainingJobStatus"] for row in rows] == ["Completed", "Completed", "Stopped", "Completed"]
    assert d["TrainingJobStatusCounters"]["Stopped"] == 1 and d["TrainingJobStatusCounters"]["Completed"] == 3
    # the stopped job really stopped early; the others ran every epoch
    assert len(curves[2]) < EPOCHS and [len(curves[i]) for i in (0, 1, 3)] == [EPOCHS] * 3
    # the decision, recomputed from the logs: the first epoch at which job 3 is worse than the median of the
    # running averages of jobs 1 and 2 (both done with that epoch by then)
    epoch, median = early_stop.first_stop_epoch(curves[2], curves[:2], minimize=True)
    got = stopped[rows[2]["TrainingJobName"]]
    assert got["Epoch"] == epoch and abs(got["Median"] - median) < 1e-12 and got["Value"] == curves[2][epoch]
    assert median == (sum(curves[0][:epoch + 1]) / (epoch + 1) + sum(curves[1][:epoch + 1]) / (epoch + 1)) / 2
    # a stopped job's objective still counts: its last value, ObjectiveStatus Succeeded
    assert rows[2]["ObjectiveStatus"] == "Succeeded"
    assert rows[2]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == curves[2][-1]
    assert d["BestTrainingJob"]["TunedHyperParameters"]["rate"] == "0.8"
    assert "early: epoch" in r.stderr
