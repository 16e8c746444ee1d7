"""CreateTransformJob and hosting through scripts/local-job in process mode (the real `serve`)."""
import json
import os
import signal
import subprocess
import sys
import time

import mxnet as mx
import numpy as np
import pytest
import requests

from jobdata import LOCAL_JOB, REPO, channel, local_job, save, training_request, transform_request, write_csv, \
    write_recordio

REC = "application/x-recordio-protobuf"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, digits_files):
    tmp = tmp_path_factory.mktemp("model")
    req = training_request("km-model", tmp / "out", {"train": channel(digits_files["train_rec"], REC)},
                           {"k": 10, "feature_dim": 64, "mini_batch_size": 500})
    r = local_job("train", save(tmp / "req.json", req), "--mode", "process")
    assert r.rc == 0, r
    archive = r.describe["ModelArtifacts"]["S3ModelArtifacts"]
    import tarfile
    with tarfile.open(archive) as tar:
        tar.extractall(tmp / "extracted")
    centers = mx.nd.load(str(tmp / "extracted" / "model_algo-1"))[0].asnumpy()
    return archive, centers


def _closest(x, centers):
    d = ((x[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    return d.argmin(1), d.min(1)


def test_csv_lines_several_payloads_in_order(tmp_path, digits_files, trained):
    archive, centers = trained
    x = digits_files["x"]
    # 1.6 MiB of CSV with MaxPayloadInMB=1: at least two payloads, sent two at a time
    rng = np.random.RandomState(1)
    big = np.round(np.tile(x, (6, 1)) + rng.rand(6 * len(x), 64).astype(np.float32), 2)
    write_csv(str(tmp_path / "in" / "batch.csv"), big)
    req = transform_request("tr-csv", "file://" + str(tmp_path / "in"), tmp_path / "out", concurrency=2, payload_mb=1)
    r = local_job("transform", save(tmp_path / "req.json", req), "--mode", "process",
                  "--model-data", archive, "--image", "kmeans:0.1.0-cpu")
    assert r.rc == 0, r
    d = r.describe
    assert d["TransformJobStatus"] == "Completed", r
    assert d["MaxConcurrentTransforms"] == 2 and d["MaxPayloadInMB"] == 1
    assert d["LocalJob"]["Payloads"] >= 2, d["LocalJob"]
    lines = open(tmp_path / "out" / "batch.csv.out").read().splitlines()
    assert len(lines) == len(big)
    got = np.array([[float(v) for v in l.split(",")] for l in lines])
    want_label, want_dist = _closest(big.astype(np.float64), centers)
    # kmeans' CSV response: closest_cluster,distance_to_cluster, one line per input line, in input order
    assert (got[:, 0] == want_label).mean() > 0.99
    np.testing.assert_allclose(got[:, 1], np.sqrt(want_dist), rtol=1e-3, atol=1e-2)
    assert "records" in r.stderr and "Transform job summary" in r.stderr
    # S3OutputPath holds what the service writes there and nothing else; the server's log is elsewhere
    assert sorted(os.listdir(tmp_path / "out")) == ["batch.csv.out"]
    log = d["LocalJob"]["ServerLog"]
    assert os.path.exists(log) and not log.startswith(str(tmp_path / "out"))
    assert log in r.stderr


def test_recordio_single_record_concurrent_jsonlines(tmp_path, digits_files, trained):
    archive, centers = trained
    x = digits_files["x"][:120]
    write_recordio(str(tmp_path / "in" / "part.rec"), x)
    model = save(tmp_path / "model.json", {"ModelName": "kmeans-model",
                                           "PrimaryContainer": {"Image": "kmeans:0.1.0-cpu", "ModelDataUrl": archive}})
    req = transform_request("tr-rec", str(tmp_path / "in"), tmp_path / "out", content_type=REC,
                            accept="application/jsonlines", split="RecordIO", concurrency=4,
                            strategy="SINGLE_RECORD")
    r = local_job("transform", save(tmp_path / "req.json", req), "--mode", "process", "--model", model)
    assert r.rc == 0, r
    assert r.describe["LocalJob"]["Payloads"] == 120
    rows = [json.loads(l) for l in open(tmp_path / "out" / "part.rec.out").read().splitlines()]
    assert len(rows) == 120
    want, _ = _closest(x.astype(np.float64), centers)
    assert [int(r_["closest_cluster"]) for r_ in rows] == want.tolist()


def test_transform_failure_reports_client_error(tmp_path, trained):
    archive, _ = trained
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bad.csv").write_text("1,2,3\n")  # 3 features, the model has 64
    req = transform_request("tr-bad", str(tmp_path / "in"), tmp_path / "out")
    r = local_job("transform", save(tmp_path / "req.json", req), "--mode", "process", "--model-data", archive,
                  "--algorithm", "kmeans")
    assert r.rc == 1, r
    assert r.describe["TransformJobStatus"] == "Failed"
    assert r.describe["FailureReason"].startswith("ClientError: /invocations answered 4"), r.describe
    assert not os.path.exists(tmp_path / "out" / "bad.csv.out")


def test_serve_model_tar_gz(tmp_path, trained):
    archive, centers = trained
    port = _free_port()
    # started the way `cmd &` in a script or CI starts it: SIGINT ignored on entry. Python then never
    # raises KeyboardInterrupt by itself, and the runner used to sit out the SIGINT until killed.
    proc = subprocess.Popen(["sh", "-c", 'trap "" INT; exec "$0" "$@"', sys.executable, LOCAL_JOB, "serve",
                             "--mode", "process", "--model-data", archive, "--image", "kmeans:0.1.0-cpu",
                             "--port", str(port), "--env", "SAGEMAKER_MODEL_SERVER_WORKERS=1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    try:
        first = json.loads(proc.stdout.readline().decode() or "{}")  # printed once /ping answers 200
        assert first.get("Url") == "http://127.0.0.1:%d" % port, proc.stderr.read().decode()[-3000:]
        assert requests.get(first["Url"] + "/ping", timeout=5).status_code == 200
        row = centers[3] + 0.01
        resp = requests.post(first["Url"] + "/invocations", data=",".join("%g" % v for v in row),
                             headers={"Content-Type": "text/csv", "Accept": "application/json"}, timeout=30)
        assert resp.status_code == 200, resp.text
        assert resp.json()["predictions"][0]["closest_cluster"] == 3
        # a keep-alive connection left open, as a browser or a client pool leaves it
        held = requests.Session()
        assert held.get(first["Url"] + "/ping", timeout=5).status_code == 200
    finally:
        sent = time.time()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    stopped_in = time.time() - sent
    assert proc.returncode == 0, proc.stderr.read().decode()[-3000:]
    # SIGTERM, then SIGKILL after --stop-grace (10 s): a Ctrl-C never waits longer, loaded machine or not
    assert stopped_in < 20, stopped_in
    assert "stopping the model server" in proc.stderr.read().decode()
    with pytest.raises(requests.ConnectionError):
        requests.get("http://127.0.0.1:%d/ping" % port, timeout=2)


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
