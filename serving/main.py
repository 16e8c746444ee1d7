"""`serve`: the program the platform runs as `docker run IMAGE serve` (gunicorn + the Flask app)."""
import logging
import os
import sys

from gunicorn.app.base import BaseApplication


class _Server(BaseApplication):
    def __init__(self, options):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from serving.app import create_app
        app = create_app()
        app.holder.get()  # load in the worker, after fork: MXNet's engine does not survive fork
        return app


def options():
    workers = os.environ.get("SAGEMAKER_MODEL_SERVER_WORKERS") or os.cpu_count() or 1
    port = os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080")
    return {
        "bind": "0.0.0.0:%s" % port,
        "workers": int(workers),
        "timeout": int(os.environ.get("SAGEMAKER_MODEL_SERVER_TIMEOUT", "60")),
        # gthread keeps connections alive (the sync worker closes each one)
        "worker_class": "gthread",
        "threads": int(os.environ.get("SAGEMAKER_MODEL_SERVER_THREADS", "4")),
        "keepalive": 75,
        "graceful_timeout": 20,
        "accesslog": None,
        "loglevel": "info",
    }


def main(argv=None):
    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format="[%(asctime)s %(levelname)s %(process)d] %(message)s")
    from contract import registry
    name = os.environ.get("ALGORITHM")
    found = registry.available()
    if name not in found:  # checked without importing the algorithm: MXNet must load after the fork
        logging.error("%s; available algorithms: %s", "unknown ALGORITHM %r" % name if name
                      else "ALGORITHM is not set", ", ".join(sorted(found)))
        return 2
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # Each request ends waiting for its result, so MXNet's threaded engine only adds hand-offs
    # between threads to every small op: the synchronous engine halves one-record predict time.
    os.environ.setdefault("MXNET_ENGINE_TYPE", "NaiveEngine")
    from serving import multi_model
    if multi_model.enabled():
        multi_model.prepare(os.environ)  # the loaded-model registry every worker shares
    _Server(options()).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
