"""How a tuning job's training jobs run: through the runner's TrainingRun (docker or process mode), each in
its own thread, with the objective read from the logs while they grow; or, for benchmarks and tests of the
search itself, a plain function standing in for the training job."""
import math
import os
import threading
import time

from localjob.progress import Terminal
from localjob.tuning.objective import ObjectiveReader


class _TrackedBackend:
    """The backend a TrainingRun uses, keeping hold of its containers so the tuner can stop the job."""

    def __init__(self, inner, declaration=None):
        self._inner = inner
        self._declaration = declaration
        self._lock = threading.Lock()
        self.containers = []
        self.stopping = False

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def declaration(self):
        # read once for the whole tuning job: every algorithm.yaml is parsed to find one
        return self._declaration if self._declaration is not None else self._inner.declaration()

    def start_train(self, *args, **kwargs):
        c = self._inner.start_train(*args, **kwargs)
        with self._lock:
            self.containers.append(c)
            late = self.stopping
        if late:
            c.terminate()
        return c

    def terminate(self):
        with self._lock:
            self.stopping = True
            running = list(self.containers)
        for c in running:
            c.terminate()

    def kill(self):
        with self._lock:
            running = list(self.containers)
        for c in running:
            if c.poll() is None:
                c.kill()


class _JobTerminal(Terminal):
    """The training job's own lines, prefixed with its name (-v), or nothing."""

    def __init__(self, name, quiet):
        super().__init__(quiet=quiet)
        self.prefix = name

    def line(self, text):
        super().line("[%s] %s" % (self.prefix, text))

    def status(self, text):
        self.line(text)

    def summary(self, title, rows):
        pass


class RunningJob:
    def __init__(self, name, run, backend, regex, stop_grace):
        self.name = name
        self.created = time.time()
        self._run = run
        self._backend = backend
        self._grace = stop_grace
        hosts = getattr(run, "hosts", ["algo-1"])
        self.reader = ObjectiveReader(regex, {h: os.path.join(run.log_dir, "%s.log" % h) for h in hosts})
        self.describe = None
        self.error = None
        self.stop_reason = None
        self.stopped_at = None            # (epoch, value, median) when Auto early stopping stopped it
        self._sigterm_at = None
        self._thread = threading.Thread(target=self._body, name="training-" + name, daemon=True)
        self._thread.start()

    def _body(self):
        try:
            self.describe = self._run.run()
        except BaseException as e:  # the job fails; the tuning job goes on
            self.error = "%s: %s" % (type(e).__name__, e)

    @property
    def curve(self):
        return self.reader.curve

    def poll(self):
        """New values of the objective on the first host; SIGKILL once the stop grace is over."""
        if self._sigterm_at is not None and time.time() >= self._sigterm_at + self._grace:
            self._backend.kill()
            self._sigterm_at = float("inf")
        return self.reader.poll()

    def done(self):
        return not self._thread.is_alive()

    def stop(self, reason):
        """SIGTERM (StopTrainingJob); the job is Stopped whatever its program does next."""
        if self.stop_reason is None:
            self.stop_reason = reason
            self._sigterm_at = time.time()
            self._backend.terminate()

    def kill_now(self):
        self._grace = 0

    def result(self):
        self._thread.join()
        self.reader.poll(final=True)
        d = self.describe or {}
        status = d.get("TrainingJobStatus") or "Failed"
        failure = d.get("FailureReason") or self.error
        if self.stop_reason:
            status = "Stopped"  # as after StopTrainingJob, however the program took the SIGTERM
        return {"TrainingJobName": self.name, "TrainingJobStatus": status, "FailureReason": failure,
                "Value": self.reader.final, "Curve": list(self.reader.curve), "Describe": d,
                "CreationTime": self.created, "TrainingStartTime": _ts(d.get("TrainingStartTime")) or self.created,
                "TrainingEndTime": _ts(d.get("TrainingEndTime")) or time.time()}


def _ts(iso):
    if not iso:
        return None
    import datetime
    try:
        return datetime.datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None


class TrainingJobs:
    """Starts training jobs through TrainingRun with a new backend each (a backend holds one job's state)."""

    def __init__(self, backend_factory, stop_grace=120, verbose=False, declaration=None):
        self.backend_factory = backend_factory
        self.declaration = declaration
        self.stop_grace = stop_grace
        self.verbose = verbose

    def preflight(self, request):
        """What the runner would refuse for every job (missing data, a non-local S3Uri), before any starts."""
        from localjob import layout
        layout.channel_specs(request)

    def start(self, request, regex):
        from localjob.training import TrainingRun
        name = request["TrainingJobName"]
        backend = _TrackedBackend(self.backend_factory(), self.declaration)
        # built here, not in the thread: a request the runner cannot run is the tuning job's error
        run = TrainingRun(request, backend, _JobTerminal(name, quiet=not self.verbose), stop_grace=self.stop_grace)
        return RunningJob(name, run, backend, regex, self.stop_grace)


class _FunctionJob:
    def __init__(self, name, values, error=None):
        self.name = name
        self.created = time.time()
        self._values = list(values)
        self._shown = 0
        self.curve = []
        self.stop_reason = None
        self.stopped_at = None
        self.error = error

    def poll(self):
        # one value per poll, as a real job reports one per epoch
        if self.stop_reason is None and self._shown < len(self._values):
            self.curve.append(self._values[self._shown])
            self._shown += 1
            return 1
        return 0

    def done(self):
        return self.stop_reason is not None or self._shown >= len(self._values) or self.error is not None

    def stop(self, reason):
        self.stop_reason = reason

    def kill_now(self):
        pass

    def result(self):
        status = "Failed" if self.error else ("Stopped" if self.stop_reason else "Completed")
        now = time.time()
        return {"TrainingJobName": self.name, "TrainingJobStatus": status, "FailureReason": self.error,
                "Value": self.curve[-1] if self.curve and not self.error else None, "Curve": list(self.curve),
                "Describe": {}, "CreationTime": self.created, "TrainingStartTime": self.created,
                "TrainingEndTime": now}


class FunctionJobs:
    """Training jobs as a function of their hyperparameters: f(hyperparameters) -> the objective, or a list
    of its values per epoch (the last one final). An exception is a failed job."""
    poll_seconds = 0  # nothing to wait for

    def __init__(self, function):
        self.function = function
        self.requests = []

    def start(self, request, regex):
        self.requests.append(request)
        try:
            out = self.function(dict(request["HyperParameters"]))
        except Exception as e:
            return _FunctionJob(request["TrainingJobName"], [], error="AlgorithmError: %s" % e)
        values = list(out) if isinstance(out, (list, tuple)) else [out]
        values = [float(v) for v in values if v is not None and math.isfinite(float(v))]  # as the log reader drops them
        return _FunctionJob(request["TrainingJobName"], values)
