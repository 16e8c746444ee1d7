"""Two models trained once per session by the real `train` program, their servers, and krcf forests
trained on the same data with the same number of trees and samples per tree."""
import contextlib

import numpy as np
import pytest

import rcf_krcf
import rcfdata
from helpers import job_dir, run_train, served
from rcfdata import ALGO, CSV, RIO, scores_of  # noqa: F401

TREES, SAMPLES, N_TRAIN = 100, 256, 26000


class Trained:
    def __init__(self, name, result, Xtr, Xte, yte, stack):
        self.name, self.result = name, result
        self.Xtr, self.Xte, self.yte = Xtr, Xte, yte
        self._stack, self._server, self._krcf = stack, None, None

    @property
    def base(self):
        return self.result.base

    @property
    def server(self):
        if self._server is None:
            self._server = self._stack.enter_context(served(self.base, ALGO))
        return self._server

    @property
    def krcf_scores(self):
        if self._krcf is None:
            self._krcf = rcf_krcf.scores(rcf_krcf.trained(self.Xtr, TREES, SAMPLES), self.Xte)
        return self._krcf


@pytest.fixture(scope="session")
def _stack():
    with contextlib.ExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def sine_model(tmp_path_factory, _stack):
    """CSV in File mode; the test channel has graded spikes (1..20 off the curve) on 30% of rows."""
    Xtr, _ = rcfdata.shingled_sine(N_TRAIN, 1)
    Xte, yte = rcfdata.shingled_sine(1000, 2, spike_rate=0.3, low=1.0, high=20.0)
    base = tmp_path_factory.mktemp("rcf-sine")
    # the official client's list form, and what it always adds
    hp = {"feature_dim": 4, "num_trees": TREES, "num_samples_per_tree": SAMPLES, "mini_batch_size": 1000,
          "eval_metrics": '["accuracy", "precision_recall_fscore"]'}
    job_dir(base, hp, {"train": rcfdata.train_channel(rcfdata.csv(Xtr)),
                       "test": {"content_type": CSV + ";label_size=1",
                                "files": {"test.csv": rcfdata.csv(Xte, yte)}}})
    r = run_train(base, ALGO)
    assert r.rc == 0, r.log[-3000:]
    return Trained("sine", r, Xtr, Xte, yte, _stack)


@pytest.fixture(scope="session")
def mixture_model(tmp_path_factory, _stack):
    """recordIO in Pipe mode, labelled recordIO test channel, hidden hyperparameters as the service's."""
    Xtr, _ = rcfdata.mixture(N_TRAIN, 1)
    Xte, yte = rcfdata.mixture(2000, 2, outlier_rate=0.02)
    base = tmp_path_factory.mktemp("rcf-mixture")
    hp = {"feature_dim": 10, "num_trees": TREES, "num_samples_per_tree": SAMPLES, "mini_batch_size": 1000,
          "force_dense": "true", "epochs": 1, "_ftp_port": 8999, "_kvstore": "dist_async",
          "_num_gpus": "auto", "_num_kv_servers": "auto", "_log_level": "info", "_tuning_objective_metric": ""}
    job_dir(base, hp, {"train": rcfdata.train_channel(b"", RIO, mode="Pipe"),
                       "test": {"content_type": RIO, "mode": "Pipe"}})
    feeders = [rcfdata.feed_pipe(base, "train", rcfdata.recordio(Xtr)),
               rcfdata.feed_pipe(base, "test", rcfdata.recordio(Xte, yte))]
    r = run_train(base, ALGO)
    assert r.rc == 0, r.log[-3000:]
    for t in feeders:
        t.join(10)
    return Trained("mixture", r, Xtr, Xte, yte, _stack)


@pytest.fixture(scope="session")
def models(sine_model, mixture_model):
    return {"sine": sine_model, "mixture": mixture_model}
