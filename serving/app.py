"""The Flask app: /ping, /invocations, /execution-parameters. One model per worker process."""
import logging
import os
import threading
import time

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from formats import FormatError, codecs
from serving import body as request_body
from serving import model_dir
from serving.negotiation import HttpError, request_type, response_type
from training import algorithms
from training.env import Paths

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
    decl, module = algorithms.resolve(algorithm)
    paths = Paths(base_dir)
    serving = decl.get("serving", {})
    content_types = serving.get("content_types", [codecs.CSV])
    accept_types = serving.get("accept", [codecs.JSON])
    default_accept = serving.get("default_accept", accept_types[0])
    holder = ModelHolder(decl, module, paths.model)
    predict_lock = threading.Lock()  # MXNet 1.x imperative calls are not thread-safe

    app = Flask(__name__)
    limit = execution_parameters()["MaxPayloadInMB"]
    app.config["MAX_CONTENT_LENGTH"] = limit * 1024 * 1024 if limit > 0 else None
    app.holder = holder

    def text(status, message):
        return Response(message + "\n", status=status, mimetype="text/plain")

    @app.errorhandler(413)
    def too_large(e):
        return text(413, "payload larger than MaxPayloadInMB=%d" % limit)

    @app.route("/ping", methods=["GET"])
    def ping():
        if holder.get() is None:
            return text(500, "model not loaded: %s" % holder.error)
        return Response(b"", status=200)

    @app.route("/execution-parameters", methods=["GET"])
    def exec_params():
        return execution_parameters()

    @app.route("/invocations", methods=["POST"])
    def invocations():
        try:
            mime, params = request_type(request.headers.get("Content-Type"), content_types)
            accept, _ = response_type(request.headers.get("Accept"), accept_types, default_accept)
            model = holder.get()
            if model is None:
                return text(503, "model not loaded: %s" % holder.error)
            if limit > 0 and (request.content_length or 0) > limit * 1024 * 1024:
                raise HttpError(413, "payload of %d bytes is larger than MaxPayloadInMB=%d"
                                % (request.content_length, limit))
            body = request_body.read(request)
            if not body:
                raise HttpError(400, "empty request body")
            try:
                batch = codecs.decode(body, mime, params)
                if len(batch) == 0:
                    raise HttpError(400, "no records in the request body")
                with predict_lock:
                    outputs = model.predict(batch)
            except FormatError as e:
                raise HttpError(400, "bad %s input: %s" % (mime, e)) from None
            custom = getattr(model, "encode", None)
            payload = custom(outputs, accept) if custom else None
            if payload is None:
                payload = codecs.encode(outputs, len(batch), accept)
            return Response(payload, status=200, mimetype=accept)
        except HttpError as e:
            return text(e.status, e.message)
        except HTTPException as e:  # werkzeug's own, e.g. 413 from MAX_CONTENT_LENGTH
            return text(e.code, e.description)
        except Exception as e:  # never let bad input take the worker down
            log.exception("invocation failed")
            return text(500, "internal error: %s: %s" % (type(e).__name__, e))

    return app
