"""Run SageMaker jobs locally from the API's own request JSON.

  local-job train     create-training-job.json   [--mode docker|process] [--algorithm NAME]
  local-job transform create-transform-job.json  (--model-data model.tar.gz [--image IMAGE] | --model create-model.json)
                                                 [--log-dir DIR]
  local-job serve     --model-data model.tar.gz --image IMAGE [--port 8080] [--stop-grace SECONDS]
  local-job tune      create-hyper-parameter-tuning-job.json [--mode docker|process] [--parent-dir DIR]
  local-job spec      ALGORITHM|all [--registry REGISTRY] [--image IMAGE]

Requests are the JSON bodies of CreateTrainingJob / CreateTransformJob / CreateModel. Every S3Uri,
S3OutputPath and ModelDataUrl is a local path or a file:// URI. Training writes what the service writes:
<S3OutputPath>/<TrainingJobName>/output/model.tar.gz (and output.tar.gz, or `failure`), plus the
containers' logs in <S3OutputPath>/<TrainingJobName>/logs/. A transform job writes only what the service
writes, <S3OutputPath>/<input>.out; the model server's log goes to --log-dir (default: a new temp
directory), named in the summary and in LocalJob.ServerLog.

There is no CreateModel store, so a transform job's model comes from, in this order: --model-data and
--image; a CreateModel request given with --model (its PrimaryContainer.Image, ModelDataUrl, Environment);
or a "PrimaryContainer" object of the same shape inside the CreateTransformJob request itself.

--mode docker (the default when a docker engine answers) runs the images as the platform does:
`docker run IMAGE train` per host on a private network (hosts algo-1..N), `docker run IMAGE serve`.
--mode process runs this project's installed `train` / `serve` programs instead; the algorithm is the
image name's repository part (kmeans:0.1.0-cpu -> kmeans) unless --algorithm says otherwise.

Ctrl-C (SIGINT) or SIGTERM stops a job as StopTrainingJob would (SIGTERM to the containers, SIGKILL
after --stop-grace), and stops `serve` within --stop-grace seconds; a second Ctrl-C kills at once.

`tune` runs a CreateHyperParameterTuningJob request (Strategy Bayesian or Random, ParameterRanges with
ScalingType, TrainingJobEarlyStoppingType Off/Auto, WarmStartConfig): the ranges, the objective and the
static hyperparameters are checked against the algorithm's algorithm.yaml before any job starts; up to
MaxParallelTrainingJobs training jobs run at once through the same runner as `train`, each with
_tuning_objective_metric set, its output in <S3OutputPath>/<tuning job>-NNN-xxxxxxxx/, its objective read from
its log with the declared regex (or MetricDefinitions). One line per finished job on stderr; at the end the
DescribeHyperParameterTuningJob-shaped JSON with the ListTrainingJobsForHyperParameterTuningJob rows
("TrainingJobSummaries") on stdout. The record <S3OutputPath>/<tuning job>/ is what a warm start reads.
`spec` prints the CreateAlgorithm request (TrainingSpecification, InferenceSpecification) built from an
algorithm's algorithm.yaml.

Progress and a summary go to stderr; the DescribeTrainingJob / DescribeTransformJob-shaped result goes
to stdout as JSON (its "LocalJob" object is the runner's own: mode, logs, exit codes). Exit status: 0 when
the job Completed, 1 when it Failed or was Stopped, 2 when the request could not be run.
"""
import argparse
import json
import signal
import sys
import time

from localjob import docker
from localjob.backends import DockerBackend, ProcessBackend
from localjob.progress import Terminal
from localjob.uris import RequestError


def _load(path):
    try:
        with (sys.stdin if path == "-" else open(path)) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise RequestError("cannot read request %s: %s" % (path, e))


def choose_backend(mode, image, algorithm):
    if mode is None:
        mode = "docker" if docker.available() else "process"
    if mode == "docker":
        if not docker.available():
            raise RequestError("--mode docker: no docker engine answers (try --mode process)")
        return DockerBackend(image, algorithm)
    return ProcessBackend(image, algorithm)


def _common(p):
    p.add_argument("--mode", choices=["docker", "process"],
                   help="docker (the default when a docker engine answers) or process (the installed "
                        "train/serve programs)")
    p.add_argument("--algorithm", help="ALGORITHM to run (process mode: default from the image name, "
                                       "e.g. kmeans:0.1.0-cpu -> kmeans; docker mode: default baked in the image)")
    p.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")


