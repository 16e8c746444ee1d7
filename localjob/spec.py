"""A CreateAlgorithm request (TrainingSpecification and InferenceSpecification) from an algorithm.yaml.

Everything comes from the declaration except what it does not hold: the instance classes, taken from the
guide's "Common Parameters" table (CPU, GPU, single instance only) below, and the image, a placeholder
`<name>:<version>-cpu` (or -gpu) that --registry prefixes as scripts/push tags it.

Choices where the API is narrower than the declaration:
- a bound the declaration leaves open is the 32-bit limit (int) or float32's largest value (float), since a
  Range needs both ends; an exclusive lower bound is given as the bound itself;
- a hyperparameter with words in place of a number (`auto`) keeps its numeric Type when tunable (the words
  are its default) and is FreeText otherwise; string and list hyperparameters are FreeText, bool ones
  Categorical [true, false];
- the API takes at most 40 MetricDefinitions: validation and test metrics first, then train ones, each in
  declaration order; the objective metrics offered for tuning are the kept ones, less progress and
  throughput.
"""
import json
import sys

INT_MIN, INT_MAX = -2147483648, 2147483647
FLOAT_MAX = 3.4028234663852886e+38
MAX_METRICS = 40
MAX_HYPERPARAMETERS = 100

CPU_TRAINING = ["ml.m4.xlarge", "ml.m4.2xlarge", "ml.m4.4xlarge", "ml.m4.10xlarge", "ml.m4.16xlarge",
                "ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge", "ml.m5.4xlarge", "ml.m5.12xlarge", "ml.m5.24xlarge",
                "ml.c4.xlarge", "ml.c4.2xlarge", "ml.c4.4xlarge", "ml.c4.8xlarge",
                "ml.c5.xlarge", "ml.c5.2xlarge", "ml.c5.4xlarge", "ml.c5.9xlarge", "ml.c5.18xlarge"]
GPU_TRAINING = ["ml.p2.xlarge", "ml.p2.8xlarge", "ml.p2.16xlarge", "ml.p3.2xlarge", "ml.p3.8xlarge", "ml.p3.16xlarge"]
CPU_INFERENCE = CPU_TRAINING
GPU_INFERENCE = GPU_TRAINING
CPU_REALTIME_EXTRA = ["ml.t2.medium", "ml.t2.large", "ml.t2.xlarge", "ml.t2.2xlarge"]

# The guide's "Algorithms Provided by Amazon SageMaker: Common Parameters" table, Instance Class column:
# (CPU, GPU, more than one instance).
INSTANCE_CLASSES = {
    "blazingtext": (True, True, True),            # GPU (single instance only) or CPU
    "forecasting-deepar": (True, True, True),
    "factorization-machines": (True, True, True),  # CPU (GPU for dense data)
    "image-classification": (False, True, True),  # GPU
    "ipinsights": (True, True, True),
    "kmeans": (True, True, True),
    "knn": (True, True, True),
    "lda": (True, False, False),                  # CPU (single instance only)
    "linear-learner": (True, True, True),
    "ntm": (True, True, True),
    "object2vec": (True, True, False),
    "object-detection": (False, True, True),
    "pca": (True, True, True),
    "randomcutforest": (True, False, True),
    "seq2seq": (False, True, False),
    "xgboost": (True, False, True),
}


def _version():
    try:
        from importlib.metadata import version
        return version("sagemaker-algorithm-containers")
    except Exception:
        return "latest"


def _num(value, integer):
    v = float(value)  # YAML reads 1e-8 as a string
    return str(int(v)) if integer else repr(v)


def _hyperparameter(name, spec, tunable):
    t = spec["type"]
    tune = tunable.get(name)
    out = {"Name": name}
    if spec.get("description"):
        out["Description"] = str(spec["description"])[:1024]
    if t in ("int", "float") and not (spec.get("special") and not tune):
        integer = t == "int"
        out["Type"] = "Integer" if integer else "Continuous"
        lo = spec.get("min", spec.get("exclusive_min"))
        hi = spec.get("max")
        key = "IntegerParameterRangeSpecification" if integer else "ContinuousParameterRangeSpecification"
        if lo is None:
            lo = INT_MIN if integer else -FLOAT_MAX
        if hi is None:
            hi = INT_MAX if integer else FLOAT_MAX
        out["Range"] = {key: {"MinValue": _num(lo, integer), "MaxValue": _num(hi, integer)}}
    elif t in ("enum", "bool") or (tune and tune.get("type") == "Categorical"):
        out["Type"] = "Categorical"
        if tune and tune.get("values"):
            values = [str(v) for v in tune["values"]]
        elif t == "enum":
            values = [str(v) for v in spec["values"]]
        else:
            values = ["true", "false"]
        out["Range"] = {"CategoricalParameterRangeSpecification": {"Values": values}}
    else:
        out["Type"] = "FreeText"
    out["IsTunable"] = name in tunable
    out["IsRequired"] = bool(spec.get("required"))
    if spec.get("default") is not None and not spec.get("required"):
        d = spec["default"]
        out["DefaultValue"] = ("true" if d else "false") if isinstance(d, bool) else str(d)
    return out


