"""Supervised mode against fastText itself: the same run gives the same model and accuracy."""
import os
import re

import fasttext
import numpy as np
import pytest

from bt_data import (ALGO, ONE_THREAD, SUPERVISED_HP, fasttext_supervised_args, polarity_split,
                     text_channel)
from helpers import job_dir, run_train


@pytest.fixture(scope="module")
def split_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bt-polarity")
    train, valid = polarity_split()
    (d / "train.txt").write_bytes(train)
    (d / "valid.txt").write_bytes(valid)
    return str(d / "train.txt"), str(d / "valid.txt")


def _metric(log, name):
    return [float(v) for v in re.findall(r"#%s: (\S+)" % name, log)]


def test_bt_supervised_equals_fasttext(supervised_model, split_files):
    train_path, valid_path = split_files
    direct = fasttext.train_supervised(**fasttext_supervised_args(SUPERVISED_HP, train_path))
    ours = fasttext.load_model(os.path.join(supervised_model.result.model_dir, "model.bin"))
    assert np.array_equal(ours.get_input_matrix(), direct.get_input_matrix())
    assert np.array_equal(ours.get_output_matrix(), direct.get_output_matrix())
    log = supervised_model.result.log
    assert _metric(log, "validation_accuracy") == [round(direct.test(valid_path)[1], 4)]
    assert _metric(log, "train_accuracy") == [round(direct.test(train_path)[1], 4)]
    assert _metric(log, "train_accuracy")[0] > 0.9  # it learned the training split
    assert "Number of validation examples: 50" in log
    assert "Number of train examples: 150" in log


def test_bt_supervised_service_log_lines(supervised_model):
    log = supervised_model.result.log
    progress = re.findall(r"##### Alpha: (\S+)  Progress: (\S+)%  Million Words/sec: (\S+) #####", log)
    assert progress and progress[-1][1] == "100.00"
    assert float(progress[-1][0]) == 0.0  # fastText's learning rate has decayed to zero at the end
    assert "Training finished!" in log
    assert re.search(r"Average throughput in Million words/sec: [\d.]+", log)
    # the declared metric regex reads the line
    assert re.findall(r"#validation_accuracy: (\S+)", log)


def test_bt_supervised_early_stopping_keeps_best(tmp_path, split_files):
    train_path, valid_path = split_files
    hp = dict(SUPERVISED_HP, epochs=9, min_epochs=3, patience=2, early_stopping="true")
    train, valid = polarity_split()
    base = job_dir(tmp_path, hp, {"train": text_channel(train), "validation": text_channel(valid)})
    r = run_train(base, ALGO, env=ONE_THREAD)
    assert r.rc == 0, r.log[-3000:]
    printed = {int(e): float(a) for e, a in re.findall(r"Epoch (\d+): Validation accuracy: (\S+)", r.log)}
    # the oracle: fastText trained for each epoch count, and the stopping rule applied to it
    expected, best_epoch = {}, None
    for epochs in range(3, 10):
        m = fasttext.train_supervised(**fasttext_supervised_args(dict(hp, epochs=epochs), train_path))
        expected[epochs] = m.test(valid_path)[1]
        if best_epoch is None or expected[epochs] > expected[best_epoch]:
            best_epoch = epochs
        elif epochs - best_epoch >= 2:
            break
    assert printed == {e: round(a, 6) for e, a in expected.items()}
    kept = fasttext.load_model(os.path.join(r.model_dir, "model.bin"))
    assert kept.test(valid_path)[1] == max(expected.values())
    assert _metric(r.log, "validation_accuracy") == [round(expected[best_epoch], 4)]
