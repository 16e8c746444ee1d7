"""Where containers run: docker (the platform's way) or the installed `train`/`serve` as processes.

Both give the same things: one training "container" per host whose output is a stream of lines, that can
be sent SIGTERM and SIGKILL; and a model server answering on a local URL.
"""
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

from localjob import docker
from localjob.uris import RequestError

STOP_GRACE = 30  # a model server's SIGTERM-to-SIGKILL time when nobody is waiting at a terminal

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def algorithm_from_image(image):
    """`kmeans:0.1.0-cpu` -> kmeans; `123.dkr.ecr.../linear-learner:1` -> linear-learner."""
    name = (image or "").rsplit("/", 1)[-1]
    name = name.split("@", 1)[0].split(":", 1)[0]
    if not name:
        raise RequestError("no TrainingImage/Image to take the algorithm name from; pass --algorithm")
    return name


class Container:
    """A running train/serve: a process whose stdout carries the container's log."""

    def __init__(self, host, proc, on_term, on_kill):
        self.host, self.proc = host, proc
        self._on_term, self._on_kill = on_term, on_kill

    def lines(self):
        for raw in iter(self.proc.stdout.readline, b""):
            yield raw.decode("utf-8", "replace").rstrip("\r\n")

    def poll(self):
        return self.proc.poll()

    def wait(self, timeout=None):
        return self.proc.wait(timeout)

    def terminate(self):
        if self.proc.poll() is None:
            self._on_term()

    def kill(self):
        self._on_kill()


