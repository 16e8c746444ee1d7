"""Docker smoke tests: build each algorithm's CPU image, then run it the platform's way through
scripts/local-job --mode docker: File and Pipe training, hosting, batch transform, two instances.

Where no docker engine answers these tests are SKIPPED and say so: they never count as passed.
"""
import glob
import json
import os
import subprocess
import sys
import tarfile

import numpy as np
import pytest
import requests
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts"))
sys.path.insert(0, os.path.join(REPO, "tests", "runner"))

from localjob import docker  # noqa: E402

if not docker.available():
    pytest.skip("docker engine unavailable: the docker smoke tests (image build, train/serve/transform in "
                "containers) did NOT run", allow_module_level=True)

import jobdata  # noqa: E402

REC = "application/x-recordio-protobuf"


def _version():
    for line in open(os.path.join(REPO, "pyproject.toml")):
        if line.startswith("version"):
            return line.split("=", 1)[1].strip().strip('"')


def _algorithms():
    names = []
    for path in sorted(glob.glob(os.path.join(REPO, "containers", "*", "algorithm.yaml"))):
        with open(path) as f:
            names.append(yaml.safe_load(f)["name"])
    return names


# Per algorithm: small hyperparameters, the train data format, and a metric the log must yield.
# An algorithm added to containers/ without an entry here fails its smoke tests until it gets one.
SMOKE = {
    "kmeans": {"hp": {"k": 10, "feature_dim": 64, "mini_batch_size": 500}, "train": "recordio",
               "test": True, "metric": "test:msd"},
    "linear-learner": {"hp": {"feature_dim": 64, "predictor_type": "binary_classifier", "mini_batch_size": 200,
                              "epochs": 2}, "train": "csv", "binary": True, "test": True,
                       "metric": "test:objective_loss"},
    "xgboost": {"hp": {"num_round": 5, "max_depth": 3, "objective": "binary:logistic"}, "train": "csv",
                "binary": True, "validation": True, "metric": "validation:logloss"},
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("smoke-data")
    x, y = jobdata.digits()
    yb = (y > 4).astype(np.float32)
    d = {"x": x, "root": root}
    for binary, tag in ((False, "multi"), (True, "binary")):
        labels = yb if binary else y
        d[tag] = {
            "recordio": os.path.dirname(jobdata.write_recordio(str(root / tag / "rec" / "train.rec"),
                                                               x[:1500], labels[:1500])),
            "csv": os.path.dirname(jobdata.write_csv(str(root / tag / "csv" / "train.csv"), x[:1500], labels[:1500])),
            "test": os.path.dirname(jobdata.write_csv(str(root / tag / "test" / "test.csv"), x[1500:], labels[1500:])),
        }
    d["batch"] = os.path.dirname(jobdata.write_csv(str(root / "batch" / "in.csv"), x[1500:]))
    return d


@pytest.fixture(scope="session")
def built():
    """One scripts/build call for every algorithm: the images share every layer but the last few, so
    after the first one the others take seconds (and all of them do when the sources did not change)."""
    names = _algorithms()
    p = subprocess.run([os.path.join(REPO, "scripts", "build")] + names + ["--cpu-only"], cwd=REPO,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1800)
    return p.returncode, p.stdout.decode("utf-8", "replace")


@pytest.fixture(scope="module", params=_algorithms())
def algo(request, built):
    name = request.param
    if name not in SMOKE:
        pytest.fail("no smoke configuration for algorithm %s: add one to SMOKE in %s" % (name, __file__))
    rc, output = built
    image = "%s:%s-cpu" % (name, _version())
    assert rc == 0, "scripts/build --cpu-only failed:\n%s" % output[-6000:]
    assert docker.image_exists(image), "scripts/build did not produce %s:\n%s" % (image, output[-3000:])
    return dict(SMOKE[name], name=name, image=image)


def _channels(algo, data):
    tag = "binary" if algo.get("binary") else "multi"
    fmt = algo["train"]
    ch = {"train": jobdata.channel(data[tag][fmt], REC if fmt == "recordio" else "text/csv")}
    if algo.get("test"):
        ch["test"] = jobdata.channel(data[tag]["test"], "text/csv")
    if algo.get("validation"):
        ch["validation"] = jobdata.channel(data[tag]["test"], "text/csv")
    return ch


def _logs(result):
    d = result.describe or {}
    out = []
    for host, path in sorted(((d.get("LocalJob") or {}).get("Logs") or {}).items()):
        if os.path.exists(path):
            out.append("---- container log %s (%s)\n%s" % (host, path, open(path).read()[-5000:]))
    return "%r\n%s" % (result, "\n".join(out))


def _train(algo, data, tmp_path, name, mode="File", instances=1, **channel_extra):
    channels = _channels(algo, data)
    for k, v in channel_extra.items():
        channels["train"][k] = v
    req = jobdata.training_request(name, tmp_path / "out", channels, algo["hp"], mode=mode, instances=instances,
                                   image=algo["image"])
    r = jobdata.local_job("train", jobdata.save(tmp_path / ("%s.json" % name), req), "--mode", "docker",
                          timeout=600)
    assert r.describe is not None and r.describe["TrainingJobStatus"] == "Completed", _logs(r)
    with tarfile.open(r.describe["ModelArtifacts"]["S3ModelArtifacts"]) as tar:
        members = tar.getnames()
    assert members, _logs(r)
    names = [m["MetricName"] for m in r.describe["FinalMetricDataList"]]
    assert algo["metric"] in names, "%s not in %s\n%s" % (algo["metric"], names, _logs(r))
    return r, members


@pytest.fixture(scope="module")
def trained(algo, data, tmp_path_factory):
    r, members = _train(algo, data, tmp_path_factory.mktemp("model"), "smoke-%s-model" % algo["name"])
    return r.describe["ModelArtifacts"]["S3ModelArtifacts"], members


@pytest.fixture(scope="module")
def model(trained):
    return trained[0]


def test_train_file_mode(algo, data, model):
    assert os.path.getsize(model) > 0  # the module's File-mode job, with its checks, made it


def test_train_pipe_mode(algo, data, tmp_path):
    r, members = _train(algo, data, tmp_path, "smoke-%s-pipe" % algo["name"], mode="Pipe")
    assert any(v >= 1 for v in r.describe["LocalJob"]["PipeEpochsFed"].values()), _logs(r)


def test_two_instances(algo, data, trained, tmp_path):
    r, members = _train(algo, data, tmp_path, "smoke-%s-dist" % algo["name"], instances=2)
    assert r.describe["LocalJob"]["ExitCodes"] == {"algo-1": 0, "algo-2": 0}, _logs(r)
    # the hosts found each other on the job's private network by name and trained as one job
    logs = {h: open(p).read() for h, p in r.describe["LocalJob"]["Logs"].items()}
    assert all("algo-1,algo-2" in log for log in logs.values()), _logs(r)
    if algo["name"] in ("kmeans", "linear-learner"):
        assert all("kvstore up" in log for log in logs.values()), _logs(r)
    # one model, as from one instance: the second host's work went into it, not beside it
    assert members == trained[1], _logs(r)


def test_serve_ping_and_invocations(algo, data, model, tmp_path):
    port = jobdata_free_port()
    proc = subprocess.Popen([sys.executable, jobdata.LOCAL_JOB, "serve", "--mode", "docker", "--model-data", model,
                             "--image", algo["image"], "--port", str(port), "--env", "SAGEMAKER_MODEL_SERVER_WORKERS=1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    info = {}
    try:
        first = proc.stdout.readline().decode()
        info = json.loads(first) if first.strip() else {}
        assert info.get("Url"), "serve did not come up:\n%s" % proc.stderr.read().decode()[-6000:]
        assert requests.get(info["Url"] + "/ping", timeout=5).status_code == 200
        body = "\n".join(",".join("%g" % v for v in row) for row in data["x"][:5])
        resp = requests.post(info["Url"] + "/invocations", data=body,
                             headers={"Content-Type": "text/csv", "Accept": "application/json"}, timeout=60)
        assert resp.status_code == 200, "%s %s\n%s" % (resp.status_code, resp.text, _read(info.get("Log")))
        predictions = resp.json()["predictions"]
        assert len(predictions) == 5, (resp.text, _read(info.get("Log")))
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_batch_transform_csv_lines(algo, data, model, tmp_path):
    # JSON Lines answers one line per record from every algorithm (XGBoost's CSV is one line per payload)
    req = jobdata.transform_request("smoke-%s-transform" % algo["name"], data["batch"], tmp_path / "out",
                                    accept="application/jsonlines", concurrency=2, payload_mb=1)
    r = jobdata.local_job("transform", jobdata.save(tmp_path / "t.json", req), "--mode", "docker",
                          "--model-data", model, "--image", algo["image"], timeout=600)
    server_log = _read(((r.describe or {}).get("LocalJob") or {}).get("ServerLog"))
    assert r.describe is not None and r.describe["TransformJobStatus"] == "Completed", "%r\n%s" % (r, server_log)
    inputs = open(os.path.join(data["batch"], "in.csv")).read().splitlines()
    outputs = open(tmp_path / "out" / "in.csv.out").read().splitlines()
    assert len(outputs) == len(inputs), server_log
    assert all(json.loads(line) for line in outputs)


def _read(path):
    if path and os.path.exists(path):
        return "---- container log (%s)\n%s" % (path, open(path).read()[-5000:])
    return ""


def jobdata_free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
