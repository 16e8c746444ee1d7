"""A CreateTrainingJob request, run locally: lay out /opt/ml per host, run, stop, upload, describe."""
import math
import os
import queue
import shutil
import tempfile
import threading
import time

from localjob import artifacts, clock, layout, pipes
from localjob.metrics import MetricCollector, definitions
from localjob.progress import human_seconds
from localjob.uris import RequestError, local_path

DEFAULT_MAX_RUNTIME = 86400
STOP_GRACE = 120  # SIGTERM, then SIGKILL this many seconds later, as the service does
_LOG_MARKERS = ("#progress_metric", "#quality_metric", "#throughput_metric", "ERROR", "Error:")


class JobState:
    """Where a running training job is: which hosts ended and how, why it is being stopped, and how far
    along the stop sequence (SIGTERM to every host, SIGKILL `grace` seconds later) it is."""

    def __init__(self, hosts, deadline, grace):
        self.hosts = list(hosts)
        self.deadline = deadline          # MaxRuntimeInSeconds after the start
        self.grace = grace
        self.exits = {}                   # host -> exit code, in the order the hosts ended
        self.open_logs = set(hosts)       # hosts whose log stream has not ended yet
        self.stop_reason = None           # "Stopped" (the user) or "MaxRuntimeExceeded": the job is Stopped
        self.input_error = None           # a Pipe feeder's failure: the job Fails with a ClientError
        self.sigterm_at = None            # when the hosts were sent SIGTERM
        self.sigkill_sent = False

    @property
    def stopping(self):
        return self.sigterm_at is not None

    def kill_due(self, now):
        return self.stopping and not self.sigkill_sent and now >= self.sigterm_at + self.grace

    def log_closed(self, host):
        self.open_logs.discard(host)

    def finished(self):
        return len(self.exits) == len(self.hosts) and not self.open_logs


