"""Training on digits: ResNet-20 from a .rec, the service's artifact and log lines, incremental
training from its model.tar.gz on JPEG files + .lst, Pipe mode with a .rec and an augmented manifest."""
import json
import os
import re
import threading

import mxnet as mx
import numpy as np

from contract import declaration
from formats import recordio
from helpers import job_dir, run_train
from icdata import ALGO, REC, SIDE, digits, hp, rec_bytes, reference_scores, split

DECL = declaration.load(os.path.join(os.path.dirname(__file__), "..", "..", "containers", "image_classification",
                                     "algorithm.yaml"))
REGEX = {m["name"]: m["regex"] for m in DECL["metrics"]}


def test_rec_training_reaches_95_percent_with_the_service_lines(rec_model):
    val = rec_model.metrics(REGEX["validation:accuracy"])
    train = rec_model.metrics(REGEX["train:accuracy"])
    assert len(val) == len(train) == 4
    assert val[-1] >= 0.95, val
    assert train[-1] > train[0]
    speed = re.findall(r"Epoch\[(\d+)\] Batch \[(\d+)\]\tSpeed: ([0-9.]+) samples/sec\taccuracy=([0-9.]+)",
                       rec_model.log)
    assert [s[1] for s in speed[:2]] == ["20", "40"] and all(float(s[2]) > 0 for s in speed)
    assert re.search(r"Epoch\[3\] Time cost=[0-9.]+", rec_model.log)
    assert [d["direction"] for d in DECL["metrics"] if d["name"] == "validation:accuracy"] == ["Maximize"]


def test_artifact_is_a_plain_mxnet_checkpoint_that_scores_like_the_log(rec_model):
    files = sorted(os.listdir(rec_model.model_dir))
    val = rec_model.metrics(REGEX["validation:accuracy"])
    best = int(np.argmax(val)) + 1  # the default keeps the best validation epoch, numbered from 1
    assert files == ["image-classification-%04d.params" % best, "image-classification-symbol.json",
                     "model-shapes.json"]
    with open(os.path.join(rec_model.model_dir, "model-shapes.json")) as f:
        assert json.load(f) == [{"shape": [32, 3, SIDE, SIDE], "name": "data"}]
    _, va = split()
    _, y, _ = digits()
    probs = reference_scores(rec_model.model_dir, best, va)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    accuracy = float((probs.argmax(axis=1) == y[va]).mean())
    assert abs(accuracy - max(val)) < 1.5 / len(va), (accuracy, val)
    sym = mx.sym.load(os.path.join(rec_model.model_dir, "image-classification-symbol.json"))
    args = sym.list_arguments()
    assert "stage3_unit3_conv2_weight" in args and "fc1_weight" in args and "stage4_unit1_conv1_weight" not in args
    assert sym.list_outputs() == ["softmax_output"]


def test_incremental_training_from_model_tarball_on_jpeg_lst_continues(rec_model, incremental_model):
    before = max(rec_model.metrics(REGEX["validation:accuracy"]))
    after = incremental_model.metrics(REGEX["validation:accuracy"])
    assert "model channel: epoch" in incremental_model.log and "ResNet-20 with 10 classes" in incremental_model.log
    # the first epoch already starts where the first job ended (from scratch it is far below)
    assert after[0] >= 0.95 and min(after) >= before - 0.02, (before, after)
    assert rec_model.metrics(REGEX["validation:accuracy"])[0] < after[0]


def _feed(base, channel, data):
    path = os.path.join(base, "input", "data", "%s_0" % channel)

    def run():
        os.mkfifo(path)
        with open(path, "wb") as w:
            for i in range(0, len(data), 65536):
                w.write(data[i:i + 65536])
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _manifest(indices):
    """An augmented manifest as Pipe mode delivers it: per line, a RecordIO record with the source-ref
    object's bytes, then one with the class attribute's JSON text."""
    jpegs, y, _ = digits()
    return b"".join(recordio.encode(jpegs[i]) + recordio.encode(json.dumps(int(y[i])).encode()) for i in indices)


def test_pipe_mode_rec_and_augmented_manifest_every_epoch_kept(tmp_path):
    tr, va = split()
    va = va[:160]
    base = job_dir(tmp_path, hp(epochs=2, num_training_samples=len(tr), lr_scheduler_step="", checkpoint_frequency=1),
                   {"train": {"content_type": REC, "mode": "Pipe"},
                    "validation": {"content_type": REC, "mode": "Pipe"}})
    feeders = [_feed(base, "train", rec_bytes(tr, tmp=tmp_path)), _feed(base, "validation", _manifest(va))]
    r = run_train(base, ALGO)
    assert r.rc == 0, r.log[-3000:]
    for t in feeders:
        t.join(5)
    assert "train: %d images, validation: %d images" % (len(tr), len(va)) in r.log
    val = r.metrics(REGEX["validation:accuracy"])
    assert len(val) == 2 and val[-1] > 0.5, val
    # checkpoint_frequency=1: every epoch's parameters are kept
    assert sorted(n for n in os.listdir(r.model_dir) if n.endswith(".params")) == \
        ["image-classification-0001.params", "image-classification-0002.params"]
