"""A CreateHyperParameterTuningJob request, checked against the algorithm's declaration before any job runs.

What the service refuses, refused here with a message naming the field: a range outside what the
hyperparameter allows, a hyperparameter that is not tunable, an objective the algorithm does not emit (or
one tuned the wrong way), static hyperparameters or channels the algorithm would reject, a scaling type
the range cannot take, fewer combinations than MaxNumberOfTrainingJobs.
"""
import math
import re

from localjob.tuning.space import SCALINGS, CategoricalRange, NumericRange, Space
from localjob.uris import RequestError

STRATEGIES = ("Bayesian", "Random")
EARLY_STOPPING = ("Off", "Auto")
NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")
MAX_RANGES = 30          # the API's limit on each ParameterRanges list
TUNING_OBJECTIVE_HP = "_tuning_objective_metric"


def _api_shape_errors(request):
    """The API's own shape check (types, required members, unknown keys) when botocore is at hand."""
    try:
        import botocore.session
        from botocore.validate import ParamValidator
    except ImportError:
        return None
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("CreateHyperParameterTuningJob").input_shape
    request = dict(request)
    if isinstance(request.get("TrainingJobDefinition"), dict):
        # no IAM here: a missing RoleArn is the one required member the local runner lets go
        request["TrainingJobDefinition"] = dict(request["TrainingJobDefinition"])
        request["TrainingJobDefinition"].setdefault("RoleArn", "arn:aws:iam::000000000000:role/local")
    report = ParamValidator().validate(request, shape)
    return report.generate_report() if report.has_errors() else None


def _number(text, what, integer=False):
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise RequestError("%s: %r is not a number" % (what, text))
    if math.isnan(v) or math.isinf(v):
        raise RequestError("%s: %r is not a finite number" % (what, text))
    if integer:
        if not v.is_integer():
            raise RequestError("%s: %r is not an integer" % (what, text))
        return int(v)
    return v


