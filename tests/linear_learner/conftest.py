"""Models trained once per session by the real `train` program, shared by the serving tests."""
import contextlib

import pytest

from helpers import job_dir, run_train, served
from lldata import ALGO, RIO, channel, split

CASES = {
    "binary": ({"predictor_type": "binary_classifier", "feature_dim": 30, "mini_batch_size": 32, "epochs": 20}, RIO),
    "multiclass": ({"predictor_type": "multiclass_classifier", "num_classes": 10, "feature_dim": 64,
                    "mini_batch_size": 64, "epochs": 20}, "text/csv"),
    "regression": ({"predictor_type": "regressor", "feature_dim": 10, "mini_batch_size": 16, "epochs": 30}, RIO),
}


class Trained:
    """A trained model, and (started on first use, kept for the session) a `serve` process for it."""

    def __init__(self, kind, result, data, hp, stack):
        self.kind, self.result, self.hp = kind, result, hp
        self.Xtr, self.Xte, self.ytr, self.yte = data
        self._stack, self._server = stack, None

    @property
    def server(self):
        if self._server is None:
            self._server = self._stack.enter_context(served(self.base, ALGO))
        return self._server

    @property
    def base(self):
        return self.result.base


@pytest.fixture(scope="session")
def _servers():
    with contextlib.ExitStack() as stack:
        yield stack


def _train(kind, tmp_path_factory, stack):
    hp, ctype = CASES[kind]
    data = split(kind)
    Xtr, Xte, ytr, yte = data
    base = tmp_path_factory.mktemp("ll-" + kind)
    job_dir(base, hp, {"train": channel(Xtr, ytr, ctype), "validation": channel(Xtr, ytr, ctype),
                       "test": channel(Xte, yte, ctype)})
    r = run_train(base, ALGO)
    assert r.rc == 0, r.log[-3000:]
    return Trained(kind, r, data, hp, stack)


@pytest.fixture(scope="session")
def binary_model(tmp_path_factory, _servers):
    return _train("binary", tmp_path_factory, _servers)


@pytest.fixture(scope="session")
def multiclass_model(tmp_path_factory, _servers):
    return _train("multiclass", tmp_path_factory, _servers)


@pytest.fixture(scope="session")
def regression_model(tmp_path_factory, _servers):
    return _train("regression", tmp_path_factory, _servers)


@pytest.fixture(scope="session")
def trained(request, binary_model, multiclass_model, regression_model):
    return {"binary": binary_model, "multiclass": multiclass_model, "regression": regression_model}
