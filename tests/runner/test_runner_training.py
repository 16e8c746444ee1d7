"""CreateTrainingJob requests run by scripts/local-job in process mode (the real `train` program)."""
import os
import re
import tarfile

import mxnet as mx
import numpy as np

from jobdata import channel, local_job, save, training_request

KMEANS = {"k": 10, "feature_dim": 64, "epochs": 2, "mini_batch_size": 500}
REC = "application/x-recordio-protobuf"


def _model(describe, tmp_path):
    archive = describe["ModelArtifacts"]["S3ModelArtifacts"]
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        tar.extractall(tmp_path / "model")
    return names, mx.nd.load(str(tmp_path / "model" / "model_algo-1"))


def _metric(describe, name):
    found = [m for m in describe["FinalMetricDataList"] if m["MetricName"] == name]
    assert found, "no %s in %s" % (name, describe["FinalMetricDataList"])
    return found[0]["Value"]


def test_file_mode_recordio_with_test_channel(tmp_path, digits_files):
    out = tmp_path / "out"
    req = training_request("km-file", out, {"train": channel(digits_files["train_rec"], REC),
                                            "test": channel("file://" + digits_files["test_csv"], "text/csv")},
                           KMEANS)
    r = local_job("train", save(tmp_path / "req.json", req), "--mode", "process")
    assert r.rc == 0, r
    d = r.describe
    assert d["TrainingJobStatus"] == "Completed", r
    assert "FailureReason" not in d
    # where the service puts it: <S3OutputPath>/<TrainingJobName>/output/model.tar.gz
    assert d["ModelArtifacts"]["S3ModelArtifacts"] == str(out / "km-file" / "output" / "model.tar.gz")
    names, arrays = _model(d, tmp_path)
    assert names == ["model_algo-1"]
    assert arrays[0].shape == (10, 64)
    # the final value is the last match of the declared regex in the job's log
    log = open(d["LocalJob"]["Logs"]["algo-1"]).read()
    matches = re.findall(r"#quality_metric: host=\S+, test msd <loss>=(\S+)", log)
    assert matches and _metric(d, "test:msd") == float(matches[-1])
    assert _metric(d, "train:progress") == 100.0
    assert d["TrainingStartTime"] <= d["TrainingEndTime"]
    assert d["TrainingTimeInSeconds"] >= 1
    assert "Training job summary" in r.stderr and "test msd" in r.stderr


def test_pipe_mode_csv_gzip(tmp_path, digits_files):
    import gzip
    src = open(digits_files["train_csv"], "rb").read()
    gz = tmp_path / "train-gz" / "train.csv.gz"
    gz.parent.mkdir()
    gz.write_bytes(gzip.compress(src))
    out = tmp_path / "out"
    req = training_request("km-pipe", out, {"train": channel(str(gz.parent), "text/csv", CompressionType="Gzip"),
                                            "test": channel(digits_files["test_csv"], "text/csv")},
                           dict(KMEANS, epochs=3), mode="Pipe")
    r = local_job("train", save(tmp_path / "req.json", req), "--mode", "process")
    assert r.rc == 0, r
    d = r.describe
    assert d["TrainingJobStatus"] == "Completed", r
    # the algorithm read one FIFO per epoch, and the runner fed each one
    assert d["LocalJob"]["PipeEpochsFed"]["algo-1/train"] >= 3
    names, arrays = _model(d, tmp_path)
    assert names == ["model_algo-1"] and arrays[0].shape == (10, 64)
    assert _metric(d, "test:msd") > 0
    log = open(d["LocalJob"]["Logs"]["algo-1"]).read()
    assert "epoch=2, train msd" in log


def test_bad_hyperparameter_fails_with_client_error(tmp_path, digits_files):
    out = tmp_path / "out"
    req = training_request("km-bad", out, {"train": channel(digits_files["train_rec"], REC)},
                           dict(KMEANS, k="ten"))
    r = local_job("train", save(tmp_path / "req.json", req), "--mode", "process")
    assert r.rc == 1, r
    d = r.describe
    assert d["TrainingJobStatus"] == "Failed"
    assert d["FailureReason"].startswith("ClientError:"), d["FailureReason"]
    assert "k" in d["FailureReason"]
    assert len(d["FailureReason"]) <= 1024
    assert "ModelArtifacts" not in d
    assert open(out / "km-bad" / "output" / "failure").read() == d["FailureReason"]
    assert not os.path.exists(out / "km-bad" / "output" / "model.tar.gz")


