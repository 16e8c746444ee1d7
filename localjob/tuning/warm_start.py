"""WarmStartConfig: the parent tuning jobs' evaluations, read from the records they left in their output
folders, checked against the guide's restrictions, and handed to the search as what is already known."""
import os

from localjob.tuning import report
from localjob.uris import RequestError, local_path

MAX_PARENTS = 5
MAX_CHANGES = 10
TERMINAL = ("Completed", "Stopped", "Failed")
TYPES = ("Integer", "Continuous", "Categorical")


def _ranges_of(config):
    """name -> (type, range dict) of a HyperParameterTuningJobConfig."""
    out = {}
    pr = config.get("ParameterRanges") or {}
    for kind in TYPES:
        for r in pr.get("%sParameterRanges" % kind) or []:
            out[r["Name"]] = (kind, r)
    return out


def _visible(names):
    return {n for n in names if not n.startswith("_")}


class Parent:
    def __init__(self, name, folder, describe, rows):
        self.name, self.folder, self.describe, self.rows = name, folder, describe, rows

    @property
    def static(self):
        return {str(k): str(v) for k, v in
                ((self.describe.get("TrainingJobDefinition") or {}).get("StaticHyperParameters") or {}).items()}

    @property
    def ranges(self):
        return _ranges_of(self.describe.get("HyperParameterTuningJobConfig") or {})


def find(name, search_dirs):
    for d in search_dirs:
        folder = os.path.join(d, name)
        if os.path.isfile(os.path.join(folder, report.DESCRIBE_FILE)):
            try:
                describe, rows = report.read(folder)
            except (OSError, ValueError, KeyError) as e:
                raise RequestError("parent tuning job %s: cannot read its record in %s: %s" % (name, folder, e))
            return Parent(name, folder, describe, rows)
    raise RequestError("WarmStartConfig: parent tuning job %s has no record (%s) in %s; pass --parent-dir "
                       "with the S3OutputPath it ran with" % (name, report.DESCRIBE_FILE, ", ".join(search_dirs)))


def load(tuning, extra_dirs=()):
    """The parents of a TuningRequest with warm start, checked; [] without warm start."""
    ws = tuning.warm_start
    if not ws:
        return []
    kind = ws.get("WarmStartType")
    if kind not in ("IdenticalDataAndAlgorithm", "TransferLearning"):
        raise RequestError("WarmStartConfig.WarmStartType %r is not IdenticalDataAndAlgorithm or TransferLearning"
                           % kind)
    names = [p.get("HyperParameterTuningJobName") for p in ws.get("ParentHyperParameterTuningJobs") or []]
    if not names:
        raise RequestError("WarmStartConfig.ParentHyperParameterTuningJobs is empty")
    if len(names) > MAX_PARENTS:
        raise RequestError("WarmStartConfig: at most %d parent tuning jobs, not %d" % (MAX_PARENTS, len(names)))
    out = (tuning.definition.get("OutputDataConfig") or {}).get("S3OutputPath")
    dirs = [local_path(out, "OutputDataConfig.S3OutputPath")] + [os.path.abspath(d) for d in extra_dirs]
    parents = [find(n, dirs) for n in names]
    for p in parents:
        _check(tuning, p, kind)
    return parents


def _check(tuning, parent, kind):
    d = parent.describe
    who = "parent tuning job %s" % parent.name
    if d.get("HyperParameterTuningJobStatus") not in TERMINAL:
        raise RequestError("%s is %s; a parent must have ended (Completed, Stopped or Failed)"
                           % (who, d.get("HyperParameterTuningJobStatus")))
    objective = (d.get("HyperParameterTuningJobConfig") or {}).get("HyperParameterTuningJobObjective") or {}
    want = tuning.objective
    if (objective.get("MetricName"), objective.get("Type")) != (want["MetricName"], want["Type"]):
        raise RequestError("%s: its objective (%s %s) is not this job's (%s %s); warm start keeps the objective"
                           % (who, objective.get("Type"), objective.get("MetricName"), want["Type"], want["MetricName"]))
    mine = _ranges_of(tuning.config)
    theirs = parent.ranges
    if _visible(set(mine) | set(tuning.static)) != _visible(set(theirs) | set(parent.static)):
        raise RequestError("%s: the set of tunable plus static hyperparameter names is not the same as this "
                           "job's (%s here, %s there); keep it when warm starting (a static hyperparameter may "
                           "become tunable and back)"
                           % (who, ", ".join(sorted(_visible(set(mine) | set(tuning.static)))),
                              ", ".join(sorted(_visible(set(theirs) | set(parent.static))))))
    changes = 0
    for name, (t, r) in mine.items():
        if name in theirs and theirs[name][0] != t:
            raise RequestError("%s: %s is a %s range there and a %s range here; its type cannot change"
                               % (who, name, theirs[name][0], t))
    for name, (t, r) in theirs.items():
        if name in tuning.static:
            changes += len(r.get("Values") or []) if t == "Categorical" else 1
    for name, v in tuning.static.items():
        if name in parent.static and parent.static[name] != v and not name.startswith("_"):
            changes += 1
    if changes > MAX_CHANGES:
        raise RequestError("%s: %d changes from tunable to static or of static values (each categorical value "
                           "counts); at most %d" % (who, changes, MAX_CHANGES))
    if kind == "IdenticalDataAndAlgorithm":
        pd = d.get("TrainingJobDefinition") or {}
        image = ((pd.get("AlgorithmSpecification") or {}).get("TrainingImage"))
        if image != tuning.image:
            raise RequestError("%s ran image %s, this job %s: IdenticalDataAndAlgorithm needs the same training "
                               "image (use TransferLearning)" % (who, image, tuning.image))
        if _data(pd) != _data(tuning.definition):
            raise RequestError("%s read other input data: IdenticalDataAndAlgorithm needs the same InputDataConfig "
                               "(use TransferLearning)" % who)


def _data(definition):
    return sorted((c.get("ChannelName"), ((c.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri"))
                  for c in definition.get("InputDataConfig") or [])


def evaluations(tuning, parents):
    """(point, objective) of every parent training job with a final objective whose values lie in this
    job's space: its tuned values over its static ones, as that job ran."""
    out = []
    for p in parents:
        for row in p.rows:
            metric = row.get("FinalHyperParameterTuningJobObjectiveMetric")
            if row.get("ObjectiveStatus") != "Succeeded" or not metric:
                continue
            values = dict(p.static)
            values.update(row.get("TunedHyperParameters") or {})
            point = tuning.space.point(values)
            if point is not None:
                out.append((point, metric["Value"], row))
    return out


def best_rows(parents, minimize):
    return [r for r in (report.best_of(p.rows, minimize) for p in parents) if r]
