"""Multi-model endpoints (SAGEMAKER_MULTI_MODEL=true), for every algorithm.

The management API of the model server the service's images run in this mode (Multi Model Server, as
the SageMaker inference toolkit starts it), with its answers:
- POST /models {"model_name": ..., "url": <directory>}: load; 200 {"status": "Workers scaled"}, 409
  {"code": 409, "type": "ConflictStatusException", "message": "Model <name> is already registered."},
  400 without url, 404 when the directory does not exist, 507 when memory runs out.
- GET /models[?limit=&next_page_token=]: {"models": [{"modelName", "modelUrl"}, ...]} sorted by name,
  "nextPageToken" when more remain.
- GET /models/<name>: {"modelName", "modelUrl"}; DELETE /models/<name>: 200
  {"status": "Model \"<name>\" unregistered"}; both 404 {"code": 404, "type": "ModelNotFoundException",
  "message": "Model not found: <name>"} for a model that is not loaded.
- POST /models/<name>/invoke (and /invocations?model_name=<name>): the algorithm's /invocations.

gunicorn runs several worker processes, and a request may reach any of them: what is loaded is kept in
a directory every worker shares (one file per model, created exclusively, so two loads of one name give
one 409), and each worker loads a model the first time it serves it and forgets it once unloaded.
"""
import atexit
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from urllib.parse import quote, unquote

from flask import Flask, Response, request

from contract import registry
from serving import body as request_body
from serving import model_dir
from serving.invoke import Invoker, guarded

log = logging.getLogger("serving")
ENV = "SAGEMAKER_MULTI_MODEL"
STATE_ENV = "SAGEMAKER_MULTI_MODEL_STATE_DIR"  # set by `serve` for its workers


def enabled(environ=os.environ):
    return (environ.get(ENV) or "").strip().lower() == "true"


def prepare(environ=os.environ):
    """In the server's first process, before the workers start: the directory they share."""
    if not environ.get(STATE_ENV):
        path = tempfile.mkdtemp(prefix="multi-model-")
        environ[STATE_ENV] = path
        pid = os.getpid()
        atexit.register(lambda: os.getpid() == pid and shutil.rmtree(path, ignore_errors=True))
    return environ[STATE_ENV]


class _Error(Exception):
    def __init__(self, status, kind, message):
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def _not_found(name):
    return _Error(404, "ModelNotFoundException", "Model not found: %s" % name)


