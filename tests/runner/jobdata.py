"""Small data sets, request JSON and a way to run scripts/local-job, for the runner's tests."""
import json
import os
import subprocess
import sys

import numpy as np

from formats import rioproto

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOCAL_JOB = os.path.join(os.path.dirname(sys.executable), "local-job")


def digits():
    from sklearn.datasets import load_digits
    x, y = load_digits(return_X_y=True)
    return x.astype(np.float32), y.astype(np.float32)


def write_recordio(path, x, y=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(rioproto.encode_dense(x, y))
    return path


def write_csv(path, x, y=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rows = x if y is None else np.column_stack([y, x])
    with open(path, "w") as f:
        for row in rows:
            f.write(",".join("%g" % v for v in row) + "\n")
    return path


def channel(uri, content_type, **extra):
    entry = {"ContentType": content_type,
             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri,
                                             "S3DataDistributionType": extra.pop("distribution",
                                                                                 "FullyReplicated")}}}
    entry.update(extra)
    return entry


def training_request(name, out, channels, hyperparameters, mode="File", instances=1, max_runtime=600,
                     image="kmeans:0.1.0-cpu"):
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": mode},
        "RoleArn": "arn:aws:iam::000000000000:role/local",
        "HyperParameters": {k: str(v) for k, v in hyperparameters.items()},
        "InputDataConfig": [dict(ChannelName=n, **c) for n, c in channels.items()],
        "OutputDataConfig": {"S3OutputPath": "file://" + str(out)},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": instances, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime},
    }


def transform_request(name, input_uri, out, content_type="text/csv", accept="text/csv", split="Line",
                      concurrency=2, payload_mb=1, strategy="MULTI_RECORD"):
    return {
        "TransformJobName": name, "ModelName": "kmeans-model",
        "MaxConcurrentTransforms": concurrency, "MaxPayloadInMB": payload_mb, "BatchStrategy": strategy,
        "Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"},
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
                           "ContentType": content_type, "SplitType": split, "CompressionType": "None"},
        "TransformOutput": {"S3OutputPath": str(out), "Accept": accept, "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }


def save(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)
    return str(path)


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout.decode("utf-8", "replace")
        self.stderr = proc.stderr.decode("utf-8", "replace")
        try:
            self.describe = json.loads(self.stdout)
        except ValueError:
            self.describe = None

    def __repr__(self):
        return "local-job rc=%s\n--- stdout\n%s\n--- stderr\n%s" % (self.rc, self.stdout[-4000:], self.stderr[-6000:])


def local_job(*args, timeout=240):
    """Run scripts/local-job with this interpreter, so process mode finds this venv's train/serve."""
    p = subprocess.run([sys.executable, LOCAL_JOB] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, cwd=REPO)
    return Result(p)