def test_max_runtime_stops_the_job_and_keeps_the_model(tmp_path, digits_files):
    out = tmp_path / "out"
    # epochs the job could never finish: the runner feeds FIFO after FIFO until the deadline
    req = training_request("km-long", out, {"train": channel(digits_files["train_rec"], REC)},
                           dict(KMEANS, epochs=1000000), mode="Pipe", max_runtime=10)
    r = local_job("train", save(tmp_path / "req.json", req), "--mode", "process", "--stop-grace", "60")
    assert r.rc == 1, r
    d = r.describe
    assert d["TrainingJobStatus"] == "Stopped", r
    assert d["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert 10 <= d["TrainingTimeInSeconds"] < 50
    assert "MaxRuntimeInSeconds=10 reached" in r.stderr
    # kmeans handles SIGTERM by saving what it has (10 s leaves time to start up on a loaded machine);
    # the service uploads that artifact
    log = open(d["LocalJob"]["Logs"]["algo-1"]).read()
    assert "SIGTERM received" in log, log[-3000:]
    assert d["LocalJob"]["ExitCodes"]["algo-1"] == 0
    assert d["LocalJob"]["PipeEpochsFed"]["algo-1/train"] > 2
    names, arrays = _model(d, tmp_path)
    assert names == ["model_algo-1"]


def test_sigkill_when_a_container_ignores_sigterm(tmp_path, digits_files):
    """The runner's stop enforcement against a real process that ignores SIGTERM (no algorithm does)."""
    import subprocess
    import sys
    from localjob.backends import Container, ProcessBackend
    from localjob.progress import Terminal
    from localjob.training import TrainingRun

    class Stubborn(ProcessBackend):
        def start_train(self, job_name, host, base, env):
            code = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                    "print('#progress_metric: host=algo-1, completed 5.0 % of epochs', flush=True); "
                    "time.sleep(600)")
            proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            return Container(host, proc, lambda: proc.send_signal(15), lambda: proc.kill())

    req = training_request("km-stubborn", tmp_path / "out", {"train": channel(digits_files["train_rec"], REC)},
                           KMEANS, max_runtime=1)
    lines = []
    term = Terminal(quiet=False)
    term.line = lines.append
    d = TrainingRun(req, Stubborn("kmeans:0.1.0-cpu"), term, stop_grace=1).run()
    assert d["TrainingJobStatus"] == "Stopped" and d["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert d["LocalJob"]["ExitCodes"]["algo-1"] == -9
    assert any("SIGKILL" in l and "still running" in l for l in lines), lines
    assert 2 <= d["TrainingTimeInSeconds"] < 20
    assert [m["MetricName"] for m in d["FinalMetricDataList"]] == ["train:progress"]
    assert "ModelArtifacts" not in d  # nothing was saved: nothing to upload


def test_two_instances_through_the_kvstore(tmp_path, digits_files):
    out = tmp_path / "out"
    req = training_request("km-dist", out,
                           {"train": channel(digits_files["sharded"], REC, distribution="ShardedByS3Key"),
                            "test": channel(digits_files["test_csv"], "text/csv")},
                           KMEANS, instances=2)
    r = local_job("train", save(tmp_path / "req.json", req), "--mode", "process", timeout=200)
    d = r.describe
    assert d is not None and d["TrainingJobStatus"] == "Completed", r
    assert d["LocalJob"]["ExitCodes"] == {"algo-1": 0, "algo-2": 0}
    logs = {h: open(p).read() for h, p in d["LocalJob"]["Logs"].items()}
    for host, log in logs.items():
        assert "kvstore up" in log, (host, log)
        assert "gathered 80 centers from 2 hosts" in log, (host, log)
    # ShardedByS3Key: part-0 (900 records) to algo-1, part-1 (600) to algo-2
    assert "trained on 1800 records" in logs["algo-1"] and "trained on 1200 records" in logs["algo-2"]
    names, arrays = _model(d, tmp_path)
    assert names == ["model_algo-1"] and arrays[0].shape == (10, 64)
    assert d["BillableTimeInSeconds"] == 2 * d["TrainingTimeInSeconds"]


def test_ctrl_c_stops_the_job_and_keeps_the_model(tmp_path, digits_files):
    """A user's Ctrl-C is a StopTrainingJob: SIGTERM to the host, the model it saves is uploaded."""
    import json
    import signal
    import subprocess
    import sys
    import threading
    from jobdata import LOCAL_JOB, REPO
    req = training_request("km-ctrl-c", tmp_path / "out", {"train": channel(digits_files["train_rec"], REC)},
                           dict(KMEANS, epochs=1000000), mode="Pipe")
    # started as `cmd &` in a script starts it: SIGINT ignored on entry
    proc = subprocess.Popen(["sh", "-c", 'trap "" INT; exec "$0" "$@"', sys.executable, LOCAL_JOB, "train",
                             save(tmp_path / "req.json", req), "--mode", "process"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    seen = []
    try:
        for raw in iter(proc.stderr.readline, b""):
            seen.append(raw.decode("utf-8", "replace"))
            if "train msd" in seen[-1]:  # training is under way: an epoch ended
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=90)
    finally:
        watchdog.cancel()
    stderr = "".join(seen) + err.decode("utf-8", "replace")
    assert proc.returncode == 1, stderr[-3000:]
    d = json.loads(out)
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("Stopped", "Stopped"), stderr[-3000:]
    assert "interrupted: stopping the job" in stderr
    assert d["LocalJob"]["ExitCodes"] == {"algo-1": 0}
    assert "SIGTERM received" in open(d["LocalJob"]["Logs"]["algo-1"]).read()
    names, arrays = _model(d, tmp_path)
    assert names == ["model_algo-1"] and arrays[0].shape == (10, 64)


def test_pipe_input_that_cannot_be_read_fails_the_job_as_client_error(tmp_path, digits_files):
    """CompressionType=Gzip on an object that is not gzip: the runner's feeder fails, the job stops with a
    ClientError naming the channel (the algorithm is sent SIGTERM while it waits on its FIFO)."""
    req = training_request("km-badgz", tmp_path / "out",
                           {"train": channel(digits_files["train_rec"], REC, CompressionType="Gzip")},
                           KMEANS, mode="Pipe")
    r = local_job("train", save(tmp_path / "req.json", req), "--mode", "process", "--stop-grace", "20")
    assert r.rc == 1, r
    d = r.describe
    assert d["TrainingJobStatus"] == "Failed", r
    assert d["FailureReason"].startswith("ClientError: channel train: pipe feeder failed"), d["FailureReason"]
    assert "ModelArtifacts" not in d
    assert list(d["LocalJob"]["ExitCodes"]) == ["algo-1"]