class Registry:
    """The loaded models' names and urls, shared by the workers through files."""

    def __init__(self, path):
        self.path = path
        os.makedirs(path, exist_ok=True)

    def _file(self, name):
        return os.path.join(self.path, quote(name, safe="") + ".json")

    def add(self, name, url):
        try:
            fd = os.open(self._file(name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise _Error(409, "ConflictStatusException", "Model %s is already registered." % name) from None
        with os.fdopen(fd, "w") as f:
            json.dump({"modelName": name, "modelUrl": url, "loadedAt": time.time()}, f)

    def remove(self, name):
        try:
            os.unlink(self._file(name))
        except FileNotFoundError:
            raise _not_found(name) from None

    def get(self, name):
        """(entry, version) or (None, None); version changes when a name is unloaded and loaded again."""
        try:
            with open(self._file(name)) as f:
                entry = json.load(f)
        except (FileNotFoundError, ValueError):
            return None, None
        return entry, entry.get("loadedAt")

    def names(self):
        return sorted(unquote(n[:-5]) for n in os.listdir(self.path) if n.endswith(".json"))


def _json(obj, status=200):
    return Response(json.dumps(obj), status=status, mimetype="application/json")


def create_app(algorithm=None, base_dir=None, state_dir=None):
    from serving.app import execution_parameters  # the single-model app's
    decl, module = registry.resolve(algorithm, side="serving")
    invoker = Invoker(decl)
    models = Registry(state_dir or os.environ.get(STATE_ENV) or prepare())
    cache = {}  # name -> (version, predictor), this worker's
    lock = threading.Lock()

    app = Flask(__name__)
    limit = execution_parameters()["MaxPayloadInMB"]
    app.config["MAX_CONTENT_LENGTH"] = limit * 1024 * 1024 if limit > 0 else None

    class _NoDefaultModel:
        def get(self):
            return None
    app.holder = _NoDefaultModel()  # serve's worker start-up asks for the model: none here

    def load(url):
        if not os.path.isdir(url):
            raise _Error(404, "ModelNotFoundException", "Model not found in model store: %s" % url)
        t = time.time()
        try:
            model = module.load(model_dir.resolve(url))
        except MemoryError:
            raise _Error(507, "InsufficientMemoryException", "Memory exhausted loading %s" % url) from None
        except Exception as e:
            log.exception("cannot load the model from %s", url)
            raise _Error(500, "InternalServerException", "Failed to load model from %s: %s: %s"
                         % (url, type(e).__name__, e)) from None
        log.info("model loaded from %s in %.2fs", url, time.time() - t)
        return model

    def model_for(name):
        entry, version = models.get(name)
        with lock:
            if name in cache and cache[name][0] != version:  # unloaded and loaded again since
                del cache[name]
            if entry is None:
                raise _not_found(name)
            if name in cache:
                return cache[name][1]
        model = load(entry["modelUrl"])
        with lock:
            cache[name] = (version, model)
        return model

    def forget_unloaded():
        names = set(models.names())
        with lock:
            for n in [n for n in cache if n not in names]:
                del cache[n]

    @app.errorhandler(_Error)
    def management_error(e):
        return _json({"code": e.status, "type": e.kind, "message": e.message}, e.status)

    @app.route("/ping", methods=["GET"])
    def ping():
        return _json({"status": "Healthy"})

    @app.route("/execution-parameters", methods=["GET"])
    def exec_params():
        return execution_parameters()

    @app.route("/models", methods=["GET"])
    def list_models():
        try:
            limit_ = int(request.args.get("limit", 100))
            token = int(request.args.get("next_page_token", 0))
        except ValueError:
            raise _Error(400, "BadRequestException", "limit and next_page_token must be integers") from None
        limit_ = 100 if limit_ > 100 or limit_ < 0 else limit_
        token = max(token, 0)
        names = models.names()
        out = {}
        last = min(token + limit_, len(names))
        if token + limit_ < len(names):
            out["nextPageToken"] = str(token + limit_)
        listed = []
        for n in names[token:last]:
            entry, _ = models.get(n)
            if entry is not None:
                listed.append({"modelName": n, "modelUrl": entry["modelUrl"]})
        out["models"] = listed
        forget_unloaded()
        return _json(out)

    @app.route("/models", methods=["POST"])
    def load_model():
        args = dict(request.args)
        if (request.mimetype or "").lower() == "application/json" and request.get_data():
            try:
                given = json.loads(request.get_data())
            except ValueError:
                raise _Error(400, "BadRequestException", "the request body is not JSON") from None
            if not isinstance(given, dict):
                raise _Error(400, "BadRequestException", "the request body is not a JSON object")
            args.update(given)
        url = args.get("url")
        if not url:
            raise _Error(400, "BadRequestException", "Parameter url is required.")
        name = args.get("model_name") or os.path.basename(os.path.normpath(url))
        if models.get(name)[0] is not None:
            raise _Error(409, "ConflictStatusException", "Model %s is already registered." % name)
        model = load(url)
        models.add(name, url)
        _, version = models.get(name)
        with lock:
            cache[name] = (version, model)
        return _json({"status": "Workers scaled"})

    @app.route("/models/<name>", methods=["GET"])
    def describe(name):
        entry, _ = models.get(name)
        if entry is None:
            raise _not_found(name)
        return _json({"modelName": name, "modelUrl": entry["modelUrl"]})

    @app.route("/models/<name>", methods=["DELETE"])
    def unload(name):
        models.remove(name)
        with lock:
            cache.pop(name, None)
        return _json({"status": 'Model "%s" unregistered' % name})

    def invoke(name):
        def handle():
            req = invoker.negotiate(request.headers)
            return invoker.respond(model_for(name), request_body.read(request), req)
        return guarded(handle, passthrough=_Error)

    @app.route("/models/<name>/invoke", methods=["POST"])
    def invoke_named(name):
        return invoke(name)

    @app.route("/invocations", methods=["POST"])
    def invocations():
        return invoke(request.args.get("model_name") or "")

    return app