class TrainingRun:
    def __init__(self, request, backend, terminal, stop_grace=STOP_GRACE, work_dir=None, keep_work_dir=False,
                 verbose=False, pipe_bytes_per_second=None, replace=False):
        self.request = request
        self.backend = backend
        self.t = terminal
        self.stop_grace = stop_grace
        self.verbose = verbose
        self.pipe_rate = pipe_bytes_per_second
        self.created = time.time()
        algo_name = getattr(backend, "algorithm", None) or "training"
        self.name = request.get("TrainingJobName") or "%s-%s" % (algo_name, clock.job_suffix(self.created))
        out = (request.get("OutputDataConfig") or {}).get("S3OutputPath")
        self.job_out = os.path.join(local_path(out, "OutputDataConfig.S3OutputPath"), self.name)
        if os.path.exists(self.job_out):
            if not replace:
                raise RequestError("%s already exists: TrainingJobName %s was used before "
                                   "(choose another name or pass --replace)" % (self.job_out, self.name))
            shutil.rmtree(self.job_out)
        rc = request.get("ResourceConfig") or {}
        count = int(rc.get("InstanceCount") or 1)
        if count < 1:
            raise RequestError("ResourceConfig.InstanceCount must be at least 1")
        self.hosts = ["algo-%d" % (i + 1) for i in range(count)]
        self.max_runtime = int((request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
                               or DEFAULT_MAX_RUNTIME)
        self.specs = layout.channel_specs(request)
        self.own_work_dir = work_dir is None
        self.work_dir = work_dir or tempfile.mkdtemp(prefix="local-job-%s-" % self.name[:40])
        self.keep_work_dir = keep_work_dir
        self.log_dir = os.path.join(self.job_out, "logs")

    # ------------------------------------------------------------------------------------------------
    def run(self):
        try:
            defs = definitions(self.backend.declaration())
        except Exception as e:  # metrics are a nicety; the job still runs
            self.t.line("warning: cannot read the algorithm's metric definitions: %s" % e)
            defs = []
        self.metrics = MetricCollector(defs)
        os.makedirs(self.log_dir, exist_ok=True)
        stop = threading.Event()
        feeders, bases = [], {}
        for host in self.hosts:
            base = os.path.join(self.work_dir, host)
            bases[host] = base
            shares = layout.write_host(base, self.request, self.specs, self.hosts, host)
            for spec in self.specs:
                if spec["mode"] == "Pipe":
                    feeder = pipes.ChannelFeeder(os.path.join(base, "input", "data"), spec["name"],
                                                 shares[spec["name"]], spec["compression"],
                                                 spec["wrapper"], stop, self.pipe_rate)
                    feeder.label = "%s/%s" % (host, spec["name"])
                    feeders.append(feeder)
        env = {str(k): str(v) for k, v in (self.request.get("Environment") or {}).items()}
        env.setdefault("TRAINING_JOB_ARN", "arn:aws:sagemaker:local:000000000000:training-job/%s" % self.name)
        self.t.line("training job %s: %d instance(s), %s mode, image %s, algorithm %s"
                    % (self.name, len(self.hosts), self.backend.mode, self.backend.image or "-",
                       self.backend.algorithm or "(from the image)"))
        self.backend.prepare(self.name, self.hosts)
        containers = []
        lines = queue.Queue()
        state = None
        try:
            for f in feeders:
                f.start()
            self.start = time.time()
            for host in self.hosts:
                containers.append(self.backend.start_train(self.name, host, bases[host], env))
            pumps = [threading.Thread(target=self._pump, args=(c, lines), daemon=True) for c in containers]
            for p in pumps:
                p.start()
            state = self._supervise(containers, pumps, lines, feeders)
        finally:
            self.end = time.time()
            stop.set()
            for c in containers:
                if c.poll() is None:
                    c.kill()
            self.backend.cleanup()
            for f in feeders:
                f.join(5)
        if state is not None and state.input_error is None:
            # a feeder can fail as its reader gives up: the job's end must not hide why
            state.input_error = next((f.error for f in feeders if f.error), None)
        result = self._finish(state, bases, feeders)
        if self.own_work_dir and not self.keep_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)
        return result

    def _pump(self, container, q):
        with open(os.path.join(self.log_dir, "%s.log" % container.host), "w") as log:
            for line in container.lines():
                log.write(line + "\n")
                log.flush()
                q.put((container.host, line, time.time()))
        q.put((container.host, None, time.time()))

    def _show(self, host, line, is_metric):
        if self.verbose or is_metric or any(m in line for m in _LOG_MARKERS):
            self.t.line(("%s | %s" % (host, line)) if len(self.hosts) > 1 or self.verbose else line)

    def _supervise(self, containers, pumps, lines, feeders):
        state = JobState(self.hosts, deadline=self.start + self.max_runtime, grace=self.stop_grace)
        while not state.finished():
            try:
                try:
                    host, line, ts = lines.get(timeout=0.2)
                    if line is None:
                        state.log_closed(host)
                    else:
                        self._show(host, line, self.metrics.feed(line, ts))
                except queue.Empty:
                    pass
                self._step(containers, feeders, state, time.time())
            except KeyboardInterrupt:
                # the user's Ctrl-C is a StopTrainingJob
                self.t.line("interrupted: stopping the job (SIGTERM, SIGKILL %ds later)" % self.stop_grace)
                self._terminate(containers, state, "Stopped")
        for p in pumps:
            p.join(5)
        return state

    def _step(self, containers, feeders, state, now):
        """One look at the hosts, the feeders and the clock; moves the job along its stop sequence."""
        for c in containers:
            rc = c.poll()
            if rc is not None and c.host not in state.exits:
                state.exits[c.host] = rc
                if rc != 0 and not state.stopping and len(state.exits) < len(containers):
                    # one host failing ends the job: the others would wait on it forever
                    self.t.line("%s exited with %d: stopping the other hosts" % (c.host, rc))
                    self._terminate(containers, state)
        if state.input_error is None:
            bad_feed = [f.error for f in feeders if f.error]
            if bad_feed:
                state.input_error = bad_feed[0]
                self.t.line(bad_feed[0])
                self._terminate(containers, state)
        if not state.stopping and now >= state.deadline:
            self.t.line("MaxRuntimeInSeconds=%d reached: sending SIGTERM (SIGKILL in %ds)"
                        % (self.max_runtime, self.stop_grace))
            self._terminate(containers, state, "MaxRuntimeExceeded")
        if state.kill_due(now):
            for c in containers:
                if c.poll() is None:
                    self.t.line("%s still running %ds after SIGTERM: SIGKILL" % (c.host, self.stop_grace))
                    c.kill()
            state.sigkill_sent = True

    def _terminate(self, containers, state, reason=None):
        """SIGTERM to every host (once); `reason` makes the job Stopped rather than Failed."""
        if reason and state.stop_reason is None:
            state.stop_reason = reason
        if state.sigterm_at is None:
            state.sigterm_at = time.time()
            for c in containers:
                c.terminate()

    # ------------------------------------------------------------------------------------------------
    def _finish(self, state, bases, feeders):
        stop_reason = state.stop_reason if state else None
        exits = state.exits if state else {}
        failed = [(h, rc) for h, rc in exits.items() if rc != 0]
        out_dir = os.path.join(self.job_out, "output")
        os.makedirs(out_dir, exist_ok=True)
        model_dirs = [os.path.join(bases[h], "model") for h in self.hosts]
        data_dirs = [os.path.join(bases[h], "output", "data") for h in self.hosts]
        failure = None
        if stop_reason:
            status, secondary = "Stopped", stop_reason
        elif state is not None and state.input_error:
            status = secondary = "Failed"
            failure = "ClientError: %s" % state.input_error
        elif failed or len(exits) < len(self.hosts):
            status = secondary = "Failed"
            failure = self._failure_reason(failed, bases)
        else:
            status = secondary = "Completed"
        describe = {
            "TrainingJobName": self.name,
            "TrainingJobArn": "arn:aws:sagemaker:local:000000000000:training-job/%s" % self.name.lower(),
            "TrainingJobStatus": status,
            "SecondaryStatus": secondary,
        }
        if failure:
            describe["FailureReason"] = failure
            with open(os.path.join(out_dir, "failure"), "w") as f:
                f.write(failure)
        if status != "Failed" and artifacts.has_files(model_dirs):
            archive = os.path.join(out_dir, "model.tar.gz")
            members = artifacts.pack(model_dirs, archive)
            describe["ModelArtifacts"] = {"S3ModelArtifacts": archive}
            self.model_members = members
        if status != "Failed" and artifacts.has_files(data_dirs):
            artifacts.pack(data_dirs, os.path.join(out_dir, "output.tar.gz"))
        start = getattr(self, "start", self.created)
        seconds = max(1, int(math.ceil(self.end - start)))
        for key in ("HyperParameters", "AlgorithmSpecification", "InputDataConfig", "OutputDataConfig",
                    "ResourceConfig", "StoppingCondition", "Environment"):
            if key in self.request:
                describe[key] = self.request[key]
        describe.update({
            "CreationTime": clock.iso(self.created),
            "TrainingStartTime": clock.iso(start),
            "TrainingEndTime": clock.iso(self.end),
            "LastModifiedTime": clock.iso(time.time()),
            "TrainingTimeInSeconds": seconds,
            "BillableTimeInSeconds": seconds * len(self.hosts),
            "FinalMetricDataList": self.metrics.final_metric_data_list(clock.iso),
            "LocalJob": {"Mode": self.backend.mode, "Hosts": self.hosts,
                         "Logs": {h: os.path.join(self.log_dir, "%s.log" % h) for h in self.hosts},
                         "ExitCodes": dict(exits),
                         "PipeEpochsFed": {f.label: f.epochs_done for f in feeders}},
        })
        self._summary(describe)
        return describe

    def _failure_reason(self, failed, bases):
        for host, rc in failed:
            path = os.path.join(bases[host], "output", "failure")
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text = f.read()
                if text.strip():
                    return text[:1024]
        if failed:
            return ("AlgorithmError: %s exited with code %s without writing /opt/ml/output/failure; "
                    "see %s" % (failed[0][0], failed[0][1], os.path.join(self.log_dir, failed[0][0] + ".log")))[:1024]
        return "InternalServerError: the job ended without every host reporting an exit code"

    def _summary(self, d):
        rows = [("job", d["TrainingJobName"]), ("status", "%s (%s)" % (d["TrainingJobStatus"], d["SecondaryStatus"])),
                ("mode", "%s, %d instance(s)" % (self.backend.mode, len(self.hosts))),
                ("training time", human_seconds(d["TrainingTimeInSeconds"]))]
        if d.get("FailureReason"):
            reason = d["FailureReason"].splitlines()[0] if d["FailureReason"].strip() else ""
            rows.append(("failure", reason[:200]))
        for m in d["FinalMetricDataList"]:
            rows.append(("metric " + m["MetricName"], "%g" % m["Value"]))
        if d.get("ModelArtifacts"):
            rows.append(("model", d["ModelArtifacts"]["S3ModelArtifacts"]))
        rows.append(("logs", self.log_dir))
        self.t.summary("Training job summary", rows)
