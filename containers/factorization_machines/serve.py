"""Serving: score and, for the classifier, predicted_label (a float, as the service writes it)."""
import os
from collections import OrderedDict

import numpy as np

from containers.factorization_machines import artifact
from containers.factorization_machines.step import scores
from contract.errors import ClientError
from formats import sparse_compiled


class Predictor:
    def __init__(self, params, predictor_type):
        self.params = params
        self.classifier = predictor_type == "binary_classifier"
        self.dim = params.feature_dim
        scores(params, np.zeros((1, self.dim), np.float32), parallel=False)  # compiled now, not per request
        sparse_compiled.warm()  # and the sparse recordIO reader

    def _check(self, features):
        if isinstance(features, np.ndarray):
            if features.shape[1] != self.dim:
                raise ClientError("records have %d features; this model's feature_dim is %d"
                                  % (features.shape[1], self.dim))
            return
        idx = features.indices
        if len(idx) and (idx.max() >= self.dim or idx.min() < 0):
            bad = int(idx.max() if idx.max() >= self.dim else idx.min())
            row = int(np.searchsorted(features.indptr, np.flatnonzero(idx == bad)[0], side="right") - 1)
            raise ClientError("record %d: sparse key %d is outside this model's feature_dim %d (keys are 0..%d)"
                              % (row, bad, self.dim, self.dim - 1))

    def predict(self, batch):
        self._check(batch.features)
        raw = scores(self.params, batch.features, parallel=False)
        out = OrderedDict()
        if self.classifier:
            score = 1.0 / (1.0 + np.exp(-np.clip(raw, -80.0, 80.0)))  # no float32 overflow warnings
            out["score"] = score
            out["predicted_label"] = (score > 0.5).astype(np.float32)
        else:
            out["score"] = raw
        return out


def load(model_dir):
    params, ptype = artifact.read(os.path.join(model_dir, artifact.MODEL_FILE))
    return Predictor(params, ptype)
