"""k-NN models trained once per session by the real `train` program, all started together, and one
`serve` process per model (started on first use, kept for the session)."""
import contextlib
import json
import shutil

import pytest

from helpers import job_dir, served, start_train, TrainResult
from knn_data import ALGO, CSV, K, RIO, channel, csv_bytes, diabetes, digits, feed_pipe, large


def _cases():
    Xtr, Xte, ytr, yte = digits()
    Rtr, Rte, rtr, rte = diabetes()
    dig = {"feature_dim": 64, "k": K, "predictor_type": "classifier", "sample_size": 1300}
    cls_channels = {"train": channel(Xtr, ytr, RIO), "test": channel(Xte, yte, CSV)}
    cases = {
        "flat": (dig, cls_channels),
        # Pipe mode, CSV train; sample_size far above the data: a warning and every record
        "regressor": ({"feature_dim": 10, "k": K, "predictor_type": "regressor", "sample_size": 100000,
                       "mini_batch_size": 64},
                      {"train": {"content_type": CSV + ";label_size=1", "mode": "Pipe"},
                       "test": channel(Rte, rte, RIO)}),
        "ivfflat": (dict(dig, index_type="faiss.IVFFlat"), cls_channels),
        "ivfpq": (dict(dig, index_type="faiss.IVFPQ", faiss_index_pq_m=16), cls_channels),
        "cosine": (dict(dig, index_metric="COSINE"), cls_channels),
        # a sample smaller than the data
        "inner": (dict(dig, index_metric="INNER_PRODUCT", sample_size=1000), cls_channels),
        "sign": (dict(dig, dimension_reduction_type="sign", dimension_reduction_target=32), cls_channels),
        "fjlt": (dict(dig, dimension_reduction_type="fjlt", dimension_reduction_target=32), cls_channels),
        # a flat index above containers/knn/index.py's SHARD_MIN_VECTORS: served as one shard per core
        "large": ({"feature_dim": 8, "k": K, "predictor_type": "classifier", "sample_size": 60000},
                  {"train": channel(*large()[0::2], RIO)}),
    }
    pipes = {"regressor": ("train", csv_bytes(Rtr, rtr))}
    return cases, pipes


class Trained:
    def __init__(self, name, result, hp, stack):
        self.name, self.result, self.hp = name, result, hp
        self._stack, self._server = stack, None

    @property
    def base(self):
        return self.result.base

    @property
    def log(self):
        return self.result.log

    @property
    def model_dir(self):
        return self.result.model_dir

    @property
    def server(self):
        if self._server is None:
            self._server = self._stack.enter_context(served(self.base, ALGO))
        return self._server


@pytest.fixture(scope="session")
def _stack():
    with contextlib.ExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def models(tmp_path_factory, _stack):
    """Every model of _cases(), trained by concurrent `train` processes."""
    cases, pipes = _cases()
    procs, feeders = {}, []
    for name, (hp, channels) in cases.items():
        base = job_dir(tmp_path_factory.mktemp("knn-" + name), hp, channels)
        procs[name] = (base, start_train(base, ALGO))
        if name in pipes:
            feeders.append(feed_pipe(base, *pipes[name]))
    out = {}
    for name, (base, proc) in procs.items():
        log = proc.communicate(timeout=300)[0].decode("utf-8", "replace")
        out[name] = Trained(name, TrainResult(base, proc.returncode, log), cases[name][0], _stack)
    for t in feeders:
        t.join(10)
    return out


@pytest.fixture(scope="session")
def data():
    return {"digits": digits(), "diabetes": diabetes(), "large": large()}


class Edited:
    """A copy of a trained model whose model_algo-1.json was edited, served on its own."""

    def __init__(self, base, stack):
        self.base, self._stack, self._server = base, stack, None

    @property
    def server(self):
        if self._server is None:
            self._server = self._stack.enter_context(served(self.base, ALGO))
        return self._server


@pytest.fixture(scope="session")
def edited(models, tmp_path_factory, _stack):
    """edited(**changes): the flat model with its JSON changed (k, predictor_type)."""
    made = {}

    def make(**changes):
        key = tuple(sorted(changes.items()))
        if key not in made:
            base = tmp_path_factory.mktemp("knn-edited")
            shutil.copytree(models["flat"].model_dir, base / "model")
            path = base / "model" / "model_algo-1.json"
            meta = json.loads(path.read_text())
            meta.update(changes)
            path.write_text(json.dumps(meta))
            made[key] = Edited(str(base), _stack)
        return made[key]
    return make
