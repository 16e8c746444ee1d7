"""Serving: the model artifact -> predictions shaped by the objective, and XGBoost's CSV responses."""
import io
import json
import os
import pickle

import numpy as np

from formats import FormatError
from formats.batch import Csr
from formats.codecs import CSV

MODEL_FILE = "xgboost-model"

# What a pickled Booster from the older images may reference, and nothing else: unpickling is code.
_PICKLE_ALLOWED = {("xgboost.core", "Booster"), ("copyreg", "_reconstructor"), ("builtins", "object"),
                   ("builtins", "bytearray"), ("builtins", "bytes")}


class _BoosterUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _PICKLE_ALLOWED:
            raise pickle.UnpicklingError("refusing to unpickle %s.%s: only an xgboost Booster is accepted"
                                         % (module, name))
        return super().find_class(module, name)


class Predictor:
    def __init__(self, booster):
        self.booster = booster
        self.num_features = booster.num_features()
        learner = json.loads(booster.save_config())["learner"]
        self.objective = learner["objective"]["name"]

    def _matrix(self, batch):
        f = batch.features
        if isinstance(f, Csr):
            if f.shape[1] > self.num_features:
                raise FormatError("a record has feature index %d, the model has %d features (0..%d)"
                                  % (f.shape[1] - 1, self.num_features, self.num_features - 1))
            import scipy.sparse
            return scipy.sparse.csr_matrix((f.data, f.indices, f.indptr), shape=(f.shape[0], self.num_features))
        if f.ndim != 2 or f.shape[1] != self.num_features:
            raise FormatError("each record must have %d features, got %d"
                              % (self.num_features, f.shape[1] if f.ndim == 2 else 0))
        return f

    def predict(self, batch):
        scores = self.booster.inplace_predict(self._matrix(batch), validate_features=False)
        return {"score": np.asarray(scores, dtype=np.float32)}

    def encode(self, outputs, accept):
        """CSV as the service writes it: one line of comma-separated scores, or a vector per line."""
        if accept != CSV:
            return None
        s = outputs["score"]
        if s.ndim == 1:
            return (",".join(map(repr, s.tolist()))).encode()
        return "\n".join(",".join(map(repr, row)) for row in s.tolist()).encode()


def _model_path(model_dir):
    path = os.path.join(model_dir, MODEL_FILE)
    if os.path.isfile(path):
        return path
    others = sorted(n for n in os.listdir(model_dir)
                    if not n.startswith(".") and os.path.isfile(os.path.join(model_dir, n)))
    if len(others) == 1:  # older images and hand-made archives name the one file differently
        return os.path.join(model_dir, others[0])
    raise FileNotFoundError("no %s file in %s (found: %s)" % (MODEL_FILE, model_dir, ", ".join(others) or "nothing"))


def load(model_dir):
    import xgboost as xgb
    path = _model_path(model_dir)
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:1] == b"\x80":  # pickle protocol >= 2: a Booster pickled by the older images
        try:
            booster = _BoosterUnpickler(io.BytesIO(raw)).load()
        except Exception as e:
            raise ValueError("%s is a pickle but not of an xgboost Booster: %s" % (path, e)) from None
        if not isinstance(booster, xgb.Booster):
            raise ValueError("%s holds a pickled %s, not an xgboost Booster" % (path, type(booster).__name__))
    else:
        booster = xgb.Booster()
        try:
            booster.load_model(bytearray(raw))
        except xgb.core.XGBoostError as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise ValueError("%s is neither an xgboost model (JSON, UBJSON or binary) nor a pickled Booster: %s"
                             % (path, first)) from None
    return Predictor(booster)
