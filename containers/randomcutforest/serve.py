"""Serving: the forest from model_algo-1, scored per request; the model never changes."""
import glob
import os

import numpy as np

from contract.errors import ClientError
from containers.randomcutforest import artifact
from containers.randomcutforest.scoring import Scorer

# The service's JSON answers carry 10 decimals (1.0868037776)
DECIMALS = 10


class Predictor:
    def __init__(self, forest, meta):
        self.meta = meta
        self.dim = forest.dim
        self.scorer = Scorer(forest)

    def predict(self, batch):
        x = batch.dense()
        if x.shape[1] != self.dim:
            raise ClientError("each record must have %d features (the model's feature_dim), got %d"
                              % (self.dim, x.shape[1]))
        if not np.isfinite(x).all():
            bad = int(np.nonzero(~np.isfinite(x).all(1))[0][0])
            raise ClientError("record %d has a NaN or infinite feature" % bad)
        return {"score": np.round(self.scorer.scores(x), DECIMALS)}


def model_file(model_dir):
    paths = sorted(glob.glob(os.path.join(model_dir, "model_algo-*")))
    if not paths:
        raise FileNotFoundError("no model_algo-* file in %s" % model_dir)
    return paths[0]


def load(model_dir):
    forest, meta = artifact.load(model_file(model_dir))
    return Predictor(forest, meta)
