"""PCA models trained once per session by the real `train` program; one `serve` per model."""
import contextlib
import os

import mxnet as mx
import pytest

from helpers import job_dir, run_train, served
from pcadata import ALGO, K, client_hyperparameters, dense_recordio, digits


class Trained:
    def __init__(self, result, X, hp, stack):
        self.result, self.X, self.hp = result, X, hp
        self._stack, self._server = stack, None
        arrays = mx.nd.load(os.path.join(result.model_dir, "model_algo-1"))
        self.arrays = {k: v.asnumpy() for k, v in arrays.items()}

    @property
    def server(self):
        if self._server is None:
            self._server = self._stack.enter_context(served(self.result.base, ALGO))
        return self._server


@pytest.fixture(scope="session")
def _servers():
    with contextlib.ExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def regular_model(tmp_path_factory, _servers):
    """Regular mode on digits as the client's RecordSet sends it: no ContentType, Float32 records,
    subtract_mean=True as the string "True"; digits' last 297 rows also as the test channel."""
    X = digits().astype("float32")
    hp = client_hyperparameters(num_components=K, algorithm_mode="regular", subtract_mean=True)
    base = tmp_path_factory.mktemp("pca-regular")
    job_dir(base, hp, {"train": {"files": {"matrix_0.pbr": dense_recordio(X[:900]),
                                           "matrix_1.pbr": dense_recordio(X[900:])}},
                       "test": {"files": {"matrix_0.pbr": dense_recordio(X[1500:])}}})
    r = run_train(base, ALGO)
    assert r.rc == 0, r.log[-3000:]
    return Trained(r, X, hp, _servers)
