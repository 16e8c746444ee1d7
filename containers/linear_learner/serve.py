"""Linear Learner serving entry point: load the model_algo-1 artifact into a Predictor."""
import glob
import os

import mxnet as mx

from containers.linear_learner import artifact
from containers.linear_learner.predictor import Predictor


def load(model_dir):
    paths = sorted(glob.glob(os.path.join(model_dir, "model_algo-*")))
    if not paths:
        raise FileNotFoundError("no model_algo-* file in %s" % model_dir)
    w, b, extra = artifact.read(paths[0])
    return Predictor(w, b, extra, ctx=mx.gpu(0) if mx.context.num_gpus() > 0 else mx.cpu())