class TuningRequest:
    """The parts of the request the tuner uses, checked. `declaration` is the algorithm's algorithm.yaml."""

    def __init__(self, request, declaration):
        if not isinstance(request, dict):
            raise RequestError("the request is not a JSON object")
        errors = _api_shape_errors(request)
        if errors:
            raise RequestError("the request does not match CreateHyperParameterTuningJob: %s" % errors)
        self.raw = request
        self.decl = declaration or {}
        self.algorithm = self.decl.get("name") or "the algorithm"
        self.name = request.get("HyperParameterTuningJobName") or ""
        if not NAME_RE.match(self.name):
            raise RequestError("HyperParameterTuningJobName %r: 1 to 32 letters, digits and hyphens, starting "
                               "with a letter or digit" % self.name)
        cfg = request.get("HyperParameterTuningJobConfig") or {}
        self.config = cfg
        self.definition = request.get("TrainingJobDefinition") or {}
        if not self.definition:
            raise RequestError("TrainingJobDefinition is missing")
        self.strategy = cfg.get("Strategy")
        if self.strategy not in STRATEGIES:
            raise RequestError("HyperParameterTuningJobConfig.Strategy %r: the local runner does %s"
                               % (self.strategy, " and ".join(STRATEGIES)))
        self.early_stopping = cfg.get("TrainingJobEarlyStoppingType") or "Off"
        if self.early_stopping not in EARLY_STOPPING:
            raise RequestError("TrainingJobEarlyStoppingType %r is not Off or Auto" % self.early_stopping)
        self.seed = cfg.get("RandomSeed")
        limits = cfg.get("ResourceLimits") or {}
        self.max_jobs = limits.get("MaxNumberOfTrainingJobs")
        self.max_parallel = limits.get("MaxParallelTrainingJobs")
        for key, v in (("MaxNumberOfTrainingJobs", self.max_jobs), ("MaxParallelTrainingJobs", self.max_parallel)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise RequestError("ResourceLimits.%s must be a positive integer, not %r" % (key, v))
        self.hyperparameters = self.decl.get("hyperparameters") or {}
        self.aliases = {a: n for n, s in self.hyperparameters.items() for a in (s.get("aliases") or [])}
        self.static = {str(k): str(v) for k, v in (self.definition.get("StaticHyperParameters") or {}).items()}
        self.metric_definitions = self._metric_definitions()
        self.objective = self._objective(cfg.get("HyperParameterTuningJobObjective") or {})
        self.space = Space(self._ranges(cfg.get("ParameterRanges") or {}))
        self._check_static()
        self._check_channels()
        if self.space.combinations() < self.max_jobs:
            raise RequestError("the ranges give %d combinations of hyperparameter values, fewer than "
                               "MaxNumberOfTrainingJobs (%d): widen the ranges or run fewer jobs"
                               % (self.space.combinations(), self.max_jobs))
        algo = self.definition.get("AlgorithmSpecification") or {}
        self.image = algo.get("TrainingImage")
        self.warm_start = request.get("WarmStartConfig")

    # ---- objective --------------------------------------------------------------------------------
    def _metric_definitions(self):
        """name -> regex: the algorithm's declared metrics, then the request's MetricDefinitions over them."""
        from contract.declaration import metric_regex
        defs = {m["name"]: metric_regex(m) for m in self.decl.get("metrics") or []}
        given = (self.definition.get("AlgorithmSpecification") or {}).get("MetricDefinitions") or []
        for m in given:
            try:
                if re.compile(m.get("Regex") or "").groups < 1:
                    raise RequestError("MetricDefinitions %s: the regex %r captures no value"
                                       % (m.get("Name"), m.get("Regex")))
            except re.error as e:
                raise RequestError("MetricDefinitions %s: bad regex %r: %s" % (m.get("Name"), m.get("Regex"), e))
            defs[m["Name"]] = m["Regex"]
        return defs

    def _objective(self, obj):
        name, kind = obj.get("MetricName"), obj.get("Type")
        if kind not in ("Maximize", "Minimize"):
            raise RequestError("HyperParameterTuningJobObjective.Type must be Maximize or Minimize, not %r" % kind)
        if name not in self.metric_definitions:
            raise RequestError("objective metric %r is not one that %s emits; choose one of: %s (or give its "
                               "regex in AlgorithmSpecification.MetricDefinitions)"
                               % (name, self.algorithm, ", ".join(sorted(self.metric_definitions)) or "none"))
        declared = {m["name"]: m.get("direction") for m in self.decl.get("metrics") or []}
        algo = self.definition.get("AlgorithmSpecification") or {}
        given = {m.get("Name") for m in algo.get("MetricDefinitions") or []}
        if name not in given and declared.get(name) and declared[name] != kind:
            raise RequestError("objective metric %s of %s is to %s, not %s"
                               % (name, self.algorithm, declared[name].lower(), kind.lower()))
        return {"MetricName": name, "Type": kind, "Regex": self.metric_definitions[name]}

    # ---- ranges -----------------------------------------------------------------------------------
    def _spec(self, name, where):
        canonical = self.aliases.get(name, name)
        spec = self.hyperparameters.get(canonical)
        if spec is None:
            raise RequestError("%s: %s is not a hyperparameter of %s" % (where, name, self.algorithm))
        tunable = self.decl.get("tunable") or {}
        if canonical not in tunable:
            raise RequestError("%s: %s is not tunable for %s; tunable hyperparameters: %s"
                               % (where, name, self.algorithm, ", ".join(sorted(tunable)) or "none"))
        return canonical, spec, tunable[canonical]

    def _allowed(self, name, spec, text, where):
        from contract.declaration import convert
        from contract.errors import ClientError
        try:
            return convert(name, text, spec)
        except ClientError as e:
            raise RequestError("%s: %s" % (where, e))

    def _ranges(self, pr):
        ranges, seen = [], set()
        for key, kind in (("IntegerParameterRanges", "Integer"), ("ContinuousParameterRanges", "Continuous"),
                          ("CategoricalParameterRanges", "Categorical")):
            items = pr.get(key) or []
            if len(items) > MAX_RANGES:
                raise RequestError("ParameterRanges.%s: at most %d ranges" % (key, MAX_RANGES))
            for i, r in enumerate(items):
                name = r.get("Name")
                where = "ParameterRanges.%s[%d] (%s)" % (key, i, name)
                canonical, spec, tunable = self._spec(name, where)
                if canonical in seen:
                    raise RequestError("%s: %s has more than one range" % (where, name))
                seen.add(canonical)
                if name in self.static or canonical in self.static:
                    raise RequestError("%s: %s is also in StaticHyperParameters; a hyperparameter is static or "
                                       "tuned, not both" % (where, name))
                ranges.append(self._range(kind, r, name, spec, tunable, where))
        if not ranges:
            raise RequestError("ParameterRanges names no hyperparameter to tune")
        return ranges

    def _range(self, kind, r, name, spec, tunable, where):
        if kind == "Categorical":
            values = [str(v) for v in r.get("Values") or []]
            if not values:
                raise RequestError("%s: Values is empty" % where)
            if len(set(values)) != len(values):
                raise RequestError("%s: Values repeats a value" % where)
            for v in values:
                self._allowed(name, spec, v, where)
            return CategoricalRange(name, values)
        if tunable.get("type") == "Categorical" or spec["type"] not in ("int", "float"):
            raise RequestError("%s: %s takes categorical values; use CategoricalParameterRanges" % (where, name))
        if kind == "Continuous" and (spec["type"] == "int" or tunable.get("type") == "Integer"):
            raise RequestError("%s: %s takes integers; use IntegerParameterRanges" % (where, name))
        integer = kind == "Integer"
        lo = _number(r.get("MinValue"), where + " MinValue", integer)
        hi = _number(r.get("MaxValue"), where + " MaxValue", integer)
        if lo > hi:
            raise RequestError("%s: MinValue %s is greater than MaxValue %s" % (where, lo, hi))
        if kind == "Continuous" and lo == hi:
            raise RequestError("%s: MinValue and MaxValue are equal; make %s static instead" % (where, name))
        for v in (lo, hi):
            self._allowed(name, spec, str(v), where)
        scaling = r.get("ScalingType") or "Auto"
        if scaling not in SCALINGS:
            raise RequestError("%s: ScalingType %r is not one of %s" % (where, scaling, ", ".join(SCALINGS)))
        if scaling == "Logarithmic" and lo <= 0:
            raise RequestError("%s: Logarithmic scaling needs MinValue > 0" % where)
        if scaling == "ReverseLogarithmic" and (kind != "Continuous" or not (0 <= lo and hi < 1)):
            raise RequestError("%s: ReverseLogarithmic scaling takes continuous ranges within 0 <= x < 1" % where)
        return NumericRange(name, kind, lo, hi, scaling)

    # ---- what a job would be refused for -------------------------------------------------------------
    def _check_static(self):
        """A job's full hyperparameters (each range at its lower end) pass the algorithm's validation."""
        from contract.declaration import validate
        from contract.errors import ClientError
        sample = dict(self.static)
        for r in self.space.ranges:
            sample[r.name] = r.values[0] if r.kind == "Categorical" else r.text(r.lo)
        sample[TUNING_OBJECTIVE_HP] = self.objective["MetricName"]
        if not self.hyperparameters:
            return  # a declaration without hyperparameters (an image that carries none): the job will say
        try:
            validate(self.hyperparameters, sample, self.decl.get("ignored") or ())
        except ClientError as e:
            raise RequestError("TrainingJobDefinition.StaticHyperParameters: %s" % e)

    def _check_channels(self):
        from contract.declaration import validate_channels
        from contract.errors import ClientError
        channels = self.decl.get("channels")
        if not channels:
            return
        algo = self.definition.get("AlgorithmSpecification") or {}
        idc = {}
        for ch in self.definition.get("InputDataConfig") or []:
            s3 = (ch.get("DataSource") or {}).get("S3DataSource") or {}
            entry = {"TrainingInputMode": ch.get("InputMode") or algo.get("TrainingInputMode") or "File",
                     "S3DistributionType": s3.get("S3DataDistributionType") or "FullyReplicated"}
            if ch.get("ContentType"):
                entry["ContentType"] = ch["ContentType"]
            idc[ch.get("ChannelName")] = entry
        try:
            validate_channels(channels, idc)
        except ClientError as e:
            raise RequestError("TrainingJobDefinition.InputDataConfig: %s" % e)

    # ---- what each training job gets --------------------------------------------------------------
    def training_request(self, job_name, tuned):
        d = self.definition
        hp = dict(self.static)
        hp.update(tuned)
        hp[TUNING_OBJECTIVE_HP] = self.objective["MetricName"]  # as the service adds it
        algo = {k: v for k, v in (d.get("AlgorithmSpecification") or {}).items() if k != "AlgorithmName"}
        req = {"TrainingJobName": job_name, "AlgorithmSpecification": algo, "HyperParameters": hp,
               "RoleArn": d.get("RoleArn", "arn:aws:iam::000000000000:role/local"),
               "InputDataConfig": d.get("InputDataConfig") or [], "OutputDataConfig": d.get("OutputDataConfig"),
               "ResourceConfig": d.get("ResourceConfig") or {"InstanceCount": 1},
               "StoppingCondition": d.get("StoppingCondition") or {}}
        for key in ("VpcConfig", "EnableNetworkIsolation", "EnableInterContainerTrafficEncryption",
                    "CheckpointConfig", "Environment"):
            if key in d:
                req[key] = d[key]
        return req
