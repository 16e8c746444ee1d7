"""Everything an algorithm's train(job) needs, read from the platform's files and environment."""
import logging
import os
import tempfile

from training import declaration, stopping
from training.channels import Channel
from training.env import Paths, read_json
from training.metrics import Metrics

log = logging.getLogger("training")


class TrainingJob:
    def __init__(self, decl, paths=None):
        self.decl = decl
        self.paths = paths or Paths()
        self.log = log
        self.name = os.environ.get("TRAINING_JOB_NAME", "")
        raw_hp = read_json(self.paths.config_file("hyperparameters.json"), default={}) or {}
        self.inputdataconfig = read_json(self.paths.config_file("inputdataconfig.json"), default={}) or {}
        rc = read_json(self.paths.config_file("resourceconfig.json"), default=None) or {}
        self.current_host = rc.get("current_host", "algo-1")
        self.hosts = sorted(rc.get("hosts") or [self.current_host])
        self.host_rank = self.hosts.index(self.current_host) if self.current_host in self.hosts else 0
        log.info("job %s on %s (hosts %s), algorithm %s", self.name or "-", self.current_host,
                 ",".join(self.hosts), decl["name"])
        log.info("hyperparameters given: %s", raw_hp)
        # Validate before any data is read, so a typo fails in seconds.
        self.hyperparameters = declaration.validate(decl["hyperparameters"], raw_hp, decl.get("ignored", ()))
        declaration.validate_channels(decl["channels"], self.inputdataconfig)
        self.metrics = Metrics(self.current_host, log)
        self.model_dir = self.paths.model
        self.output_data_dir = self.paths.output_data
        for d in (self.model_dir, self.output_data_dir):
            os.makedirs(d, exist_ok=True)
        self._cluster = None
        self._context = None

    # ---- channels --------------------------------------------------------------------------------
    def channel(self, name):
        cfg = self.inputdataconfig.get(name)
        if cfg is None:
            return None
        spec = self.decl["channels"].get(name) or {}
        default = (spec.get("content_types") or [None])[0]
        return Channel(name, cfg, self.paths.data, self.host_rank, len(self.hosts), log,
                       default_content_type=default)

    # ---- hosts -----------------------------------------------------------------------------------
    @property
    def is_master(self):
        return self.host_rank == 0

    def kvstore(self, kind="dist_sync"):
        """MXNet's distributed kvstore across the hosts (dist_sync, dist_async or dist_device_sync),
        or None on one host. One per job: the first call decides its kind."""
        if len(self.hosts) < 2:
            return None
        if self._cluster is None:
            from training.distributed import KVStoreCluster
            self._cluster = KVStoreCluster(self.hosts, self.current_host, log, kind)
            self._cluster.start()
        elif self._cluster.kind != kind:
            raise ValueError("the job's kvstore is %s already; %s asked" % (self._cluster.kind, kind))
        return self._cluster.kv

    @property
    def context(self):
        if self._context is None:
            import mxnet as mx
            self._context = mx.gpu(0) if mx.context.num_gpus() > 0 else mx.cpu()
            log.info("computing on %s", self._context)
        return self._context

    @property
    def contexts(self):
        """Every GPU of this host, else [cpu]: data-parallel training splits each batch across them."""
        import mxnet as mx
        n = mx.context.num_gpus()
        return [mx.gpu(i) for i in range(n)] if n > 0 else [mx.cpu()]

    # ---- stopping --------------------------------------------------------------------------------
    def install_signal_handlers(self):
        stopping.install(log)

    def stop_requested(self):
        return stopping.requested()

    # ---- artifacts -------------------------------------------------------------------------------
    def save_model(self, filename, write):
        """write(path) into a temporary file, then rename: never a half-written artifact."""
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.model_dir)
        os.close(fd)
        try:
            write(tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, os.path.join(self.model_dir, filename))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        log.info("model saved: %s", os.path.join(self.model_dir, filename))

    def finish(self):
        if self._cluster is not None:
            self._cluster.close()
