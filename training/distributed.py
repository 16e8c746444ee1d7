"""Several hosts: MXNet's dist_sync kvstore (ps-lite), started from resourceconfig.json.

The first host runs the scheduler; every host runs one server and is one worker. Host names may not
resolve at once on a fresh cluster, so resolution retries.
"""
import json
import os
import socket
import subprocess
import sys
import time

from training.errors import ClientError


def resolve(host, attempts=60, delay=1.0):
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
    raise ClientError("host %s did not resolve after %d attempts" % (host, attempts))


class KVStoreCluster:
    def __init__(self, hosts, current_host, log):
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
        self.log.info("starting dist_sync kvstore: scheduler %s:%s, %d hosts", root, port, len(self.hosts))
        self.kv = mx.kv.create("dist_sync")
        self.log.info("kvstore up: rank %d of %d", self.kv.rank, self.kv.num_workers)
        return self.kv

    def close(self, timeout=60):
        if self.kv is not None:
            self.kv._barrier()
            del self.kv
            self.kv = None
        for child in self.children:
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
