"""BlazingText models trained once per session by the real `train`, each served by one `serve`."""
import contextlib

import pytest

from bt_data import ALGO, ONE_THREAD, SUPERVISED_HP, polarity_split, read, text_channel
from helpers import job_dir, run_train, served

W2V_HP = {"mode": "skipgram", "epochs": 5, "vector_dim": 30, "min_count": 2, "buckets": 1000,
          "evaluation": "true"}


class Trained:
    def __init__(self, result, hp, stack):
        self.result, self.hp, self._stack, self._server = result, hp, stack, None

    @property
    def base(self):
        return self.result.base

    @property
    def server(self):
        if self._server is None:
            self._server = self._stack.enter_context(served(self.base, ALGO))
        return self._server


@pytest.fixture(scope="session")
def _bt_servers():
    with contextlib.ExitStack() as stack:
        yield stack


def _train(tmp_path_factory, stack, name, hp, channels):
    base = tmp_path_factory.mktemp("bt-" + name)
    job_dir(base, hp, channels)
    r = run_train(base, ALGO, env=ONE_THREAD)
    assert r.rc == 0, r.log[-3000:]
    return Trained(r, hp, stack)


@pytest.fixture(scope="session")
def supervised_model(tmp_path_factory, _bt_servers):
    train, valid = polarity_split()
    return _train(tmp_path_factory, _bt_servers, "supervised", SUPERVISED_HP,
                  {"train": text_channel(train), "validation": text_channel(valid)})


@pytest.fixture(scope="session")
def w2v_model(tmp_path_factory, _bt_servers):
    return _train(tmp_path_factory, _bt_servers, "skipgram", W2V_HP,
                  {"train": text_channel(read("lee_background.cor"))})
