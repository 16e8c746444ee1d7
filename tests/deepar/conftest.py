"""Two models trained once per session by the real `train` program (kept tiny: few epochs of 10 batches,
small networks), each with a `serve` process started on first use."""
import contextlib
import json
import os

import numpy as np
import pytest

import deepar_data as dd
from deepar_data import ELEC_HP, MULTI_HP, SERVE_CONFIG  # noqa: F401
from helpers import job_dir, run_train, served



class Trained:
    def __init__(self, result, stack, **data):
        self.result, self._stack, self._server = result, stack, None
        self.__dict__.update(data)

    @property
    def base(self):
        return self.result.base

    @property
    def server(self):
        if self._server is None:
            self._server = self._stack.enter_context(
                served(self.base, dd.ALGO, env={"DEEPAR_INFERENCE_CONFIG": json.dumps(SERVE_CONFIG)}))
        return self._server


@pytest.fixture(scope="session")
def _servers():
    with contextlib.ExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def elec(tmp_path_factory, _servers):
    start, y = dd.elec_equip()
    train = [{"start": start, "target": y[:-dd.P].tolist()}]
    test = [{"start": start, "target": y.tolist()}]
    base = tmp_path_factory.mktemp("deepar-elec")
    job_dir(base, ELEC_HP, {"train": {"files": {"train.json": dd.jsonl(train)}},
                            "test": {"files": {"test.json": dd.jsonl(test)}}})
    r = run_train(base, dd.ALGO)
    assert r.rc == 0, r.log[-3000:]
    return Trained(r, _servers, start=start, y=y, train=train, test=test)


def _month_flags(start, n):
    months = (np.arange(n) + int(start[5:7]) - 1) % 12
    return (months == 11).astype(float).tolist()  # December: known in advance, as dynamic_feat must be


def multi_records():
    """Three monthly series, two groups (cat), a December flag (dynamic_feat), missing values in both
    spellings. Returns (train records, test records)."""
    s1, e = dd.elec_equip()
    s2, c = dd.co2_monthly()
    series = [(s1, e, 0), (s2, c, 1), ("2001-01-01 00:00:00", e[72:] * 0.5, 0)]
    train, test = [], []
    for k, (start, y, cat) in enumerate(series):
        full = [float(v) for v in y]
        full[20 + k] = None
        full[33 + k] = "NaN"
        feat = _month_flags(start, len(full))
        test.append({"start": start, "target": full, "cat": [cat], "dynamic_feat": [feat]})
        train.append({"start": start, "target": full[:-dd.P], "cat": [cat], "dynamic_feat": [feat[:-dd.P]]})
    return train, test


@pytest.fixture(scope="session")
def multi(tmp_path_factory, _servers):
    train, test = multi_records()
    base = tmp_path_factory.mktemp("deepar-multi")
    # a Spark-style output folder: gzip JSON Lines, a nested part without extension (read by the content
    # type), _SUCCESS and a dotfile to skip; the test channel in Parquet
    job_dir(base, MULTI_HP, {
        "train": {"files": {"part-00000.json.gz": dd.jsonl(train[:2], gz=True),
                            "nested/part-00001": dd.jsonl(train[2:]),
                            "_SUCCESS": b"", ".part-00000.json.gz.crc": b"garbage"}},
        "test": {"files": {"test.parquet": dd.parquet(test)}}})
    r = run_train(base, dd.ALGO)
    assert r.rc == 0, r.log[-3000:]
    return Trained(r, _servers, train=train, test=test)
