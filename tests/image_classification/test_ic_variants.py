"""Two hosts through MXNet's dist_sync kvstore; multi-label with the weighted loss from a .lst with
multi-hot label columns; transfer learning from weights in the model channel."""
import json
import os
import re

import mxnet as mx
import numpy as np

from helpers import free_port, job_dir, run_train, start_train
from icdata import ALGO, IMAGE, REC, SIDE, digits, hp, image_files, model_tarball, rec_bytes, split


def test_two_hosts_train_one_model_through_dist_sync(tmp_path):
    tr, va = split()
    tr, va = tr[:512], va[:160]
    train, val = rec_bytes(tr, tmp=tmp_path), rec_bytes(va, tmp=tmp_path)
    hosts = ["algo-1", "algo-2"]
    env = {"SAGEMAKER_HOST_ADDRESSES": json.dumps({h: "127.0.0.1" for h in hosts}),
           "SAGEMAKER_KVSTORE_PORT": str(free_port())}
    procs = []
    for host in hosts:
        base = job_dir(tmp_path / host, hp(epochs=1, num_training_samples=len(tr), kv_store="dist_sync",
                                           lr_scheduler_step=""),
                       {"train": {"content_type": REC, "files": {"t.rec": train}},
                        "validation": {"content_type": REC, "files": {"v.rec": val}}},
                       hosts=hosts, current_host=host)
        procs.append(start_train(base, ALGO, env))
    logs = [p.communicate(timeout=300)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs[0][-2000:] + logs[1][-2000:]
    assert "kvstore up: rank" in logs[0] and "kvstore up: rank" in logs[1]
    # each host reads its half of the replicated .rec; 512 images / (32 x 2 hosts) = 8 batches each
    for log in logs:
        assert "Epoch[0] Train-accuracy=" in log
    assert os.listdir(tmp_path / "algo-2" / "model") == []
    assert sorted(os.listdir(tmp_path / "algo-1" / "model")) == [
        "image-classification-0001.params", "image-classification-symbol.json", "model-shapes.json"]


def test_multi_label_weighted_loss_from_lst_multi_hot_columns(tmp_path):
    tr, va = split()
    va = va[:160]
    _, y, _ = digits()

    def channel(indices, name):
        files, lst = image_files(indices, prefix=name)
        rows = []
        for line, i in zip(lst.splitlines(), indices):
            idx, _, rel = line.split("\t")
            hot = np.zeros(12)
            hot[y[i]] = 1
            hot[10 + int(y[i] >= 5)] = 1  # a second label: the digit's half
            rows.append("\t".join([idx] + ["%d" % v for v in hot] + [rel]))
        return {name: {"content_type": IMAGE, "files": files},
                name + "_lst": {"content_type": IMAGE, "files": {name + ".lst": ("\n".join(rows) + "\n").encode()}}}

    base = job_dir(tmp_path, hp(num_classes=12, multi_label=1, use_weighted_loss=1, epochs=2, lr_scheduler_step="",
                                num_training_samples=len(tr)),
                   dict(channel(tr, "train"), **channel(va, "validation")))
    r = run_train(base, ALGO)
    assert r.rc == 0, r.log[-3000:]
    val = r.metrics(r"Epoch\[\d+\] Validation-accuracy=(\S+)")
    assert len(val) == 2  # the guide's multi-label accuracy: every (image, class) decision at 0.5
    epoch = max(int(n[-11:-7]) for n in os.listdir(r.model_dir) if n.endswith(".params"))
    sym, arg, aux = mx.model.load_checkpoint(os.path.join(r.model_dir, "image-classification"), epoch)
    assert sym.list_outputs() == ["sigmoid_output"] and "class_weight" not in arg
    mod = mx.mod.Module(sym, label_names=None)
    mod.bind(for_training=False, data_shapes=[("data", (len(va), 3, SIDE, SIDE))])
    mod.set_params(arg, aux, allow_missing=True)
    jpegs, _, _ = digits()
    x = mx.nd.stack(*[mx.image.imdecode(jpegs[i]).transpose((2, 0, 1)) for i in va]).astype("float32")
    mod.forward(mx.io.DataBatch([x]), is_train=False)
    p = mod.get_outputs()[0].asnumpy()
    assert p.shape == (len(va), 12) and ((p > 0) & (p < 1)).all()
    assert not np.allclose(p.sum(axis=1), 1)  # independent sigmoids, not a softmax
    # both labels of each image are found: its digit, and which half the digit is in
    assert (p[:, :10].argmax(axis=1) == y[va]).mean() >= 0.8
    assert (p[:, 10:].argmax(axis=1) == (y[va] >= 5)).mean() >= 0.7


def test_transfer_learning_keeps_every_layer_but_a_fresh_fc1(tmp_path, rec_model):
    """use_pretrained_model=1 with the weights in the model channel and 12 classes instead of 10; a
    learning rate of 0 shows what was loaded: every parameter but fc1 exactly as given."""
    tr, va = split()
    small = rec_bytes(tr[:64], tmp=tmp_path)
    model = {"content_type": "application/x-sagemaker-model",
             "files": {"model.tar.gz": model_tarball(rec_model.model_dir)}}
    base = job_dir(tmp_path / "job", hp(num_classes=12, use_pretrained_model=1, epochs=1, learning_rate=0,
                                        optimizer="adam", top_k=3, lr_scheduler_step=""),
                   {"train": {"content_type": REC, "files": {"t.rec": small}},
                    "validation": {"content_type": REC, "files": {"v.rec": small}}, "model": model})
    r = run_train(base, ALGO)
    assert r.rc == 0, r.log[-3000:]
    assert re.search(r"Epoch\[0\] Train-top_k_accuracy_3=[0-9.]+", r.log)
    assert re.search(r"Epoch\[0\] Validation-top_k_accuracy_3=[0-9.]+", r.log)
    src_epoch = max(int(n[-11:-7]) for n in os.listdir(rec_model.model_dir) if n.endswith(".params"))
    _, src, _ = mx.model.load_checkpoint(os.path.join(rec_model.model_dir, "image-classification"), src_epoch)
    _, new, _ = mx.model.load_checkpoint(os.path.join(r.model_dir, "image-classification"), 1)
    assert new["fc1_weight"].shape == (12, 64) and src["fc1_weight"].shape == (10, 64)
    for name in src:
        if not name.startswith("fc1_"):
            np.testing.assert_array_equal(new[name].asnumpy(), src[name].asnumpy(), err_msg=name)