def parser():
    ap = argparse.ArgumentParser(prog="local-job", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="run a CreateTrainingJob request")
    t.add_argument("request", help="CreateTrainingJob request JSON file (- for stdin)")
    _common(t)
    t.add_argument("--image", help="override AlgorithmSpecification.TrainingImage")
    t.add_argument("--stop-grace", type=float, default=120,
                   help="seconds between SIGTERM and SIGKILL when the job is stopped (service: 120)")
    t.add_argument("--work-dir", help="where each host's /opt/ml is laid out (default: a temp dir, removed)")
    t.add_argument("--keep-work-dir", action="store_true")
    t.add_argument("--replace", action="store_true",
                   help="overwrite S3OutputPath/TrainingJobName when it exists (the service refuses reused names)")
    t.add_argument("--pipe-bytes-per-second", type=float,
                   help="feed Pipe mode channels at most this fast (to try slow-input behaviour)")
    t.add_argument("-v", "--verbose", action="store_true", help="show every log line, not only metrics and errors")

    x = sub.add_parser("transform", help="run a CreateTransformJob request")
    x.add_argument("request", help="CreateTransformJob request JSON file (- for stdin)")
    _common(x)
    x.add_argument("--model-data", help="the model.tar.gz (ModelDataUrl) of ModelName")
    x.add_argument("--model", help="a CreateModel request JSON (PrimaryContainer Image, ModelDataUrl, Environment)")
    x.add_argument("--image", help="the inference image (overrides the model's Image)")
    x.add_argument("--log-dir", help="where the model server's log goes (default: a new temp directory; "
                                     "never the S3OutputPath, where the service writes only <input>.out)")

    s = sub.add_parser("serve", help="host a model.tar.gz on a local port until Ctrl-C")
    _common(s)
    s.add_argument("--model-data", help="the model.tar.gz to serve")
    s.add_argument("--model", help="a CreateModel request JSON instead of --model-data/--image")
    s.add_argument("--image", help="the inference image")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                   help="extra container environment (repeatable)")
    s.add_argument("--stop-grace", type=float, default=SERVE_STOP_GRACE,
                   help="seconds between SIGTERM and SIGKILL when Ctrl-C stops the server (default %(default)s)")
    from localjob.tuning.command import add_parsers
    add_parsers(sub, _common)  # tune, spec
    return ap


# A user's Ctrl-C should not wait out gunicorn's graceful timeout (20 s) on a loaded machine.
SERVE_STOP_GRACE = 10


def _interrupt(signum, frame):
    raise KeyboardInterrupt()


def main(argv=None):
    args = parser().parse_args(argv)
    term = Terminal(quiet=args.quiet)
    # SIGINT and SIGTERM stop the job as StopTrainingJob would, rather than orphaning containers. SIGINT
    # explicitly: a program started in the background of a non-interactive shell (`cmd &` in a script or
    # CI) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt, so `kill -INT` and a
    # later Ctrl-C would leave the runner and its server running.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if getattr(args, "handler", None):  # tune, spec
            return args.handler(args, term)
        if args.command == "train":
            return _train(args, term)
        if args.command == "transform":
            return _transform(args, term)
        return _serve(args, term)
    except (RequestError, docker.DockerError) as e:
        print("local-job: %s" % e, file=sys.stderr)
        return 2


def _train(args, term):
    from localjob.training import TrainingRun
    request = _load(args.request)
    image = args.image or (request.get("AlgorithmSpecification") or {}).get("TrainingImage")
    backend = choose_backend(args.mode, image, args.algorithm)
    run = TrainingRun(request, backend, term, stop_grace=args.stop_grace, work_dir=args.work_dir,
                      keep_work_dir=args.keep_work_dir, verbose=args.verbose,
                      pipe_bytes_per_second=args.pipe_bytes_per_second, replace=args.replace)
    describe = run.run()
    print(json.dumps(describe, indent=2))
    return 0 if describe["TrainingJobStatus"] == "Completed" else 1


def _transform(args, term):
    from localjob.transform import TransformRun, model_source
    request = _load(args.request)
    image, model_data, model_env = model_source(request, _load(args.model) if args.model else None,
                                                args.model_data, args.image)
    backend = choose_backend(args.mode, image, args.algorithm)
    describe = TransformRun(request, backend, model_data, model_env, term, log_dir=args.log_dir).run()
    print(json.dumps(describe, indent=2))
    return 0 if describe["TransformJobStatus"] == "Completed" else 1


def _serve(args, term):
    from localjob.transform import model_source
    image, model_data, env = model_source({}, _load(args.model) if args.model else None, args.model_data, args.image)
    for item in args.env:
        k, _, v = item.partition("=")
        env[k] = v
    backend = choose_backend(args.mode, image, args.algorithm)
    server = backend.start_server(model_data, env, port=args.port)
    try:
        server.wait_healthy()
        term.line("serving %s (%s mode) at %s  -- POST %s/invocations; Ctrl-C stops"
                  % (model_data, backend.mode, server.url, server.url))
        print(json.dumps({"Url": server.url, "Mode": backend.mode, "ModelDataUrl": model_data,
                          "Log": server.log_path}), flush=True)
        while server.proc.poll() is None:
            time.sleep(0.5)
        term.line("the model server exited with %s:\n%s" % (server.proc.returncode, server.log()[-3000:]))
        return 1
    except KeyboardInterrupt:
        term.line("stopping the model server (SIGKILL in %gs; Ctrl-C again to kill it now)" % args.stop_grace)
        return 0
    except RuntimeError as e:
        term.line(str(e))
        return 1
    finally:
        server.stop(args.stop_grace)
