"""Serving: the model artifact -> predictions shaped by the objective, and XGBoost's CSV responses.

Several model files without an xgboost-model (k-fold training writes xgboost-model-<n>) are served as
the image does with SAGEMAKER_INFERENCE_ENSEMBLE (default true): the mean of their predictions, or the
most frequent class for multi:softmax and binary:hinge. SAGEMAKER_INFERENCE_OUTPUT selects the image's
per-record fields instead of the score (selectable.py).
"""
import json
import logging
import os

import numpy as np

from containers.xgboost_algo import csv_text, model_file, selectable
from formats import FormatError, codecs, libsvm
from formats.batch import Csr
from formats.codecs import CSV, LIBSVM, RECORDIO

MODEL_FILE = "xgboost-model"
VOTING = ("multi:softmax", "binary:hinge")
# request content types the image takes under its short names
SHORT_NAMES = {"csv": CSV, "libsvm": LIBSVM, "recordio-protobuf": RECORDIO}
log = logging.getLogger(__name__)


class Predictor:
    def __init__(self, booster, others=()):
        self.booster = booster
        self.ensemble = [booster] + list(others)
        self.num_features = booster.num_features()
        learner = json.loads(booster.save_config())["learner"]
        self.objective = learner["objective"]["name"]
        self.num_class = int(learner["learner_model_param"].get("num_class") or 0)
        self.selected = selectable.selected_keys(os.environ)

    def decode(self, body, request):
        mime = SHORT_NAMES.get(request.content_type.mime, request.content_type.mime)
        if mime == LIBSVM:  # xgboost's indexing rule over the request: no index 0 means 1-based
            return libsvm.parse(body, indexing="auto")
        try:
            return codecs.decode(body, mime, request.content_type.params)
        except FormatError:
            # the image sniffs the delimiter and reads empty fields as missing values
            if mime != CSV or not csv_text.needs_rewrite(body):
                raise
        return codecs.decode(csv_text.rewrite(body), mime, request.content_type.params)

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
        m = self._matrix(batch)
        runs = [np.asarray(b.inplace_predict(m, validate_features=False)) for b in self.ensemble]
        if len(runs) == 1:
            scores = runs[0]
        elif self.objective in VOTING:
            from scipy import stats
            scores = stats.mode(np.stack(runs), axis=0, keepdims=False).mode
        else:
            scores = np.mean(runs, axis=0)
        return {"score": np.asarray(scores, dtype=np.float32)}

    def encode(self, outputs, request):
        """CSV as the service writes it: one line of comma-separated scores (an endpoint), one score
        per line in a batch transform job (so AssembleWith=Line lines up with the input), or a vector
        per line. With SAGEMAKER_INFERENCE_OUTPUT, the selected fields in every format."""
        if self.selected is not None:
            return selectable.encode(outputs["score"], self.selected, self.objective, self.num_class,
                                     request.accept.mime, request.batch)
        if request.accept.mime != CSV:
            return None
        s = outputs["score"]
        if s.ndim == 1:
            return ("\n" if request.batch else ",").join(map(repr, s.tolist())).encode()
        return "\n".join(",".join(map(repr, row)) for row in s.tolist()).encode()


def _model_paths(model_dir, ensemble=True):
    path = os.path.join(model_dir, MODEL_FILE)
    if os.path.isfile(path):
        return [path]
    others = sorted((n for n in os.listdir(model_dir)
                     if not n.startswith(".") and os.path.isfile(os.path.join(model_dir, n))),
                    key=lambda n: (len(n), n))  # xgboost-model-2 before xgboost-model-10
    if len(others) == 1 or (others and not ensemble):
        # older images and hand-made archives name the one file differently
        return [os.path.join(model_dir, others[0])]
    if others:
        return [os.path.join(model_dir, n) for n in others]
    raise FileNotFoundError("no %s file in %s (found: nothing)" % (MODEL_FILE, model_dir))


def load(model_dir):
    """Every format the service's images wrote (model_file.py); pickles never run code."""
    ensemble = os.environ.get("SAGEMAKER_INFERENCE_ENSEMBLE", "true").strip().lower() == "true"
    boosters = [model_file.read(p) for p in _model_paths(model_dir, ensemble)]
    if len(boosters) > 1:
        log.info("serving %d models as one ensemble: %s", len(boosters), ", ".join(_model_paths(model_dir)))
    return Predictor(boosters[0], boosters[1:])
