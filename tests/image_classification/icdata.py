"""scikit-learn's digits as image training data: 8x8 upscaled to 16x16 JPEGs, packed into an image .rec
by MXNet's own writer (MXIndexedRecordIO + recordio.pack, as im2rec does) and as files + a .lst."""
import functools
import io
import os
import tarfile

import mxnet as mx
import numpy as np
from sklearn.datasets import load_digits

from formats import images

ALGO = "image-classification"
REC = "application/x-recordio"
IMAGE = "application/x-image"
SIDE = 16
SHAPE = "3,%d,%d" % (SIDE, SIDE)


@functools.lru_cache(maxsize=None)
def digits():
    """(jpeg bytes per image, labels, pixels), train/validation split by a fixed permutation."""
    d = load_digits()
    pixels = np.kron((d.images * 255 / 16).round().astype(np.uint8), np.ones((1, 2, 2), np.uint8))
    jpegs = [images.encode_jpeg(p, quality=95) for p in pixels]
    return jpegs, d.target.astype(np.int64), pixels


@functools.lru_cache(maxsize=None)
def split():
    jpegs, y, _ = digits()
    order = np.random.RandomState(7).permutation(len(y))
    cut = int(len(y) * 0.8)
    return order[:cut], order[cut:]


def rec_bytes(indices, labels=None, tmp=None):
    """An image .rec written by mx.recordio.MXIndexedRecordIO (im2rec's writer); returns its bytes."""
    jpegs, y, _ = digits()
    labels = y if labels is None else labels
    path = str(tmp / ("d%d.rec" % len(indices)))
    w = mx.recordio.MXIndexedRecordIO(path[:-4] + ".idx", path, "w")
    for k, i in enumerate(indices):
        lab = labels[i]
        header = mx.recordio.IRHeader(0, lab, int(i), 0) if np.ndim(lab) == 0 else \
            mx.recordio.IRHeader(len(lab), np.asarray(lab, np.float32), int(i), 0)
        w.write_idx(k, mx.recordio.pack(header, jpegs[i]))
    w.close()
    with open(path, "rb") as f:
        return f.read()


def image_files(indices, prefix="img"):
    """({relative path: jpeg bytes}, .lst text) for the images at indices."""
    jpegs, y, _ = digits()
    files, lines = {}, []
    for i in indices:
        rel = "%s/class_%d/d%04d.jpg" % (prefix, y[i], i)
        files[rel] = jpegs[i]
        lines.append("%d\t%d\t%s\n" % (i, y[i], rel))
    return files, "".join(lines)


def hp(**kw):
    out = {"num_classes": 10, "num_training_samples": len(split()[0]), "num_layers": 20, "image_shape": SHAPE,
           "mini_batch_size": 32, "epochs": 4, "learning_rate": 0.1, "momentum": 0.9, "lr_scheduler_step": "3",
           "optimizer": "sgd"}
    out.update(kw)
    return out


def rec_channel(data, mode="File"):
    return {"content_type": REC, "mode": mode, "files": {"data.rec": data}}


def reference_scores(model_dir, epoch, indices):
    """Class probabilities from the checkpoint alone (mx.model.load_checkpoint, as the guide's users
    load it), on the decoded validation JPEGs."""
    jpegs, _, _ = digits()
    sym, arg, aux = mx.model.load_checkpoint(model_dir + "/image-classification", epoch)
    mod = mx.mod.Module(sym, label_names=None, context=mx.cpu())
    mod.bind(for_training=False, data_shapes=[("data", (len(indices), 3, SIDE, SIDE))])
    mod.set_params(arg, aux, allow_missing=True)  # softmax_label: what the guide's users pass too
    x = np.stack([mx.image.imdecode(jpegs[i]).asnumpy().transpose(2, 0, 1) for i in indices]).astype(np.float32)
    mod.forward(mx.io.DataBatch([mx.nd.array(x)]), is_train=False)
    return mod.get_outputs()[0].asnumpy()


def model_tarball(model_dir):
    """model.tar.gz as the platform uploads it and hands it back in a `model` channel."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in sorted(os.listdir(model_dir)):
            tar.add(os.path.join(model_dir, name), arcname=name)
    return buf.getvalue()


def lst_channels(indices, name):
    files, lst = image_files(indices, prefix=name)
    return {name: {"content_type": IMAGE, "files": files},
            name + "_lst": {"content_type": IMAGE, "files": {name + ".lst": lst.encode()}}}
