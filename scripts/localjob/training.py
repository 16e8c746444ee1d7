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
        outcome = {}
        try:
            for f in feeders:
                f.start()
            self.start = time.time()
            for host in self.hosts:
                containers.append(self.backend.start_train(self.name, host, bases[host], env))
            pumps = [threading.Thread(target=self._pump, args=(c, lines), daemon=True) for c in containers]
            for p in pumps:
                p.start()
            outcome = self._supervise(containers, pumps, lines, feeders)
        finally:
            self.end = time.time()
            stop.set()
            for c in containers:
                if c.poll() is None:
                    c.kill()
            self.backend.cleanup()
        result = self._finish(outcome, bases, feeders)
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
        deadline = self.start + self.max_runtime
        kill_at = None
        stop_reason = None
        exits = []  # (host, rc) in the order the hosts ended
        open_streams = len(containers)
        while True:
            try:
                try:
                    host, line, ts = lines.get(timeout=0.2)
                    if line is None:
                        open_streams -= 1
                    else:
                        self._show(host, line, self.metrics.feed(line, ts))
                except queue.Empty:
                    pass
                kill_at = self._check(containers, feeders, exits, deadline, kill_at, stop_reason)
                if kill_at is not None and stop_reason is None and self._deadline_hit:
                    stop_reason = "MaxRuntimeExceeded"
            except KeyboardInterrupt:
                # the user's Ctrl-C is a StopTrainingJob
                stop_reason = stop_reason or "Stopped"
                self.t.line("interrupted: stopping the job (SIGTERM, SIGKILL %ds later)" % self.stop_grace)
                kill_at = self._terminate(containers, kill_at)
            if all(c.poll() is not None for c in containers) and open_streams == 0:
                for c in containers:
                    if c.host not in [h for h, _ in exits]:
                        exits.append((c.host, c.poll()))
                break
        for p in pumps:
            p.join(5)
        return {"exits": exits, "stop_reason": stop_reason,
                "killed": kill_at == float("inf")}

    _deadline_hit = False

    def _check(self, containers, feeders, exits, deadline, kill_at, stop_reason):
        now = time.time()
        ended = [h for h, _ in exits]
        for c in containers:
            rc = c.poll()
            if rc is not None and c.host not in ended:
                exits.append((c.host, rc))
                if rc != 0 and stop_reason is None and kill_at is None and len(exits) < len(containers):
                    # one host failing ends the job: the others would wait on it forever
                    self.t.line("%s exited with %d: stopping the other hosts" % (c.host, rc))
                    kill_at = self._terminate(containers, kill_at)
        bad_feed = [f.error for f in feeders if f.error]
        if bad_feed and "feeder" not in ended and kill_at is None:
            exits.append(("feeder", bad_feed[0]))
            self.t.line(bad_feed[0])
            kill_at = self._terminate(containers, kill_at)
        if stop_reason is None and kill_at is None and now >= deadline:
            self._deadline_hit = True
            self.t.line("MaxRuntimeInSeconds=%d reached: sending SIGTERM (SIGKILL in %ds)"
                        % (self.max_runtime, self.stop_grace))
            kill_at = self._terminate(containers, kill_at)
        if kill_at is not None and kill_at != float("inf") and now >= kill_at:
            for c in containers:
                if c.poll() is None:
                    self.t.line("%s still running %ds after SIGTERM: SIGKILL" % (c.host, self.stop_grace))
                    c.kill()
            kill_at = float("inf")
        return kill_at

    def _terminate(self, containers, kill_at):
        for c in containers:
            c.terminate()
        return kill_at if kill_at is not None else time.time() + self.stop_grace

    # ------------------------------------------------------------------------------------------------
    def _finish(self, outcome, bases, feeders):
        exits = outcome.get("exits", [])
        stop_reason = outcome.get("stop_reason")
        failed = [(h, rc) for h, rc in exits if rc != 0]
        out_dir = os.path.join(self.job_out, "output")
        os.makedirs(out_dir, exist_ok=True)
        model_dirs = [os.path.join(bases[h], "model") for h in self.hosts]
        data_dirs = [os.path.join(bases[h], "output", "data") for h in self.hosts]
        failure = None
        if stop_reason:
            status, secondary = "Stopped", stop_reason
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
                         "ExitCodes": {h: rc for h, rc in exits if h in bases},
                         "PipeEpochsFed": {f.label: f.epochs_done for f in feeders}},
        })
        self._summary(describe)
        return describe

    def _failure_reason(self, failed, bases):
        for host, rc in failed:
            if host == "feeder":
                return "ClientError: %s" % rc
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
