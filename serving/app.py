"""The Flask app: /ping, /invocations, /execution-parameters. One model per worker process."""
import logging
import os
import threading
import time

from flask import Flask, Response, request

from contract import registry
from contract.paths import Paths
from serving import body as request_body
from serving import model_dir
from serving.invoke import Invoker, guarded, text
from serving.negotiation import HttpError

log = logging.getLogger("serving")


def _int_env(name, default):
    raw = os.environ.get(name)
    try:
        return int(raw) if raw not in (None, "") else default
    except ValueError:
        log.warning("ignoring %s=%r: not an integer", name, raw)
        return default


def execution_parameters():
    return {
        "MaxConcurrentTransforms": _int_env("SAGEMAKER_MAX_CONCURRENT_TRANSFORMS",
                                            _int_env("SAGEMAKER_MODEL_SERVER_WORKERS", os.cpu_count() or 1)),
        "BatchStrategy": os.environ.get("SAGEMAKER_BATCH_STRATEGY") or "MULTI_RECORD",
        "MaxPayloadInMB": _int_env("SAGEMAKER_MAX_PAYLOAD_IN_MB", 6),
    }


class ModelHolder:
    """Loads the model once per worker; remembers why it failed so /ping can say not ready."""

    def __init__(self, decl, module, directory):
        self.decl, self.module, self.directory = decl, module, directory
        self.model = None
        self.error = None
        self.lock = threading.Lock()

    def get(self):
        if self.model is None and self.error is None:
            with self.lock:
                if self.model is None and self.error is None:
                    t = time.time()
                    try:
                        self.model = self.module.load(model_dir.resolve(self.directory))
                        log.info("model loaded from %s in %.2fs", self.directory, time.time() - t)
                    except Exception as e:  # the log says why; /ping stays unhealthy
                        self.error = "%s: %s" % (type(e).__name__, e)
                        log.exception("cannot load the model from %s", self.directory)
        return self.model


def create_app(algorithm=None, base_dir=None):
    from serving import multi_model
    if multi_model.enabled():  # SAGEMAKER_MULTI_MODEL=true: models loaded and unloaded through /models
        return multi_model.create_app(algorithm, base_dir)
    decl, module = registry.resolve(algorithm, side="serving")
    paths = Paths(base_dir)
    invoker = Invoker(decl)
    holder = ModelHolder(decl, module, paths.model)

    app = Flask(__name__)
    limit = execution_parameters()["MaxPayloadInMB"]
    app.config["MAX_CONTENT_LENGTH"] = limit * 1024 * 1024 if limit > 0 else None
    app.holder = holder

    def not_loaded():
        # /ping and /invocations give the same answer while the model cannot load
        return text(503, "model not loaded: %s" % holder.error)

    @app.errorhandler(413)
    def too_large(e):
        return text(413, "payload larger than MaxPayloadInMB=%d" % limit)

    @app.route("/ping", methods=["GET"])
    def ping():
        if holder.get() is None:
            return not_loaded()
        return Response(b"", status=200)

    @app.route("/execution-parameters", methods=["GET"])
    def exec_params():
        return execution_parameters()

    @app.route("/invocations", methods=["POST"])
    def invocations():
        def handle():
            req = invoker.negotiate(request.headers)
            model = holder.get()
            if model is None:
                return not_loaded()
            if limit > 0 and (request.content_length or 0) > limit * 1024 * 1024:
                raise HttpError(413, "payload of %d bytes is larger than MaxPayloadInMB=%d"
                                % (request.content_length, limit))
            return invoker.respond(model, request_body.read(request), req)
        return guarded(handle)

    return app
