"""Echo serving: answers with what the request looked like to the algorithm's hooks."""
import json
import os
from collections import OrderedDict

import numpy as np

from contract.errors import ClientError
from formats import codecs


class Echo:
    def __init__(self, means):
        self.means = means

    def decode(self, body, request):
        if request.content_type.mime == "application/octet-stream":
            return {"bytes": len(body), "request": request}
        if body.startswith(b"client-error"):
            raise ClientError("the echo algorithm refuses this body", status=422)
        if body.startswith(b"crash"):
            raise RuntimeError("the echo algorithm crashed on purpose")
        return {"batch": codecs.decode(body, request.content_type.mime, request.content_type.params),
                "request": request}

    def predict(self, data):
        req = data["request"]
        n = len(data["batch"]) if "batch" in data else 1
        out = OrderedDict()
        out["rows"] = np.full(n, n, dtype=np.int64)
        if "batch" in data:
            out["distance"] = np.sqrt(((data["batch"].dense() - self.means) ** 2).sum(axis=1))
            if req.accept.mime == codecs.CSV:
                return out  # numbers only: the runtime's default CSV encoding
        else:
            out["bytes"] = np.full(n, data["bytes"], dtype=np.int64)
        out["content_params"] = [dict(req.content_type.params)] * n
        out["accept_params"] = [dict(req.accept.params)] * n
        out["batch"] = [req.batch] * n
        return out

    def encode(self, outputs, request):
        if request.accept.mime == codecs.CSV:
            return None  # the default encoding
        rows = [dict(zip(outputs, vals)) for vals in zip(*[list(np.asarray(v).tolist()) if isinstance(v, np.ndarray)
                                                          else v for v in outputs.values()])]
        if request.accept.mime == codecs.JSON:
            body = json.dumps({"echoes": rows}).encode()
            # an algorithm may answer in the request's own type, as BlazingText does
            return (body, request.content_type.mime) if request.accept.flag("mirror") else body
        return ("\n".join(json.dumps(r) for r in rows) + "\n").encode()


def load(model_dir):
    return Echo(np.load(os.path.join(model_dir, "means.npy")))
