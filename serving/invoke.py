"""One /invocations request through an algorithm's predictor: content negotiation, the request object,
decode, predict, encode, and the mapping of every failure to an HTTP answer. Shared by the single-model
app and multi-model endpoints, so both answer alike."""
import logging
import os
import threading

from flask import Response
from werkzeug.exceptions import HTTPException

from contract.errors import ClientError
from contract.interface import MediaType, Request
from formats import Batch, FormatError, codecs
from serving.negotiation import HttpError, request_type, response_type

log = logging.getLogger("serving")


def batch_flag(environ=os.environ):
    """SAGEMAKER_BATCH: the platform sets it to true in a batch transform job's containers."""
    return (environ.get("SAGEMAKER_BATCH") or "").strip().lower() in ("true", "1", "yes")


def text(status, message):
    return Response(message + "\n", status=status, mimetype="text/plain")


class Invoker:
    """The algorithm's declared content types and response shape, applied to one request at a time."""

    def __init__(self, decl):
        serving = decl.get("serving", {})
        self.content_types = serving.get("content_types", [codecs.CSV])
        self.accept_types = serving.get("accept", [codecs.JSON])
        self.default_accept = serving.get("default_accept", self.accept_types[0])
        self.json_root = serving.get("json_root", "predictions")
        self.in_batch_job = batch_flag()
        self.predict_lock = threading.Lock()  # MXNet 1.x imperative calls are not thread-safe

    def negotiate(self, headers):
        """The Request for these headers, or HttpError 415/406."""
        mime, params = request_type(headers.get("Content-Type"), self.content_types)
        accept, accept_params = response_type(headers.get("Accept"), self.accept_types, self.default_accept)
        return Request(content_type=MediaType(mime, params), accept=MediaType(accept, accept_params),
                       batch=self.in_batch_job, environ=os.environ, headers=headers)

    def respond(self, model, body, req):
        """The 200 Response for the body, or HttpError with the status the failure deserves."""
        if not body:
            raise HttpError(400, "empty request body")
        mime = req.content_type.mime
        try:
            decode = getattr(model, "decode", None)
            data = decode(body, req) if decode else codecs.decode(body, mime, req.content_type.params)
            if isinstance(data, Batch) and len(data) == 0:
                raise HttpError(400, "no records in the request body")
            with self.predict_lock:
                outputs = model.predict(data)
            encode = getattr(model, "encode", None)
            payload = encode(outputs, req) if encode else None
            mimetype = req.accept.mime
            if isinstance(payload, tuple):  # (body, the media type the algorithm chose)
                payload, mimetype = payload
            if payload is None:
                payload = codecs.encode(outputs, len(data) if isinstance(data, Batch) else None,
                                        req.accept.mime, root=self.json_root)
        except FormatError as e:
            raise HttpError(400, "bad %s input: %s" % (mime, e)) from None
        except ClientError as e:
            raise HttpError(e.status, str(e)) from None
        return Response(payload, status=200, mimetype=mimetype)


def guarded(handler, passthrough=()):
    """handler() with every failure as a text answer: HttpError and werkzeug's own with their status,
    anything else a logged 500. Bad input never takes the worker down."""
    try:
        return handler()
    except passthrough:
        raise
    except HttpError as e:
        return text(e.status, e.message)
    except HTTPException as e:  # werkzeug's own, e.g. 413 from MAX_CONTENT_LENGTH
        return text(e.code, e.description or "")
    except Exception as e:
        log.exception("invocation failed")
        return text(500, "internal error: %s: %s" % (type(e).__name__, e))
