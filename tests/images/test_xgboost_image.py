"""The XGBoost image, run as the service's own image is run by its local integration cases
(aws/sagemaker-xgboost-container test/integration/local): algorithm-mode inference on a libsvm request
to a model trained on a 1-based libsvm file (CSV and JSON out), early stopping (SIGTERM at
MaxRuntimeInSeconds) with save_model_on_termination on one and two hosts, k-fold cross-validation on
regression, binary and multiclass data, and multi-model endpoint load, invoke and unload.

The oracle is the reference library in this venv (xgboost, the version the image pins) and the image
cases' own expectations. Where no docker engine answers these tests are SKIPPED and say so.
"""
import json
import os
import pickle
import socket
import subprocess
import tarfile
import time
import tomllib

import numpy as np
import pytest
import requests

import jobdata
from localjob import docker

if not docker.available():
    pytest.skip("docker engine unavailable: the XGBoost image cases did NOT run", allow_module_level=True)

xgb = pytest.importorskip("xgboost")
sklearn_datasets = pytest.importorskip("sklearn.datasets")

REPO = jobdata.REPO
# the image's own libsvm sample: 1-based, 8 features
LIBSVM_SAMPLE = b"10 1:2 2:0.645 3:0.515 4:0.15 5:1.212 6:0.515 7:0.2055 8:0.385"


@pytest.fixture(scope="module")
def image():
    """scripts/build xgboost (seconds when tests/images/test_smoke.py built it already in this session)."""
    p = subprocess.run([os.path.join(REPO, "scripts", "build"), "--cpu-only", "xgboost"], cwd=REPO,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=3600)
    name = "xgboost:%s-cpu" % _version()
    assert p.returncode == 0 and docker.image_exists(name), p.stdout.decode("utf-8", "replace")[-6000:]
    return name


