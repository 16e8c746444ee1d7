"""Data, requests and a way to run `local-job tune` for the tuning tests."""
import copy
import json
import os
import subprocess
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOCAL_JOB = os.path.join(os.path.dirname(sys.executable), "local-job")
ALGORITHMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "algorithms")
XGB_RANGES = {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.05", "MaxValue": "0.5",
                                             "ScalingType": "Logarithmic"}],
              "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "1", "MaxValue": "6"},
                                         {"Name": "num_round", "MinValue": "2", "MaxValue": "30"}]}
XGB_STATIC = {"objective": "binary:logistic", "eval_metric": "auc"}
KMEANS_RANGES = {"IntegerParameterRanges": [{"Name": "mini_batch_size", "MinValue": "20", "MaxValue": "400",
                                             "ScalingType": "Logarithmic"},
                                            {"Name": "extra_center_factor", "MinValue": "1", "MaxValue": "8"}]}
KMEANS_STATIC = {"k": 8, "feature_dim": 64, "epochs": 2}
CURVE_ENV = {"ALGORITHM_PATH": ALGORITHMS,
             "PYTHONPATH": ALGORITHMS + os.pathsep + os.environ.get("PYTHONPATH", "")}


def write_csv(path, x, y=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rows = x if y is None else np.column_stack([y, x])
    np.savetxt(path, rows, delimiter=",", fmt="%.6g")
    return os.path.dirname(path)


N_TRAIN = 267  # of binary_data()'s 400 rows; the rest is the validation channel


def binary_data(n=400, d=8, seed=0):
    """A noisy binary problem with interactions: validation AUC depends on eta, depth and rounds."""
    rng = np.random.RandomState(seed)
    x = rng.randn(n, d).astype(np.float32)
    w = rng.randn(d)
    z = x @ w * 0.7 + 1.5 * np.sin(2 * x[:, 0]) * x[:, 1] + 0.8 * (x[:, 2] > 0.5) * x[:, 3]
    y = (rng.rand(n) < 1 / (1 + np.exp(-z))).astype(np.float32)
    return x, y


def channel(name, uri, content_type="text/csv"):
    return {"ChannelName": name, "ContentType": content_type, "CompressionType": "None",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(uri),
                                            "S3DataDistributionType": "FullyReplicated"}}}


def tuning_request(name, image, objective, kind, ranges, static, channels, out, strategy="Bayesian",
                   jobs=4, parallel=2, seed=None, early_stopping=None, warm_start=None):
    cfg = {"Strategy": strategy,
           "HyperParameterTuningJobObjective": {"Type": kind, "MetricName": objective},
           "ResourceLimits": {"MaxNumberOfTrainingJobs": jobs, "MaxParallelTrainingJobs": parallel},
           "ParameterRanges": copy.deepcopy(ranges)}
    if seed is not None:
        cfg["RandomSeed"] = seed
    if early_stopping:
        cfg["TrainingJobEarlyStoppingType"] = early_stopping
    req = {"HyperParameterTuningJobName": name, "HyperParameterTuningJobConfig": cfg,
           "TrainingJobDefinition": {
               "StaticHyperParameters": {k: str(v) for k, v in static.items()},
               "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
               "RoleArn": "arn:aws:iam::000000000000:role/local",
               "InputDataConfig": copy.deepcopy(channels),
               "OutputDataConfig": {"S3OutputPath": "file://" + str(out)},
               "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
               "StoppingCondition": {"MaxRuntimeInSeconds": 300}}}
    if warm_start:
        req["WarmStartConfig"] = warm_start
    return req


def save(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)
    return str(path)


class Result:
    def __init__(self, rc, stdout, stderr):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr
        try:
            self.out = json.loads(stdout)
        except ValueError:
            self.out = None

    def __repr__(self):
        return "local-job rc=%s\n--- stdout\n%s\n--- stderr\n%s" % (self.rc, self.stdout[-3000:], self.stderr[-6000:])


def local_job(*args, env=None, timeout=240):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([sys.executable, LOCAL_JOB] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, cwd=REPO, env=e)
    return Result(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))


def objective(row):
    m = row.get("FinalHyperParameterTuningJobObjectiveMetric")
    return m["Value"] if m else None


class XgbObjective:
    """The objective the XGBoost image reports, computed in this process with xgboost itself: the last
    round's validation AUC with the image's defaults (alpha 1, base_score 0.5) on the same float32 data."""

    @classmethod
    def from_dirs(cls, train_dir, val_dir):
        tr = np.loadtxt(os.path.join(train_dir, "train.csv"), delimiter=",", dtype=np.float32)
        va = np.loadtxt(os.path.join(val_dir, "validation.csv"), delimiter=",", dtype=np.float32)
        return cls(tr, va)

    def __init__(self, train, validation):
        import xgboost as xgb
        self.xgb = xgb
        self.dtrain = xgb.DMatrix(train[:, 1:], label=train[:, 0])
        self.dval = xgb.DMatrix(validation[:, 1:], label=validation[:, 0])
        self.cache = {}

    def __call__(self, hp):
        key = (hp["eta"], hp["max_depth"], hp["num_round"])
        if key not in self.cache:
            params = {"objective": "binary:logistic", "eval_metric": "auc", "eta": float(hp["eta"]),
                      "max_depth": int(hp["max_depth"]), "alpha": 1.0, "base_score": 0.5, "seed": 0, "nthread": 1}
            res = {}
            self.xgb.train(params, self.dtrain, int(hp["num_round"]), evals=[(self.dval, "validation")],
                           evals_result=res, verbose_eval=False)
            self.cache[key] = res["validation"]["auc"][-1]
        return self.cache[key]
