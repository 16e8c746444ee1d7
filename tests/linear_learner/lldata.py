"""Small datasets that ship with scikit-learn, split and written the way the platform hands them over."""
import os
import zipfile

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.model_selection import train_test_split

from formats.rioproto import encode_dense

ALGO = "linear-learner"
CSV = "text/csv"
RIO = "application/x-recordio-protobuf"


def split(name):
    loader = {"binary": load_breast_cancer, "multiclass": load_digits, "regression": load_diabetes}[name]
    X, y = loader(return_X_y=True)
    strat = None if name == "regression" else y
    Xtr, Xte, ytr, yte = train_test_split(X.astype(np.float32), y.astype(np.float32), test_size=0.3,
                                          random_state=0, stratify=strat)
    return Xtr, Xte, ytr, yte


def csv_bytes(X, y=None):
    rows = X if y is None else np.column_stack([y, X])
    return "".join(",".join("%.9g" % v for v in r) + "\n" for r in rows).encode()


def channel(X, y, content_type=CSV, mode="File"):
    body = csv_bytes(X, y) if content_type == CSV else encode_dense(X, y)
    return {"content_type": content_type, "mode": mode, "files": {"part-0": body}}


def module_scores(path, X, tmp):
    """What a model_algo-1 zip computes when MXNet alone loads it as the service's users do:
    Module.load('mx-mod', 0, label_names=['out_label']) in the folder it was extracted to."""
    import mxnet as mx
    with zipfile.ZipFile(path) as z:
        z.extractall(tmp)
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        mod = mx.module.Module.load("mx-mod", 0, label_names=["out_label"])
    finally:
        os.chdir(cwd)
    mod.bind(data_shapes=[("data", X.shape)], for_training=False)
    mod.forward(mx.io.DataBatch([mx.nd.array(X)]), is_train=False)
    return mod.get_outputs()[0].asnumpy()
