"""model_algo-1: an mx.nd.save list [alpha (num_topics,), beta (num_topics, vocabulary)], as users
load it (`alpha, beta = mx.ndarray.load(...)`) and as they re-save an edited model (the guide)."""
import glob
import os

import mxnet as mx
import numpy as np

MODEL_FILE = "model_algo-1"


def save(path, alpha, beta):
    mx.nd.save(path, [mx.nd.array(np.asarray(alpha, np.float32)), mx.nd.array(np.asarray(beta, np.float32))])


def model_file(model_dir):
    """model_algo-* if there is one, else the only regular file (a user's re-saved NDArray list)."""
    named = sorted(glob.glob(os.path.join(model_dir, "model_algo-*")))
    if named:
        return named[0]
    files = sorted(p for p in glob.glob(os.path.join(model_dir, "*"))
                   if os.path.isfile(p) and not os.path.basename(p).startswith("."))
    if len(files) == 1:
        return files[0]
    raise FileNotFoundError("no model_algo-1 in %s (found: %s)"
                            % (model_dir, ", ".join(os.path.basename(p) for p in files) or "nothing"))


def load(path):
    """(alpha float64 (K,), beta float64 (K, V) with rows on the simplex)."""
    arrays = mx.nd.load(path)
    if isinstance(arrays, dict):
        arrays = [arrays[k] for k in sorted(arrays)]
    arrays = [a.asnumpy().astype(np.float64) for a in arrays]
    vec = [a for a in arrays if a.ndim == 1]
    mat = [a for a in arrays if a.ndim == 2]
    if len(arrays) != 2 or len(vec) != 1 or len(mat) != 1 or mat[0].shape[0] != vec[0].shape[0]:
        raise ValueError("%s: expected [alpha (num_topics,), beta (num_topics, vocabulary)], got shapes %s"
                         % (path, [a.shape for a in arrays]))
    alpha, beta = vec[0], mat[0]
    if (alpha <= 0).any() or (beta < 0).any() or not np.isfinite(beta).all():
        raise ValueError("%s: alpha must be positive and beta non-negative" % path)
    sums = beta.sum(axis=1, keepdims=True)
    if (sums <= 0).any():
        raise ValueError("%s: a topic in beta has no mass" % path)
    return alpha, beta / sums
