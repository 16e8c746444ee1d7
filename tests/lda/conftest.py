"""LDA models trained once per session by the real `train` program on documents from known models."""
import contextlib

import numpy as np
import pytest

import ldadata
from ldadata import LARGE, SMALL, _hp, make_data  # noqa: F401
from helpers import job_dir, run_train, served



class Trained:
    def __init__(self, cfg, result, beta, alpha, train, test, theta_test, stack):
        self.cfg, self.result = cfg, result
        self.beta, self.alpha = beta, alpha
        self.train, self.test, self.theta_test = train, test, theta_test
        self._stack, self._server = stack, None

    @property
    def base(self):
        return self.result.base

    @property
    def server(self):
        if self._server is None:
            self._server = self._stack.enter_context(served(self.base, ldadata.ALGO))
        return self._server

    def model(self):
        return ldadata.load_model(self.result.model_dir)


@pytest.fixture(scope="session")
def _servers():
    with contextlib.ExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def small_model(tmp_path_factory, _servers):
    """File mode, sparse recordIO train, dense Float32 recordIO test."""
    beta, alpha, X, Xt, theta_t = make_data(SMALL)
    base = tmp_path_factory.mktemp("lda-small")
    job_dir(base, _hp(SMALL), {
        "train": ldadata.channel(ldadata.recordio_sparse(X)),
        "test": ldadata.channel(ldadata.recordio_dense(np.asarray(Xt.todense(), np.float32)))})
    r = run_train(base, ldadata.ALGO)
    assert r.rc == 0, r.log[-3000:]
    return Trained(SMALL, r, beta, alpha, X, Xt, theta_t, _servers)


@pytest.fixture(scope="session")
def large_model(tmp_path_factory, _servers):
    """Pipe mode, sparse recordIO train (the randomised range finder's path), CSV test."""
    beta, alpha, X, Xt, theta_t = make_data(LARGE, seed=10)
    base = tmp_path_factory.mktemp("lda-large")
    job_dir(base, _hp(LARGE), {"train": {"content_type": ldadata.RIO, "mode": "Pipe"},
                               "test": ldadata.channel(ldadata.csv_bytes(Xt), "text/csv")})
    feeder = ldadata.feed_pipe(base, "train", ldadata.recordio_sparse(X))
    r = run_train(base, ldadata.ALGO)
    feeder.join(10)
    assert r.rc == 0, r.log[-3000:]
    return Trained(LARGE, r, beta, alpha, X, Xt, theta_t, _servers)
