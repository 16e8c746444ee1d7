"""Data sets from scikit-learn in the formats the XGBoost container reads, and the reference trainer."""
import gzip
import io
import os
import re

import numpy as np
import xgboost as xgb
import yaml

# The guide's defaults where they differ from today's library (so the reference passes them too).
GUIDE = {"alpha": 1.0, "base_score": 0.5, "seed": 0}


def csv_bytes(X, y=None, w=None):
    cols = ([] if y is None else [y.reshape(-1, 1)]) + ([] if w is None else [w.reshape(-1, 1)]) + [X]
    m = np.hstack(cols)
    return ("\n".join(",".join("%.6g" % v for v in row) for row in m) + "\n").encode()


def libsvm_bytes(X, y=None):
    lines = []
    for i, row in enumerate(X):
        feats = " ".join("%d:%.6g" % (j, v) for j, v in enumerate(row) if v != 0)
        lines.append(("%.6g " % y[i] if y is not None else "") + feats)
    return ("\n".join(lines) + "\n").encode()


def recordio_bytes(X, y, sparse=False):
    from sagemaker.amazon.common import write_numpy_to_dense_tensor, write_spmatrix_to_sparse_tensor
    buf = io.BytesIO()
    if sparse:
        import scipy.sparse
        write_spmatrix_to_sparse_tensor(buf, scipy.sparse.csr_matrix(X), y)
    else:
        write_numpy_to_dense_tensor(buf, X, y)
    return buf.getvalue()


def as_read(X):
    """The float32 values the container sees after the %.6g text round trip."""
    return np.array([[float("%.6g" % v) for v in row] for row in X], dtype=np.float32)


def reference(params, X, y, num_round, w=None, evals_of=None, early_stopping_rounds=None):
    dtrain = xgb.DMatrix(X, label=y, weight=w)
    evals = [(dtrain, "train")] + ([(xgb.DMatrix(evals_of[0], label=evals_of[1]), "validation")] if evals_of else [])
    bst = xgb.train(dict(GUIDE, **params), dtrain, num_round, evals=evals, verbose_eval=False,
                    early_stopping_rounds=early_stopping_rounds)
    if early_stopping_rounds and bst.best_iteration + 1 < bst.num_boosted_rounds():
        bst = bst[: bst.best_iteration + 1]
    return bst


def load_model(path):
    b = xgb.Booster()
    b.load_model(path)
    return b


def gz(data):
    return gzip.compress(data)


def declared_metrics():
    path = os.path.join(os.path.dirname(__file__), "..", "..", "containers", "xgboost_algo", "algorithm.yaml")
    with open(path) as f:
        return {m["name"]: m["regex"] for m in yaml.safe_load(f)["metrics"]}


def metric_values(log, regex):
    """Apply a MetricDefinitions regex the way the service does: per log line, tabs shown as #011."""
    out = []
    for line in log.splitlines():
        m = re.match(regex, line.replace("\t", "#011"))
        if m:
            out.append(float(m.group(1)))
    return out