def _version():
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]["version"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- data -------------------------------------------------------------------------------------------

def _csv(path, X, y):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savetxt(path, np.column_stack([y, X]), delimiter=",", fmt="%.6g")
    return os.path.dirname(path)


def _regression():
    X, y = sklearn_datasets.load_diabetes(return_X_y=True)
    return X, y


def _digits(n=600):
    X, y = sklearn_datasets.load_digits(return_X_y=True)
    return X[:n], y[:n]


def _train(image, tmp_path, name, hp, X, y, instances=1, max_runtime=600, validation=None):
    channels = {"train": jobdata.channel(_csv(str(tmp_path / "train" / "train.csv"), X, y), "text/csv",
                                         distribution="FullyReplicated")}
    if validation is not None:
        channels["validation"] = jobdata.channel(_csv(str(tmp_path / "validation" / "v.csv"), *validation),
                                                 "text/csv")
    req = jobdata.training_request(name, tmp_path / "out", channels, hp, instances=instances,
                                   max_runtime=max_runtime, image=image)
    return jobdata.local_job("train", jobdata.save(tmp_path / "job.json", req), "--mode", "docker", timeout=600)


def _logs(r):
    out = [repr(r)]
    for host, path in sorted((((r.describe or {}).get("LocalJob") or {}).get("Logs") or {}).items()):
        if os.path.exists(path):
            out.append("---- %s\n%s" % (host, open(path).read()[-4000:]))
    return "\n".join(out)


def _members(r):
    art = (r.describe.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
    if not art:
        return []
    with tarfile.open(art) as tar:
        return sorted(m.name for m in tar.getmembers() if m.isfile())


def _host_log(r, host):
    return open(r.describe["LocalJob"]["Logs"][host]).read()


# ---- serving -----------------------------------------------------------------------------------------

class Served:
    """`local-job serve --mode docker`: the image's `serve` behind a local port."""

    def __init__(self, image, model_data, env=()):
        args = [jobdata.LOCAL_JOB, "serve", "--mode", "docker", "--model-data", model_data, "--image",
                image, "--port", str(_free_port()), "--env", "SAGEMAKER_MODEL_SERVER_WORKERS=1"]
        for e in env:
            args += ["--env", e]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
        first = self.proc.stdout.readline().decode()
        self.info = json.loads(first) if first.strip() else {}
        if not self.info.get("Url"):
            self.close()
            raise AssertionError("serve did not come up:\n%s" % self.proc.stderr.read().decode()[-6000:])
        self.url = self.info["Url"]

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _model_tar(path, files):
    with tarfile.open(path, "w:gz") as tar:
        for name, src in files.items():
            tar.add(src, arcname=name)
    return str(path)


@pytest.fixture(scope="module")
def libsvm_model(tmp_path_factory):
    """A model as the service's abalone one: trained by xgboost on a 1-based libsvm file (8 features;
    indexing_mode=-1 is xgboost's detection: no index 0 anywhere, 1-based), a pickled Booster."""
    root = tmp_path_factory.mktemp("libsvm")
    X, y = _regression()
    X = X[:, :8]
    with open(root / "train.libsvm", "w") as f:
        for row, label in zip(X, y):
            f.write("%g %s\n" % (label, " ".join("%d:%g" % (j + 1, v) for j, v in enumerate(row))))
    bst = xgb.train({"max_depth": 5, "eta": 0.2, "objective": "reg:squarederror"},
                    xgb.DMatrix(str(root / "train.libsvm") + "?format=libsvm&indexing_mode=-1"), num_boost_round=20)
    assert bst.num_features() == 8
    with open(root / "xgboost-model", "wb") as f:
        pickle.dump(bst, f)
    with open(root / "sample.libsvm", "wb") as f:
        f.write(LIBSVM_SAMPLE)
    expected = float(bst.predict(xgb.DMatrix(str(root / "sample.libsvm") + "?format=libsvm&indexing_mode=-1"))[0])
    return _model_tar(root / "model.tar.gz", {"xgboost-model": root / "xgboost-model"}), expected


def test_algorithm_mode_libsvm_request_to_a_one_based_model_csv_and_json_out(image, libsvm_model):
    model, expected = libsvm_model
    s = Served(image, model)
    try:
        r = requests.post(s.url + "/invocations", data=LIBSVM_SAMPLE,
                          headers={"Content-Type": "text/libsvm", "Accept": "text/csv"}, timeout=60)
        assert r.status_code == 200, r.text
        assert len(r.text.split(",")) == 1
        assert float(r.text) == pytest.approx(expected, rel=1e-6)
        r = requests.post(s.url + "/invocations", data=LIBSVM_SAMPLE,
                          headers={"Content-Type": "text/libsvm", "Accept": "application/json"}, timeout=60)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert "predictions" in doc and "score" in doc["predictions"][0], doc
        assert doc["predictions"][0]["score"] == pytest.approx(expected, rel=1e-6)
        # the same request read as 0-based would name feature 8 of 8: the image answers it, so do we
        r = requests.post(s.url + "/invocations", data=b"0 8:0.385\n",
                          headers={"Content-Type": "text/x-libsvm", "Accept": "text/csv"}, timeout=60)
        assert r.status_code == 200, r.text
    finally:
        s.close()


# ---- early stopping ------------------------------------------------------------------------------------

def _long_job(image, tmp_path, name, save, instances):
    X, y = _regression()
    hp = {"max_depth": 5, "eta": 0.2, "gamma": 4, "min_child_weight": 6, "subsample": 0.7,
          "num_round": 100000, "save_model_on_termination": save}
    # long enough for the containers to start, read and (two hosts) join xgboost's collective on a slow
    # machine: a SIGTERM before the first round leaves nothing to save
    return _train(image, tmp_path, name, hp, X, y, instances=instances, max_runtime=20)


@pytest.mark.parametrize("instances", [1, 2], ids=["one-host", "two-hosts"])
def test_early_stopping_saves_the_model_on_termination_only_when_asked(image, tmp_path, instances):
    on = _long_job(image, tmp_path / "on", "xgb-image-stop-on-%d" % instances, "true", instances)
    assert on.describe is not None and on.describe["TrainingJobStatus"] == "Stopped", _logs(on)
    assert on.describe["SecondaryStatus"] == "MaxRuntimeExceeded", _logs(on)
    # one model, from the first host only (the image: saved on one host, never both)
    assert _members(on) == ["xgboost-model"], _logs(on)
    with tarfile.open(on.describe["ModelArtifacts"]["S3ModelArtifacts"]) as tar:
        raw = tar.extractfile("xgboost-model").read()
    bst = xgb.Booster()
    bst.load_model(bytearray(raw))
    assert 1 <= bst.num_boosted_rounds() < 100000
    if instances == 2:
        assert "model saved" in _host_log(on, "algo-1"), _logs(on)
        assert "model saved" not in _host_log(on, "algo-2"), _logs(on)
    off = _long_job(image, tmp_path / "off", "xgb-image-stop-off-%d" % instances, "false", instances)
    assert off.describe is not None and off.describe["TrainingJobStatus"] == "Stopped", _logs(off)
    assert _members(off) == [], _logs(off)


# ---- k-fold --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data,extra,count", [
    ("regression", {"objective": "reg:squarederror", "_kfold": 5}, 5),
    ("binary", {"objective": "binary:logistic", "_kfold": 5}, 5),
    ("multiclass", {"objective": "multi:softprob", "num_class": 4, "_kfold": 5}, 5),
    ("regression", {"objective": "reg:squarederror", "_kfold": 5, "_num_cv_round": 2}, 10),
    ("multiclass", {"objective": "multi:softprob", "num_class": 4, "_kfold": 5, "_num_cv_round": 3}, 15),
], ids=["regression", "binary", "multiclass", "regression-2-rounds", "multiclass-3-rounds"])
def test_kfold_writes_a_model_per_fold_and_round(image, tmp_path, data, extra, count):
    if data == "regression":
        X, y = _regression()
    else:
        X, y = _digits()
        y = (y > 4).astype(float) if data == "binary" else y % 4
    hp = dict({"max_depth": 5, "eta": 0.2, "gamma": 4, "min_child_weight": 6, "subsample": 0.7, "num_round": 20},
              **extra)
    r = _train(image, tmp_path, "xgb-image-kfold-%s-%d" % (data, count), hp, X, y)
    assert r.describe is not None and r.describe["TrainingJobStatus"] == "Completed", _logs(r)
    assert _members(r) == sorted("xgboost-model-%d" % i for i in range(count)), _logs(r)
    # the out-of-fold predictions, one line per record, in output.tar.gz
    out = os.path.join(os.path.dirname(r.describe["ModelArtifacts"]["S3ModelArtifacts"]), "output.tar.gz")
    with tarfile.open(out) as tar:
        lines = tar.extractfile("predictions.csv").read().decode().splitlines()
    assert len(lines) == len(y)
    # each fold's model is a real booster of the declared shape
    with tarfile.open(r.describe["ModelArtifacts"]["S3ModelArtifacts"]) as tar:
        bst = xgb.Booster()
        bst.load_model(bytearray(tar.extractfile("xgboost-model-0").read()))
    assert bst.num_features() == X.shape[1]


