"""FM models trained once per session by the real `train` program, each served by one `serve`."""
import contextlib
import os

import numpy as np
import pytest

import fmdata
from helpers import job_dir, run_train, served
from helpers import feed_pipe


class Trained:
    def __init__(self, result, hp, data, stack, truth=None):
        self.result, self.hp, self.truth = result, hp, truth
        self.Xtr, self.ytr, self.Xte, self.yte = data
        self._stack, self._server = stack, None

    @property
    def base(self):
        return self.result.base

    @property
    def model_file(self):
        return os.path.join(self.base, "model", "model_algo-1")

    @property
    def server(self):
        if self._server is None:
            self._server = self._stack.enter_context(served(self.base, fmdata.ALGO))
        return self._server


@pytest.fixture(scope="session")
def _servers():
    with contextlib.ExitStack() as stack:
        yield stack


def _train(tmp_path_factory, name, hp, data, stack, truth=None, pipe=False):
    Xtr, ytr, Xte, yte = data
    base = str(tmp_path_factory.mktemp("fm-" + name))
    if pipe:
        job_dir(base, hp, {"train": {"content_type": fmdata.RIO, "mode": "Pipe"},
                           "test": fmdata.channel(Xte, yte)})
        feeder = feed_pipe(base, "train", fmdata.recordio(Xtr, ytr), epochs=hp["epochs"])
    else:
        job_dir(base, hp, {"train": fmdata.channel(Xtr, ytr, parts=2), "test": fmdata.channel(Xte, yte)})
    r = run_train(base, fmdata.ALGO, timeout=300)
    assert r.rc == 0, r.log[-4000:]
    if pipe:
        feeder.join(10)
        assert not feeder.is_alive()
    return Trained(r, hp, data, stack, truth)


FAST = {"bias_lr": 0.1, "linear_lr": 0.1, "factors_lr": 0.1, "factors_init_sigma": 0.1}


@pytest.fixture(scope="session")
def sparse_regressor(tmp_path_factory, _servers):
    """100,000 features, 200 of them used (spread over the whole range), 10 per record."""
    rng = np.random.default_rng(1)
    d = 100_000
    truth = fmdata.Truth(d, 4, rng, linear=0.3, pairs=0.3)
    X = fmdata.sparse_rows(24000, d, 10, rng, active=np.linspace(0, d - 1, 200).astype(int))
    y, _ = fmdata.regression(truth, X, 0.5, rng)
    hp = dict(FAST, feature_dim=d, num_factors=4, predictor_type="regressor", epochs=8, mini_batch_size=500)
    return _train(tmp_path_factory, "sparse-reg", hp, (X[:20000], y[:20000], X[20000:], y[20000:]), _servers,
                  truth)


@pytest.fixture(scope="session")
def dense_regressor(tmp_path_factory, _servers):
    """20 dense features, trained in Pipe mode (one FIFO per epoch)."""
    rng = np.random.default_rng(2)
    truth = fmdata.Truth(20, 4, rng, linear=0.3, pairs=0.15, w0=1.0)
    X = rng.normal(0, 1, (8000, 20)).astype(np.float32)
    y, _ = fmdata.regression(truth, X, 0.5, rng)
    hp = dict(FAST, feature_dim=20, num_factors=4, predictor_type="regressor", epochs=8, mini_batch_size=200)
    return _train(tmp_path_factory, "dense-reg", hp, (X[:6000], y[:6000], X[6000:], y[6000:]), _servers, truth,
                  pipe=True)


def _classifier(tmp_path_factory, stack, name, linear, pairs, seed):
    rng = np.random.default_rng(seed)
    truth = fmdata.Truth(20, 4, rng, linear=linear, pairs=pairs)
    X = rng.normal(0, 1, (11000, 20)).astype(np.float32)
    y, _ = fmdata.classification(truth, X, rng)
    hp = dict(FAST, feature_dim=20, num_factors=4, predictor_type="binary_classifier", epochs=8,
              mini_batch_size=200)
    return _train(tmp_path_factory, name, hp, (X[:8000], y[:8000], X[8000:], y[8000:]), stack, truth)


@pytest.fixture(scope="session")
def pairs_classifier(tmp_path_factory, _servers):
    """The signal only in the interactions: a linear model sees nothing."""
    return _classifier(tmp_path_factory, _servers, "pairs-clf", 0.0, 0.5, 3)


@pytest.fixture(scope="session")
def linear_classifier(tmp_path_factory, _servers):
    """The signal only in the linear term."""
    return _classifier(tmp_path_factory, _servers, "linear-clf", 0.7, 0.0, 4)
