"""Input forms and bad input: the augmented manifest through Pipe mode, and ClientErrors that name the
hyperparameter, file and line."""
import json
import os
import threading

import fasttext
import numpy as np
import pytest

from bt_data import ALGO, ONE_THREAD, SUPERVISED_HP, fasttext_supervised_args, polarity_split, text_channel
from helpers import job_dir, run_train


def _feed_fifo(base, name, data):
    """Play the platform's Pipe mode: one FIFO <channel>_0 streamed once."""
    def run():
        path = os.path.join(base, "input", "data", name)
        os.mkfifo(path)
        with open(path, "wb") as w:
            w.write(data)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_bt_augmented_manifest_in_pipe_mode(tmp_path):
    lines = [l.decode("latin-1") for l in polarity_split()[0].splitlines()]
    manifest, plain = [], []
    for i, line in enumerate(lines):
        label, text = line.split(" ", 1)
        value = 1 if label == "__label__pos" else 0
        labels = [value, 7] if i % 10 == 0 else value  # some lines carry a label list
        manifest.append(json.dumps({"source": text, "label": labels}))
        tokens = ["__label__%s" % v for v in (labels if isinstance(labels, list) else [labels])]
        plain.append(" ".join(tokens + text.split()))
    hp = dict(SUPERVISED_HP, epochs=5)
    base = job_dir(tmp_path / "job", hp, {"train": {"content_type": "application/jsonlines", "mode": "Pipe"}})
    feeder = _feed_fifo(base, "train_0", ("\n".join(manifest) + "\n").encode("utf-8"))
    r = run_train(base, ALGO, env=ONE_THREAD, timeout=120)
    feeder.join(10)
    assert r.rc == 0, r.log[-3000:]
    oracle_file = tmp_path / "plain.txt"
    oracle_file.write_text("\n".join(plain) + "\n", encoding="utf-8")
    direct = fasttext.train_supervised(**fasttext_supervised_args(hp, str(oracle_file)))
    ours = fasttext.load_model(os.path.join(r.model_dir, "model.bin"))
    assert sorted(ours.get_labels()) == ["__label__0", "__label__1", "__label__7"]
    assert np.array_equal(ours.get_input_matrix(), direct.get_input_matrix())
    assert np.array_equal(ours.get_output_matrix(), direct.get_output_matrix())


def _fails(tmp_path, hp, channels):
    base = job_dir(tmp_path, hp, channels)
    r = run_train(base, ALGO, env=ONE_THREAD, timeout=120)
    assert r.rc != 0 and r.failure is not None, r.log[-2000:]
    assert r.failure.startswith("ClientError: "), r.failure
    return r.failure


def test_bt_supervised_line_without_label(tmp_path):
    data = b"__label__a good film\n\n__label__b bad film\nno label here at all\n"
    msg = _fails(tmp_path, {"mode": "supervised", "buckets": 100, "min_count": 1},
                 {"train": text_channel(data, name="reviews.txt")})
    assert "reviews.txt" in msg and "line 4" in msg and "__label__" in msg


def test_bt_label_in_the_middle_of_a_line_is_a_label(tmp_path):
    data = b"good __label__a film\n__label__b bad film\nfine film __label__a\n"
    base = job_dir(tmp_path, {"mode": "supervised", "buckets": 100, "min_count": 1, "epochs": 1},
                   {"train": text_channel(data)})
    r = run_train(base, ALGO, env=ONE_THREAD)
    assert r.rc == 0, r.log[-2000:]
    assert sorted(fasttext.load_model(os.path.join(r.model_dir, "model.bin")).get_labels()) == \
        ["__label__a", "__label__b"]


def test_bt_mode_missing(tmp_path):
    msg = _fails(tmp_path, {"epochs": 1}, {"train": text_channel(b"a b c\n")})
    assert "mode" in msg


def test_bt_empty_corpus_names_the_file(tmp_path):
    msg = _fails(tmp_path, {"mode": "skipgram", "evaluation": "false"},
                 {"train": text_channel(b"\n  \n", name="empty.txt")})
    assert "empty.txt" in msg and "empty" in msg


def test_bt_min_count_too_high(tmp_path):
    msg = _fails(tmp_path, {"mode": "cbow", "min_count": 50, "evaluation": "false"},
                 {"train": text_channel(b"a b c\n")})
    assert "min_count" in msg


@pytest.mark.parametrize("hp, channels, words", [
    ({"mode": "skipgram"}, {"validation": text_channel(b"a b\n")}, "validation"),
    ({"mode": "supervised", "early_stopping": "true"}, {}, "early_stopping"),
    ({"mode": "skipgram", "subwords": "true", "min_char": 5, "max_char": 3}, {}, "min_char"),
    ({"mode": "supervised", "learning_rate": 0}, {}, "learning_rate"),
])
def test_bt_inconsistent_settings(tmp_path, hp, channels, words):
    train = text_channel(b"__label__x a b c\n" * 10)
    msg = _fails(tmp_path, dict(hp, buckets=100, min_count=1), dict(channels, train=train))
    assert words in msg


def test_bt_bad_manifest_line(tmp_path):
    data = b'{"source": "a b", "label": 1}\n{"source": "c d"}\n'
    msg = _fails(tmp_path, {"mode": "supervised", "buckets": 100},
                 {"train": {"content_type": "application/jsonlines", "files": {"m.jsonl": data}}})
    assert "m.jsonl" in msg and "line 2" in msg and "label" in msg