# ---- multi-model endpoint ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mme(tmp_path_factory, image):
    """`docker run ... -e SAGEMAKER_MULTI_MODEL=true IMAGE serve` over a read-only folder of models, as
    the image's test_multiple_model_endpoint runs it."""
    root = tmp_path_factory.mktemp("mme")
    rng = np.random.RandomState(0)
    X = rng.rand(200, 4)
    y = X[:, 2] * 3 + X[:, 0]
    bst = xgb.train({"max_depth": 3, "objective": "reg:squarederror"}, xgb.DMatrix(X, label=y), 10)
    os.makedirs(root / "pickled_model")
    with open(root / "pickled_model" / "xgboost-model", "wb") as f:
        pickle.dump(bst, f)
    os.chmod(root, 0o755)
    name = "xgb-image-mme-%d" % os.getpid()
    port = _free_port()
    docker.remove_container(name)
    docker.run(["run", "-d", "--name", name, "-p", "127.0.0.1:%d:8080" % port,
                "-v", "%s:/opt/ml/model:ro" % root, "-e", "SAGEMAKER_MULTI_MODEL=true",
                "-e", "SAGEMAKER_MODEL_SERVER_WORKERS=1", image, "serve"])
    url = "http://127.0.0.1:%d" % port
    try:
        deadline = time.time() + 60
        while True:
            try:
                if requests.get(url + "/ping", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.time() > deadline:
                logs = docker.run(["logs", name], check=False)
                raise AssertionError("the multi-model server did not answer /ping:\n%s%s"
                                     % (logs.stdout.decode()[-3000:], logs.stderr.decode()[-3000:]))
            time.sleep(0.2)
        yield url, float(bst.predict(xgb.DMatrix(np.array([[0, 0, 1, 0]], dtype=float)))[0])
    finally:
        docker.remove_container(name)


def test_multi_model_endpoint_load_invoke_unload(mme):
    url, expected = mme
    r = requests.get(url + "/models")
    assert r.json() == {"models": []}
    r = requests.delete(url + "/models/non-existing-model")
    assert r.status_code == 404
    r = requests.post(url + "/models", data=json.dumps({"model_name": "pickled_model",
                                                        "url": "/opt/ml/model/pickled_model"}),
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "Workers scaled"
    r = requests.post(url + "/models/pickled_model/invoke", data="0,0,1,0", headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert float(r.text.strip().split(",")[0]) == pytest.approx(expected, rel=1e-6)
    r = requests.delete(url + "/models/pickled_model")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == 'Model "pickled_model" unregistered'
    r = requests.post(url + "/models/pickled_model/invoke", data="0,0,1,0", headers={"Content-Type": "text/csv"})
    assert r.status_code == 404, r.text
    assert r.json()["message"] == "Model not found: pickled_model"
