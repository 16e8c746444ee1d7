"""A hyperparameter tuning job: propose hyperparameters, run up to MaxParallelTrainingJobs training jobs at a
time, read each one's objective, stop the hopeless ones (Auto early stopping), and report the best."""
import os
import shutil
import time
import uuid

from localjob.tuning import early_stop, report, warm_start
from localjob.tuning.search import strategy
from localjob.uris import RequestError, local_path

POLL_SECONDS = 0.2


def _fmt(v):
    return "-" if v is None else "%.6g" % v


class Tuner:
    def __init__(self, tuning, jobs, terminal, parent_dirs=(), replace=False, mode=None):
        """tuning: a TuningRequest; jobs: TrainingJobs or FunctionJobs (what starts a training job)."""
        self.tuning = tuning
        self.jobs = jobs
        self.t = terminal
        self.mode = mode
        self.minimize = tuning.objective["Type"] == "Minimize"
        out = (tuning.definition.get("OutputDataConfig") or {}).get("S3OutputPath")
        self.output = local_path(out, "TrainingJobDefinition.OutputDataConfig.S3OutputPath")
        self.folder = os.path.join(self.output, tuning.name)
        if os.path.exists(os.path.join(self.folder, report.DESCRIBE_FILE)):
            if not replace:
                raise RequestError("%s already holds tuning job %s (names are unique; choose another or pass "
                                   "--replace)" % (self.folder, tuning.name))
            shutil.rmtree(self.folder)
        preflight = getattr(jobs, "preflight", None)
        if preflight:
            preflight(tuning.training_request(self._job_name(0), {}))
        self.parents = warm_start.load(tuning, parent_dirs)
        self.search = strategy(tuning.strategy, tuning.space, seed=tuning.seed, budget=tuning.max_jobs)
        self.known = warm_start.evaluations(tuning, self.parents)
        self.search.tell_many([p for p, _, _ in self.known], [self._loss(v) for _, v, _ in self.known])
        self.finished = []      # result dicts, in the order the jobs ended
        self.running = []       # (RunningJob, point, tuned, index)
        self.started = 0
        self.created = time.time()
        self.status = "InProgress"
        self.failure = None

    def _loss(self, value):
        return value if self.minimize else -value

    def _job_name(self, index):
        # the service's shape: <tuning job>-<NNN>-<8 hex>
        return "%s-%03d-%s" % (self.tuning.name, index, uuid.uuid4().hex[:8])

    # ---- the loop -----------------------------------------------------------------------------------
    def run(self):
        warm = ", warm start from %d evaluation(s) of %s" % (len(self.known), ", ".join(p.name for p in self.parents))
        self.t.line("tuning job %s: %s search, objective %s (%s), %d training jobs, %d at a time%s%s"
                    % (self.tuning.name, self.tuning.strategy, self.tuning.objective["MetricName"],
                       self.tuning.objective["Type"], self.tuning.max_jobs, self.tuning.max_parallel,
                       ", early stopping Auto" if self.tuning.early_stopping == "Auto" else "",
                       warm if self.parents else ""))
        try:
            while self.started < self.tuning.max_jobs or self.running:
                while self.started < self.tuning.max_jobs and len(self.running) < self.tuning.max_parallel:
                    self._launch()
                self._watch()
                if self.running:
                    time.sleep(getattr(self.jobs, "poll_seconds", POLL_SECONDS))
            self.status = "Completed" if any(j["ObjectiveStatus"] == "Succeeded" for j in self.finished) else "Failed"
            if self.status == "Failed":
                self.failure = "no training job reported the objective metric %s" % self.tuning.objective["MetricName"]
        except KeyboardInterrupt:
            self.t.line("interrupted: stopping the tuning job and its %d running training job(s)" % len(self.running))
            self.status = "Stopped"
            for job, *_ in self.running:
                job.stop("Stopped")
            self._drain()
        except BaseException:
            # a request the runner refuses, or a fault of ours: no training job outlives the tuning job
            for job, *_ in self.running:
                job.stop("Stopped")
            self._drain()
            raise

    def _drain(self):
        while self.running:
            try:
                self._watch()
                time.sleep(POLL_SECONDS)
            except KeyboardInterrupt:
                for job, *_ in self.running:
                    job.kill_now()  # a second Ctrl-C

    def _launch(self):
        self.started += 1
        pending = [p for _, p, _, _ in self.running]
        point = self.search.ask(pending)
        tuned = self.tuning.space.hyperparameters(point)
        request = self.tuning.training_request(self._job_name(self.started), tuned)
        job = self.jobs.start(request, self.tuning.objective["Regex"])
        self.running.append((job, point, tuned, self.started))

    def _watch(self):
        for job, point, tuned, index in list(self.running):
            gained = job.poll()
            if gained and self.tuning.early_stopping == "Auto" and job.stop_reason is None and not job.done():
                self._early_stop(job, index, len(job.curve) - gained)
            if job.done():
                self.running.remove((job, point, tuned, index))
                self._finish(job, point, tuned, index)

    def _early_stop(self, job, index, first_new):
        peers = [j["Curve"] for j in self.finished if j["Index"] < index]
        peers += [list(r[0].curve) for r in self.running if r[3] < index]
        hit = early_stop.first_stop_epoch(list(job.curve), peers, self.minimize, start=first_new)
        if hit:
            epoch, median = hit
            job.stop("EarlyStopped")
            job.stopped_at = (epoch, job.curve[epoch], median)

    def _finish(self, job, point, tuned, index):
        r = job.result()
        r.update({"Index": index, "TunedHyperParameters": tuned})
        ok = r["TrainingJobStatus"] in ("Completed", "Stopped") and r["Value"] is not None
        r["ObjectiveStatus"] = "Succeeded" if ok else "Failed"
        if ok:
            self.search.tell(point, self._loss(r["Value"]))
        if job.stopped_at:
            epoch, value, median = job.stopped_at
            r["EarlyStopped"] = {"Epoch": epoch, "Value": value, "Median": median}
        self.finished.append(r)
        self._progress(r)
        self._write()

    # ---- what the user sees -------------------------------------------------------------------------
    def _best(self):
        best = None
        for j in self.finished:
            if j["ObjectiveStatus"] != "Succeeded":
                continue
            if best is None or report.better(j["Value"], best["Value"], self.minimize):
                best = j
        return best

    def _progress(self, r):
        best = self._best()
        hp = " ".join("%s=%s" % kv for kv in sorted(r["TunedHyperParameters"].items()))
        status = r["TrainingJobStatus"]
        if r.get("EarlyStopped"):
            e = r["EarlyStopped"]
            status += " (early: epoch %d %s worse than median %s)" % (e["Epoch"] + 1, _fmt(e["Value"]),
                                                                       _fmt(e["Median"]))
        elif status == "Failed" and r.get("FailureReason"):
            status += " (%s)" % r["FailureReason"].splitlines()[0][:120]
        elif r["ObjectiveStatus"] == "Failed":
            status += " (no %s in the log)" % self.tuning.objective["MetricName"]
        self.t.line("[%d/%d] %s  %s  %s=%s  %s  best %s=%s (%s)"
                    % (len(self.finished), self.tuning.max_jobs, r["TrainingJobName"], hp,
                       self.tuning.objective["MetricName"], _fmt(r["Value"]), status,
                       self.tuning.objective["MetricName"], _fmt(best["Value"]) if best else "-",
                       best["TrainingJobName"] if best else "none yet"))

    def _jobs_for_report(self):
        jobs = list(self.finished)
        for job, point, tuned, index in self.running:
            jobs.append({"TrainingJobName": job.name, "TrainingJobStatus": "InProgress", "ObjectiveStatus": "Pending",
                         "CreationTime": job.created, "TrainingStartTime": job.created, "TrainingEndTime": None,
                         "TunedHyperParameters": tuned, "Value": None})
        return jobs

    def result(self, final=False):
        local = {"Mode": self.mode, "Strategy": self.tuning.strategy, "Record": self.folder,
                 "OutputPath": self.output, "WarmStartEvaluations": len(self.known),
                 "EarlyStopped": {j["TrainingJobName"]: j["EarlyStopped"]
                                  for j in self.finished if j.get("EarlyStopped")}}
        parents_best = warm_start.best_rows(self.parents, self.minimize)
        d, rows = report.describe(self.tuning, self._jobs_for_report(), self.status, self.created,
                                  time.time() if final else None, parents_best, self.failure, local)
        return d, rows

    def _write(self, final=False):
        d, rows = self.result(final)
        report.write(self.folder, d, rows)
        return d, rows

    def summary(self, d):
        best = d.get("BestTrainingJob")
        rows = [("tuning job", d["HyperParameterTuningJobName"]), ("status", d["HyperParameterTuningJobStatus"]),
                ("training jobs", ", ".join("%s %d" % kv for kv in d["TrainingJobStatusCounters"].items() if kv[1])
                 or "none"),
                ("objectives", ", ".join("%s %d" % kv for kv in d["ObjectiveStatusCounters"].items() if kv[1]))]
        if best:
            m = best["FinalHyperParameterTuningJobObjectiveMetric"]
            rows.append(("best", "%s  %s=%s" % (best["TrainingJobName"], m["MetricName"], _fmt(m["Value"]))))
            tuned = sorted(best["TunedHyperParameters"].items())
            rows.append(("best hyperparameters", " ".join("%s=%s" % kv for kv in tuned)))
            rows.append(("best model", os.path.join(self.output, best["TrainingJobName"], "output", "model.tar.gz")))
        if d.get("OverallBestTrainingJob") and d["OverallBestTrainingJob"] is not best:
            o = d["OverallBestTrainingJob"]
            value = o["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
            rows.append(("overall best", "%s (%s)  %s" % (o["TrainingJobName"], o["TuningJobName"], _fmt(value))))
        if d.get("FailureReason"):
            rows.append(("failure", d["FailureReason"]))
        rows.append(("record", self.folder))
        self.t.summary("Hyperparameter tuning job summary", rows)


def finish(tuner):
    """Run the tuning job; write and return (describe, rows)."""
    tuner.run()
    d, rows = tuner._write(final=True)
    tuner.summary(d)
    return d, rows
