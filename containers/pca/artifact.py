"""`model_algo-1`: the service's layout, an mx.nd.save dict {"mean": (1, d), "s": (k,), "v": (d, k)},
float32, components in ascending order of singular value (s[-1] is the largest)."""
import glob
import os

import mxnet as mx
import numpy as np

MODEL_FILE = "model_algo-1"


def save(path, mean, s, v):
    mx.nd.save(path, {"mean": mx.nd.array(mean, dtype=np.float32), "s": mx.nd.array(s, dtype=np.float32),
                      "v": mx.nd.array(v, dtype=np.float32)})


def find(model_dir):
    paths = sorted(glob.glob(os.path.join(model_dir, "model_algo-*"))) or \
        sorted(p for p in glob.glob(os.path.join(model_dir, "*")) if os.path.isfile(p))
    if not paths:
        raise FileNotFoundError("no model_algo-* file in %s" % model_dir)
    return paths[0]


def load(model_dir):
    """(mean (1, d), s (k,), v (d, k)) float32 from a model written by the service or by us."""
    path = find(model_dir)
    arrays = mx.nd.load(path)
    if not isinstance(arrays, dict) or "v" not in arrays:
        raise ValueError("%s: expected an mx.nd.save dict with 'v' (and 'mean', 's'), got %s"
                         % (path, sorted(arrays) if isinstance(arrays, dict) else "a list"))
    v = arrays["v"].asnumpy().astype(np.float32)
    if v.ndim != 2:
        raise ValueError("%s: 'v' has shape %s, expected (feature_dim, num_components)" % (path, v.shape))
    d, k = v.shape
    # whether the service writes 'mean' when subtract_mean is false is not public: absent means 0
    mean = arrays["mean"].asnumpy().astype(np.float32).reshape(1, -1) if "mean" in arrays \
        else np.zeros((1, d), np.float32)
    if mean.shape[1] != d:
        raise ValueError("%s: 'mean' has %d entries, 'v' has %d rows" % (path, mean.shape[1], d))
    s = arrays["s"].asnumpy().astype(np.float32).reshape(-1) if "s" in arrays else np.zeros(k, np.float32)
    return mean, s, v
