"""`local-job tune` and `local-job spec`: their arguments and what they run."""
import json


def add_parsers(sub, common):
    t = sub.add_parser("tune", help="run a CreateHyperParameterTuningJob request")
    t.add_argument("request", help="CreateHyperParameterTuningJob request JSON file (- for stdin)")
    common(t)
    t.add_argument("--image", help="override TrainingJobDefinition.AlgorithmSpecification.TrainingImage")
    t.add_argument("--stop-grace", type=float, default=120,
                   help="seconds between SIGTERM and SIGKILL when a training job is stopped (service: 120)")
    t.add_argument("--parent-dir", action="append", default=[], metavar="DIR",
                   help="where to look for warm-start parents' records besides this request's S3OutputPath "
                        "(the S3OutputPath they ran with; repeatable)")
    t.add_argument("--replace", action="store_true",
                   help="overwrite the record of a tuning job of the same name in S3OutputPath")
    t.add_argument("-v", "--verbose", action="store_true", help="show the training jobs' metric and error lines")
    t.set_defaults(handler=tune)

    s = sub.add_parser("spec", help="print the CreateAlgorithm request (TrainingSpecification, "
                                    "InferenceSpecification) of an algorithm, from its algorithm.yaml")
    s.add_argument("algorithm", help="ALGORITHM name (kmeans, linear-learner, ...), or `all` for every one")
    s.add_argument("--image", help="TrainingImage and inference Image (default: <name>:<version>-cpu)")
    s.add_argument("--registry", help="prefix the default image with this registry path, as scripts/push does")
    s.add_argument("--variant", choices=["cpu", "gpu"], help="the image variant named by the default image")
    s.set_defaults(handler=spec, quiet=False)


def spec(args, term):
    from localjob.spec import command
    return command(args)


def tune(args, term):
    from localjob.cli import _load, choose_backend
    from localjob.tuning.jobs import TrainingJobs
    from localjob.tuning.request import TuningRequest
    from localjob.tuning.tuner import Tuner, finish
    request = _load(args.request)
    definition = request.get("TrainingJobDefinition") or {}
    algo = definition.get("AlgorithmSpecification") or {}
    if args.image:
        algo = dict(algo, TrainingImage=args.image)
        request = dict(request, TrainingJobDefinition=dict(definition, AlgorithmSpecification=algo))
    image = algo.get("TrainingImage")
    algorithm = args.algorithm or (algo.get("AlgorithmName") if not image else None)
    factory = lambda: choose_backend(args.mode, image, algorithm)
    backend = factory()
    declaration = backend.declaration()
    tuning = TuningRequest(request, declaration)
    jobs = TrainingJobs(factory, stop_grace=args.stop_grace, verbose=args.verbose, declaration=declaration)
    tuner = Tuner(tuning, jobs, term, parent_dirs=args.parent_dir, replace=args.replace, mode=backend.mode)
    describe, rows = finish(tuner)
    out = dict(describe)
    out["TrainingJobSummaries"] = rows
    print(json.dumps(out, indent=2))
    return 0 if describe["HyperParameterTuningJobStatus"] == "Completed" else 1
