"""XGBoost in a batch transform job: CSV out is one prediction per line (what the service's image writes,
so AssembleWith=Line output lines up with the input), while an endpoint keeps one comma-separated line."""
import json
import os
import subprocess
import sys
import tarfile

import numpy as np
import xgboost as xgb

from helpers import served
from xgb_data import as_read, csv_bytes

LOCAL_JOB = os.path.join(os.path.dirname(sys.executable), "local-job")


def _model(tmp_path):
    rng = np.random.RandomState(3)
    X = as_read(rng.rand(300, 5))  # the values the CSV requests carry
    y = (X[:, 0] + X[:, 1] > 1).astype(np.float32)
    bst = xgb.train({"objective": "binary:logistic", "max_depth": 3}, xgb.DMatrix(X, label=y), 8)
    model_dir = tmp_path / "model"
    os.makedirs(model_dir)
    bst.save_model(str(model_dir / "xgboost-model"))
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model_dir / "xgboost-model", arcname="xgboost-model")
    return X, bst, str(archive)


def test_transform_job_writes_one_prediction_per_line(tmp_path):
    X, bst, archive = _model(tmp_path)
    os.makedirs(tmp_path / "in")
    (tmp_path / "in" / "rows.csv").write_bytes(csv_bytes(X))
    req = {
        "TransformJobName": "xgb-batch", "ModelName": "xgb",
        "MaxConcurrentTransforms": 1, "MaxPayloadInMB": 1, "BatchStrategy": "MULTI_RECORD",
        "Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"},
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                           "S3Uri": "file://" + str(tmp_path / "in")}},
                           "ContentType": "text/csv", "SplitType": "Line", "CompressionType": "None"},
        "TransformOutput": {"S3OutputPath": str(tmp_path / "out"), "Accept": "text/csv", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    (tmp_path / "req.json").write_text(json.dumps(req))
    p = subprocess.run([sys.executable, LOCAL_JOB, "transform", str(tmp_path / "req.json"), "--mode", "process",
                        "--model-data", archive, "--image", "xgboost:1-cpu"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
    assert p.returncode == 0, p.stderr.decode()[-4000:]
    lines = (tmp_path / "out" / "rows.csv.out").read_text().splitlines()
    assert len(lines) == len(X)
    np.testing.assert_allclose([float(v) for v in lines], bst.inplace_predict(X), atol=1e-6)


def test_endpoint_csv_stays_one_line(tmp_path):
    X, bst, _ = _model(tmp_path)
    with served(tmp_path, "xgboost") as s:
        r = s.post(csv_bytes(X[:4]), "text/csv", "text/csv")
        assert r.status_code == 200
        assert "\n" not in r.text.strip()
        np.testing.assert_allclose([float(v) for v in r.text.split(",")], bst.inplace_predict(X[:4]), atol=1e-6)