def _metrics(decl):
    metrics = list(decl.get("metrics") or [])
    first = [m for m in metrics if not m["name"].startswith("train:")]
    rest = [m for m in metrics if m["name"].startswith("train:")]
    kept = (first + rest)[:MAX_METRICS]
    order = {m["name"]: i for i, m in enumerate(metrics)}
    kept.sort(key=lambda m: order[m["name"]])
    dropped = [m["name"] for m in metrics if m not in kept]
    return kept, dropped


def specification(decl, image=None, registry=None, variant=None, description=None):
    """The CreateAlgorithm request for a checked declaration (contract.declaration.load)."""
    from contract.declaration import metric_regex
    name = decl["name"]
    cpu, gpu, distributed = INSTANCE_CLASSES.get(name, (True, False, True))
    variant = variant or ("cpu" if cpu else "gpu")
    if image is None:
        image = "%s:%s-%s" % (name, _version(), variant)
        if registry:
            image = registry.rstrip("/") + "/" + image
    training_types = (CPU_TRAINING if cpu else []) + (GPU_TRAINING if gpu else [])
    transform_types = (CPU_INFERENCE if cpu else []) + (GPU_INFERENCE if gpu else [])
    tunable = decl.get("tunable") or {}
    hps = [_hyperparameter(n, s, tunable) for n, s in (decl.get("hyperparameters") or {}).items()]
    kept, dropped = _metrics(decl)
    training = {
        "TrainingImage": image,
        "SupportedHyperParameters": hps[:MAX_HYPERPARAMETERS],
        "SupportedTrainingInstanceTypes": training_types,
        "SupportsDistributedTraining": distributed,
        "MetricDefinitions": [{"Name": m["name"], "Regex": metric_regex(m)} for m in kept],
        "TrainingChannels": [
            {"Name": ch, "Description": str(s.get("description") or "the %s channel" % ch)[:1024],
             "IsRequired": bool(s.get("required")),
             "SupportedContentTypes": list(s["content_types"]),
             # the runtime detects gzip in File mode and the runner decompresses Pipe-mode channels
             "SupportedCompressionTypes": ["None", "Gzip"],
             "SupportedInputModes": list(s.get("modes") or ["File", "Pipe"])}
            for ch, s in (decl.get("channels") or {}).items()],
        "SupportedTuningJobObjectiveMetrics": [
            {"Type": m["direction"], "MetricName": m["name"]} for m in kept
            if not m["name"].endswith((":progress", ":throughput"))],
    }
    serving = decl.get("serving") or {}
    inference = {
        "Containers": [{"Image": image}],
        "SupportedTransformInstanceTypes": transform_types,
        "SupportedRealtimeInferenceInstanceTypes": (CPU_REALTIME_EXTRA if cpu else []) + transform_types,
        "SupportedContentTypes": list(serving.get("content_types") or []),
        "SupportedResponseMIMETypes": list(serving.get("accept") or []),
    }
    request = {"AlgorithmName": name,
               "AlgorithmDescription": (description or "%s, from containers/%s" % (name, _folder(decl)))[:1024],
               "TrainingSpecification": training, "InferenceSpecification": inference}
    return request, dropped


def _folder(decl):
    import os
    return os.path.basename(os.path.dirname(decl.get("path") or "")) or decl["name"]


def command(args):
    """`local-job spec ALGORITHM`: print the CreateAlgorithm request; exit 2 for an unknown algorithm."""
    from contract import registry
    from contract.errors import ClientError
    names = sorted(registry.available()) if args.algorithm == "all" else [args.algorithm]
    out = {}
    for n in names:
        try:
            decl = registry.declaration_of(n)
        except ClientError as e:
            print("local-job: %s" % e, file=sys.stderr)
            return 2
        out[n], dropped = specification(decl, image=args.image, registry=args.registry, variant=args.variant)
        if dropped:
            print("local-job: %s: the API takes %d MetricDefinitions; left out %s"
                  % (n, MAX_METRICS, ", ".join(dropped)), file=sys.stderr)
    print(json.dumps(out if args.algorithm == "all" else out[names[0]], indent=2))
    return 0
