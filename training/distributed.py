"""Several hosts: MXNet's distributed kvstore (dist_sync, dist_async or dist_device_sync) (ps-lite), started from resourceconfig.json.

The first host runs the scheduler; every host runs one server and is one worker. Host names may not
resolve at once on a fresh cluster, so resolution retries.
"""
import gc
import json
import os
import socket
import subprocess
import sys
import time

from contract.errors import PlatformError


def resolve(host, attempts=None, delay=1.0):
    """The host's address; a fresh cluster's names may take a while to appear in DNS."""
    if attempts is None:
        attempts = int(os.environ.get("SAGEMAKER_HOST_RESOLVE_ATTEMPTS") or 60)
    overrides = os.environ.get("SAGEMAKER_HOST_ADDRESSES")  # local runs: {"algo-1": "127.0.0.1"}
    if overrides:
        mapping = json.loads(overrides)
        if host in mapping:
            return mapping[host]
    for i in range(attempts):
        try:
            return socket.gethostbyname(host)
        except socket.gaierror:
            time.sleep(delay)
    raise PlatformError("host %s did not resolve after %d attempts" % (host, attempts))


class KVStoreCluster:
    KINDS = ("dist_sync", "dist_async", "dist_device_sync")

    def __init__(self, hosts, current_host, log, kind="dist_sync"):
        if kind not in self.KINDS:
            raise ValueError("kvstore kind %r is not one of %s" % (kind, ", ".join(self.KINDS)))
        self.kind = kind
        self.hosts = hosts
        self.current_host = current_host
        self.log = log
        self.children = []
        self.kv = None

    def start(self):
        import mxnet as mx
        root = resolve(self.hosts[0])
        port = os.environ.get("SAGEMAKER_KVSTORE_PORT", "9000")
        env = dict(os.environ, DMLC_PS_ROOT_URI=root, DMLC_PS_ROOT_PORT=str(port),
                   DMLC_NUM_SERVER=str(len(self.hosts)), DMLC_NUM_WORKER=str(len(self.hosts)))
        if "SAGEMAKER_HOST_ADDRESSES" in os.environ and "DMLC_NODE_HOST" not in env:
            env["DMLC_NODE_HOST"] = resolve(self.current_host)
        env.pop("DMLC_ROLE", None)
        roles = (["scheduler"] if self.current_host == self.hosts[0] else []) + ["server"]
        for role in roles:
            # importing mxnet with DMLC_ROLE=server|scheduler runs that role until the job ends
            self.children.append(subprocess.Popen([sys.executable, "-c", "import mxnet"],
                                                  env=dict(env, DMLC_ROLE=role)))
        os.environ.update({k: env[k] for k in ("DMLC_PS_ROOT_URI", "DMLC_PS_ROOT_PORT",
                                               "DMLC_NUM_SERVER", "DMLC_NUM_WORKER")})
        if "DMLC_NODE_HOST" in env:
            os.environ["DMLC_NODE_HOST"] = env["DMLC_NODE_HOST"]
        os.environ["DMLC_ROLE"] = "worker"
        self.log.info("starting %s kvstore: scheduler %s:%s, %d hosts", self.kind, root, port, len(self.hosts))
        self.kv = mx.kv.create(self.kind)
        self.log.info("kvstore up: rank %d of %d", self.kv.rank, self.kv.num_workers)
        return self.kv

    def close(self, timeout=60):
        if self.kv is not None:
            self.kv._barrier()
            del self.kv
            self.kv = None
            # A Gluon Trainer and its Parameters reference each other, so the kvstore they hold is freed
            # only by the cycle collector; the servers and scheduler exit once every worker's is freed.
            gc.collect()
        for child in self.children:
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
