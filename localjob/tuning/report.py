"""DescribeHyperParameterTuningJob and ListTrainingJobsForHyperParameterTuningJob, shaped as the API returns
them, and the record a tuning job leaves in its output folder for later warm starts."""
import json
import os

from localjob import clock

ACCOUNT = "000000000000"
DESCRIBE_FILE = "DescribeHyperParameterTuningJob.json"
LIST_FILE = "ListTrainingJobsForHyperParameterTuningJob.json"


def tuning_arn(name):
    return "arn:aws:sagemaker:local:%s:hyper-parameter-tuning-job/%s" % (ACCOUNT, name.lower())


def training_arn(name):
    return "arn:aws:sagemaker:local:%s:training-job/%s" % (ACCOUNT, name.lower())


def better(a, b, minimize):
    return a < b if minimize else a > b


def summary(tuning_name, job, objective):
    """One HyperParameterTrainingJobSummary: a row of the list, and the shape of BestTrainingJob."""
    row = {
        "TrainingJobName": job["TrainingJobName"],
        "TrainingJobArn": training_arn(job["TrainingJobName"]),
        "TuningJobName": tuning_name,
        "CreationTime": clock.iso(job["CreationTime"]),
        "TrainingStartTime": clock.iso(job["TrainingStartTime"]),
        "TrainingEndTime": clock.iso(job["TrainingEndTime"]),
        "TrainingJobStatus": job["TrainingJobStatus"],
        "TunedHyperParameters": dict(job["TunedHyperParameters"]),
    }
    if job.get("FailureReason") and job["TrainingJobStatus"] == "Failed":
        row["FailureReason"] = job["FailureReason"][:1024]
    if job.get("ObjectiveStatus") == "Succeeded":
        row["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective["Type"], "MetricName": objective["MetricName"], "Value": job["Value"]}
    row["ObjectiveStatus"] = job.get("ObjectiveStatus", "Pending")
    return row


def best_of(rows, minimize):
    best = None
    for row in rows:
        m = row.get("FinalHyperParameterTuningJobObjectiveMetric")
        if row.get("ObjectiveStatus") != "Succeeded" or not m:
            continue
        if best is None or better(m["Value"], best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"], minimize):
            best = row
    return best


def counters(jobs):
    status = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
    objective = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    for j in jobs:
        s = j["TrainingJobStatus"]
        if s == "Failed":
            # only the platform's own faults are worth a retry; the user's and the algorithm's are not
            retry = (j.get("FailureReason") or "").startswith(("InternalServerError", "PlatformError"))
            status["RetryableError" if retry else "NonRetryableError"] += 1
        else:
            status[s] = status.get(s, 0) + 1
        objective[j.get("ObjectiveStatus", "Pending")] += 1
    return status, objective


def describe(tuning, jobs, status, created, ended, parents_best=None, failure=None, local=None):
    """tuning: the TuningRequest; jobs: the finished and running jobs; parents_best: the best rows of the
    parent tuning jobs (IdenticalDataAndAlgorithm), for OverallBestTrainingJob."""
    objective = tuning.objective
    minimize = objective["Type"] == "Minimize"
    rows = [summary(tuning.name, j, objective) for j in jobs]
    status_counts, objective_counts = counters(jobs)
    config = dict(tuning.config)
    config.setdefault("TrainingJobEarlyStoppingType", tuning.early_stopping)
    out = {
        "HyperParameterTuningJobName": tuning.name,
        "HyperParameterTuningJobArn": tuning_arn(tuning.name),
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": tuning.definition,
        "HyperParameterTuningJobStatus": status,
        "CreationTime": clock.iso(created),
    }
    if ended is not None:
        out["HyperParameterTuningEndTime"] = clock.iso(ended)
    out["LastModifiedTime"] = clock.iso(ended or max([created] + [j["TrainingEndTime"] for j in jobs
                                                                     if j.get("TrainingEndTime")]))
    out["TrainingJobStatusCounters"] = status_counts
    out["ObjectiveStatusCounters"] = objective_counts
    best = best_of(rows, minimize)
    if best:
        out["BestTrainingJob"] = best
    if tuning.warm_start:
        if tuning.warm_start.get("WarmStartType") == "IdenticalDataAndAlgorithm":
            overall = best_of(([best] if best else []) + list(parents_best or []), minimize)
            if overall:
                out["OverallBestTrainingJob"] = overall
        out["WarmStartConfig"] = tuning.warm_start
    if failure:
        out["FailureReason"] = failure
    if local:
        out["LocalJob"] = local
    return out, rows


def write(folder, describe_obj, rows):
    """The tuning job's record, <S3OutputPath>/<HyperParameterTuningJobName>/, written atomically."""
    os.makedirs(folder, exist_ok=True)
    for name, obj in ((DESCRIBE_FILE, describe_obj), (LIST_FILE, {"TrainingJobSummaries": rows})):
        tmp = os.path.join(folder, "." + name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2)
        os.replace(tmp, os.path.join(folder, name))


def read(folder):
    with open(os.path.join(folder, DESCRIBE_FILE)) as f:
        d = json.load(f)
    with open(os.path.join(folder, LIST_FILE)) as f:
        rows = json.load(f)["TrainingJobSummaries"]
    return d, rows