class ProcessBackend:
    mode = "process"

    def __init__(self, image=None, algorithm=None):
        self.image = image
        self.algorithm = algorithm or algorithm_from_image(image)
        self._decl = None

    @staticmethod
    def program(name):
        here = os.path.join(os.path.dirname(sys.executable), name)
        found = here if os.path.exists(here) else shutil.which(name)
        if not found:
            raise RequestError("process mode needs the `%s` program of this project on PATH "
                               "(activate its virtual environment)" % name)
        return found

    def declaration(self):
        if self._decl is None:
            try:
                from contract import registry
            except ImportError:
                raise RequestError("process mode needs this project installed (pip install -e .)")
            if self.algorithm not in registry.available():
                raise RequestError("unknown algorithm %r (from the image name %r); available: %s; "
                                   "pass --algorithm" % (self.algorithm, self.image,
                                                         ", ".join(sorted(registry.available()))))
            self._decl = registry.declaration_of(self.algorithm)
        return self._decl

    # ---- training --------------------------------------------------------------------------------
    def prepare(self, job_name, hosts):
        self._env = {}
        if len(hosts) > 1:
            # one machine stands in for the cluster: every algo-N is this host
            self._env = {"SAGEMAKER_HOST_ADDRESSES": json.dumps({h: "127.0.0.1" for h in hosts}),
                         "SAGEMAKER_KVSTORE_PORT": str(free_port())}

    def start_train(self, job_name, host, base, env):
        e = dict(os.environ)
        e.update(env)
        e.update(self._env)
        e.update({"SAGEMAKER_BASE_DIR": base, "ALGORITHM": self.algorithm, "TRAINING_JOB_NAME": job_name,
                  "PYTHONUNBUFFERED": "1"})
        proc = subprocess.Popen([self.program("train")], env=e, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

        def kill():
            # like a container's end: every process the algorithm started goes too
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # SIGTERM goes to the program only, as docker signals only the container's PID 1
        return Container(host, proc, lambda: proc.send_signal(signal.SIGTERM), kill)

    def cleanup(self):
        pass

    # ---- serving ---------------------------------------------------------------------------------
    def start_server(self, model_data, env, port=None, log_path=None):
        base = tempfile.mkdtemp(prefix="local-job-serve-")
        model = os.path.join(base, "model")
        if os.path.isdir(model_data):
            shutil.copytree(model_data, model)
        else:
            os.makedirs(model)
            shutil.copyfile(model_data, os.path.join(model, "model.tar.gz"))  # serve extracts it
        port = port or free_port()
        e = dict(os.environ)
        e.update(env)
        e.update({"SAGEMAKER_BASE_DIR": base, "ALGORITHM": self.algorithm, "SAGEMAKER_BIND_TO_PORT": str(port)})
        log = open(log_path or os.path.join(base, "serve.log"), "wb")
        proc = subprocess.Popen([self.program("serve")], env=e, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

        def signal_group(sig):
            try:
                os.killpg(proc.pid, sig)  # gunicorn's workers too: they share the server's process group
            except ProcessLookupError:
                pass

        def stop(grace):
            signal_group(signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                signal_group(signal.SIGKILL)
                proc.wait()
            signal_group(signal.SIGKILL)  # a worker that outlived its arbiter
            shutil.rmtree(base, ignore_errors=True)

        def kill():
            signal_group(signal.SIGKILL)
            proc.wait()
            shutil.rmtree(base, ignore_errors=True)
        return Server("http://127.0.0.1:%d" % port, proc, stop, kill, log.name)


class DockerBackend:
    mode = "docker"

    def __init__(self, image, algorithm=None):
        if not image:
            raise RequestError("docker mode needs an image (TrainingImage / PrimaryContainer.Image / --image)")
        if not docker.image_exists(image):
            raise RequestError("image %s is not present in the local docker engine "
                               "(build it: scripts/build <algorithm> --cpu-only)" % image)
        self.image = image
        self.algorithm = algorithm
        self._decl = None
        self.network = None
        self.names = []

    def declaration(self):
        if self._decl is None:
            self._decl = docker.algorithm_declaration(self.image) or {}
        return self._decl

    def _algorithm_env(self):
        # an explicit --algorithm wins over the one baked into the image
        return ["-e", "ALGORITHM=%s" % self.algorithm] if self.algorithm else []

    # ---- training --------------------------------------------------------------------------------
    def prepare(self, job_name, hosts):
        self.prefix = "%s-%s" % (_docker_name(job_name), uuid.uuid4().hex[:6])
        self.network = docker.create_network(self.prefix)

    def start_train(self, job_name, host, base, env):
        name = "%s-%s" % (self.prefix, host)
        self.names.append(name)
        args = ["run", "--name", name, "--hostname", host, "--network", self.network,
                "--network-alias", host, "--stop-timeout", "120",
                "-v", "%s:/opt/ml/input" % os.path.join(base, "input"),
                "-v", "%s:/opt/ml/model" % os.path.join(base, "model"),
                "-v", "%s:/opt/ml/output" % os.path.join(base, "output"),
                "-e", "TRAINING_JOB_NAME=%s" % job_name, "-e", "PYTHONUNBUFFERED=1"]
        for k, v in env.items():
            args += ["-e", "%s=%s" % (k, v)]
        args += self._algorithm_env() + [self.image, "train"]
        # own session: a Ctrl-C at the terminal must not reach the container through docker's signal
        # proxy; the runner stops containers itself, the platform's way
        proc = subprocess.Popen(["docker"] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        return Container(host, proc, lambda: docker.signal_container(name, "TERM"),
                         lambda: docker.signal_container(name, "KILL"))

    def cleanup(self):
        for name in self.names:
            docker.remove_container(name)
        self.names = []
        if self.network:
            docker.remove_network(self.network)
            self.network = None

    # ---- serving ---------------------------------------------------------------------------------
    def start_server(self, model_data, env, port=None, log_path=None):
        model = tempfile.mkdtemp(prefix="local-job-model-")
        if os.path.isdir(model_data):
            shutil.rmtree(model)
            shutil.copytree(model_data, model)
        else:
            extract_model(model_data, model)  # the platform unpacks ModelDataUrl before the container starts
        os.chmod(model, 0o755)
        port = port or free_port()
        name = "local-job-serve-%s" % uuid.uuid4().hex[:8]
        args = ["run", "--rm", "--name", name, "-p", "127.0.0.1:%d:8080" % port,
                "-v", "%s:/opt/ml/model:ro" % model]
        for k, v in env.items():
            args += ["-e", "%s=%s" % (k, v)]
        args += self._algorithm_env() + [self.image, "serve"]
        own_log = log_path is None
        log = open(log_path or tempfile.mkstemp(prefix="local-job-serve-", suffix=".log")[1], "wb")
        proc = subprocess.Popen(["docker"] + args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        log.close()

        def cleanup():
            shutil.rmtree(model, ignore_errors=True)
            if own_log:
                os.unlink(log.name)

        def stop(grace):
            # docker stop: SIGTERM to the container's PID 1 (serve), SIGKILL `grace` seconds later
            docker.run(["stop", "-t", str(int(math.ceil(grace))), name], check=False, timeout=grace + 60)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                docker.remove_container(name)
            cleanup()

        def kill():
            docker.remove_container(name)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            cleanup()
        return Server("http://127.0.0.1:%d" % port, proc, stop, kill, log.name)


def _docker_name(s):
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in s)[:40] or "job"


def extract_model(archive, dest):
    import tarfile
    with tarfile.open(archive, "r:*") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:  # older Pythons: refuse what the data filter would refuse
            root = os.path.realpath(dest)
            for m in tar.getmembers():
                target = os.path.realpath(os.path.join(dest, m.name))
                if not (target == root or target.startswith(root + os.sep)) or not (m.isfile() or m.isdir()):
                    raise RequestError("model archive %s: unsafe member %r" % (archive, m.name))
            tar.extractall(dest)
    for dirpath, dirs, files in os.walk(dest):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            os.chmod(p, os.stat(p).st_mode | 0o444 | (0o111 if os.path.isdir(p) else 0))


class Server:
    """A running model server. stop(grace): SIGTERM, SIGKILL after `grace` seconds; kill(): SIGKILL now.
    Either happens once: later calls do nothing."""

    def __init__(self, url, proc, stop, kill, log_path):
        self.url, self.proc, self.log_path = url, proc, log_path
        self._stop, self._kill = stop, kill
        self._done = False

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_healthy(self, timeout=120):
        import urllib.error
        import urllib.request
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the model server exited with %s:\n%s" % (self.proc.returncode, self.log()[-4000:]))
            try:
                with urllib.request.urlopen(self.url + "/ping", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise RuntimeError("the model server did not answer /ping with 200 within %ds:\n%s"
                           % (timeout, self.log()[-4000:]))

    def stop(self, grace=STOP_GRACE):
        """A Ctrl-C (or SIGTERM) while waiting out the grace time kills it at once."""
        if self._done:
            return
        try:
            self._stop(grace)
            self._done = True
        except KeyboardInterrupt:
            self.kill()

    def kill(self):
        if self._done:
            return
        self._done = True
        # not to be interrupted half way: that would leave the server running
        saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._kill()
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)
