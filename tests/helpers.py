"""Drive the real `train` and `serve` programs as processes against a temporary /opt/ml."""
import atexit
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import requests

BIN = os.path.dirname(sys.executable)


def program(name):
    path = os.path.join(BIN, name)
    return path if os.path.exists(path) else name


def job_dir(base, hyperparameters, channels, hosts=None, current_host="algo-1"):
    """Lay out base/ as the platform does. channels: {name: {"content_type": ..., "mode": "File",
    "files": {relpath: bytes}, "distribution": ...}}."""
    cfg = os.path.join(base, "input", "config")
    os.makedirs(cfg, exist_ok=True)
    with open(os.path.join(cfg, "hyperparameters.json"), "w") as f:
        json.dump({k: str(v) for k, v in hyperparameters.items()}, f)
    idc = {}
    for name, ch in channels.items():
        entry = {"TrainingInputMode": ch.get("mode", "File"),
                 "S3DistributionType": ch.get("distribution", "FullyReplicated"),
                 "RecordWrapperType": "None"}
        if ch.get("content_type"):
            entry["ContentType"] = ch["content_type"]
        idc[name] = entry
        d = os.path.join(base, "input", "data", name)
        os.makedirs(d, exist_ok=True)
        for rel, data in ch.get("files", {}).items():
            p = os.path.join(d, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
    with open(os.path.join(cfg, "inputdataconfig.json"), "w") as f:
        json.dump(idc, f)
    with open(os.path.join(cfg, "resourceconfig.json"), "w") as f:
        json.dump({"current_host": current_host, "hosts": hosts or [current_host]}, f)
    return str(base)


class TrainResult:
    def __init__(self, base, proc_rc, log):
        self.base = base
        self.rc = proc_rc
        self.log = log
        fp = os.path.join(base, "output", "failure")
        self.failure = open(fp).read() if os.path.exists(fp) else None
        self.model_dir = os.path.join(base, "model")

    def metrics(self, regex):
        return [float(m) for m in re.findall(regex, self.log)]


def train_env(base, algorithm, env=None):
    e = dict(os.environ, SAGEMAKER_BASE_DIR=str(base), ALGORITHM=algorithm, TRAINING_JOB_NAME="test-job")
    e.update(env or {})
    return e


class TrainProcess(subprocess.Popen):
    """A train program in a process group of its own. A wait that times out kills the whole group,
    the kvstore scheduler and servers a host starts included: left alive, their ps-lite nodes keep
    reconnecting to their scheduler's port, and when a later test is handed that port number they join
    its cluster and hang it. Groups still alive when the test process exits are killed too."""

    _started = []

    def __init__(self, args, **kw):
        super().__init__(args, start_new_session=True, **kw)
        TrainProcess._started.append(self)

    def communicate(self, input=None, timeout=None):
        try:
            return super().communicate(input, timeout)
        except subprocess.TimeoutExpired:
            self.kill_group()
            raise

    def wait(self, timeout=None):
        try:
            return super().wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill_group()
            raise

    def kill_group(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    @classmethod
    def kill_all(cls):
        for p in cls._started:
            if p.poll() is None:  # an unreaped leader: its group id cannot belong to anyone else yet
                p.kill_group()


atexit.register(TrainProcess.kill_all)


def run_train(base, algorithm, env=None, timeout=600):
    p = start_train(base, algorithm, env)
    out, _ = p.communicate(timeout=timeout)
    return TrainResult(str(base), p.returncode, out.decode("utf-8", "replace"))


def start_train(base, algorithm, env=None):
    return TrainProcess([program("train")], env=train_env(base, algorithm, env),
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, proc, url, logfile):
        self.proc, self.url, self.logfile = proc, url, logfile

    def log(self):
        with open(self.logfile) as f:
            return f.read()

    def post(self, body, content_type, accept=None, **kw):
        headers = {"Content-Type": content_type}
        if accept:
            headers["Accept"] = accept
        return requests.post(self.url + "/invocations", data=body, headers=headers, timeout=60, **kw)


@contextlib.contextmanager
def served(base, algorithm, env=None, wait_ready=True, timeout=60):
    port = free_port()
    e = dict(os.environ, SAGEMAKER_BASE_DIR=str(base), ALGORITHM=algorithm, SAGEMAKER_BIND_TO_PORT=str(port),
             SAGEMAKER_MODEL_SERVER_WORKERS="1")
    e.update(env or {})
    logfile = os.path.join(str(base), "serve-%d.log" % port)
    with open(logfile, "w") as out:
        proc = subprocess.Popen([program("serve")], env=e, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Server(proc, "http://127.0.0.1:%d" % port, logfile)
    try:
        deadline = time.time() + timeout
        while wait_ready:
            if proc.poll() is not None:
                raise AssertionError("serve exited with %s:\n%s" % (proc.returncode, server.log()))
            try:
                if requests.get(server.url + "/ping", timeout=2).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # a busy machine may answer late
                pass
            if time.time() > deadline:
                raise AssertionError("serve not healthy after %ss:\n%s" % (timeout, server.log()))
            time.sleep(0.2)
        yield server
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def client_session():
    """A stand-in Session for constructing the official client's estimators offline."""
    from unittest.mock import MagicMock
    s = MagicMock()
    s.sagemaker_config = {}
    s.boto_region_name = "us-east-1"
    return s


def first_ping(server, timeout=60):
    """The first answer /ping gives (retrying while the server is still starting)."""
    deadline = time.time() + timeout
    while True:
        try:
            return requests.get(server.url + "/ping", timeout=5)
        except (requests.ConnectionError, requests.Timeout):
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def feed_pipe(base, channel, data, epochs=1, chunk=1 << 16):
    """Play the platform in Pipe mode: FIFO <channel>_<epoch> created and streamed in chunks by a thread,
    one per epoch (each is opened by `train` when it starts that epoch)."""
    import threading

    def run():
        for epoch in range(epochs):
            path = os.path.join(str(base), "input", "data", "%s_%d" % (channel, epoch))
            os.mkfifo(path)
            with open(path, "wb") as w:
                for i in range(0, len(data), chunk):
                    w.write(data[i:i + chunk])
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t
