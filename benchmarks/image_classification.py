"""Image Classification: training images/s of the real `train` program against a plain MXNet Module
loop of the same ResNet on the same .rec (side by side, alternating), and serving p50 latency for one
224x224 JPEG through the real `serve` program.

    python benchmarks/image_classification.py                      # ResNet-18, 3x224x224 (the issue's)
    python benchmarks/image_classification.py --side 32 --layers 20 --images 512   # a quick look
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import mxnet as mx
import numpy as np
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from containers.image_classification import artifact, resnet
from formats import images
from helpers import job_dir, served

ALGO = "image-classification"


def photo_crops(side, n, seed=0):
    """n JPEGs of side x side cut from scikit-learn's two sample photos."""
    from sklearn.datasets import images as skimages
    folder = os.path.dirname(skimages.__file__)
    photos = []
    for name in ("china.jpg", "flower.jpg"):
        with open(os.path.join(folder, name), "rb") as f:
            photos.append(mx.image.imdecode(f.read()).asnumpy())
    rng = np.random.RandomState(seed)
    out = []
    for k in range(n):
        p = photos[k % 2]
        scale = rng.uniform(0.3, 1.0)
        h = max(side, int(p.shape[0] * scale))
        y, x = rng.randint(0, p.shape[0] - h + 1), rng.randint(0, p.shape[1] - h + 1)
        crop = mx.image.imresize(mx.nd.array(p[y:y + h, x:x + h]).astype("uint8"), side, side).asnumpy()
        out.append(images.encode_jpeg(crop, quality=90))
    return out


def write_rec(path, jpegs, classes, seed=0):
    rng = np.random.RandomState(seed)
    w = mx.recordio.MXIndexedRecordIO(path[:-4] + ".idx", path, "w")
    for i, j in enumerate(jpegs):
        w.write_idx(i, mx.recordio.pack(mx.recordio.IRHeader(0, float(rng.randint(classes)), i, 0), j))
    w.close()


def ours(rec, args, workdir):
    """images/s the real train program reports (its #throughput_metric, the mean over epochs)."""
    base = os.path.join(workdir, "job")
    shutil.rmtree(base, ignore_errors=True)
    with open(rec, "rb") as f:
        data = f.read()
    hp = {"num_classes": args.classes, "num_training_samples": args.images, "num_layers": args.layers,
          "image_shape": "3,%d,%d" % (args.side, args.side), "mini_batch_size": args.batch, "epochs": args.epochs,
          "learning_rate": 0.05, "momentum": 0.9, "checkpoint_frequency": args.epochs}
    job_dir(base, hp, {"train": {"content_type": "application/x-recordio", "files": {"t.rec": data}},
                       "validation": {"content_type": "application/x-recordio", "files": {"v.rec": data[:len(data)]}}})
    env = dict(os.environ, SAGEMAKER_BASE_DIR=base, ALGORITHM=ALGO)
    p = subprocess.run([os.path.join(os.path.dirname(sys.executable), "train")], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    log = p.stdout.decode()
    if p.returncode != 0:
        raise SystemExit(log[-3000:])
    speeds = [float(s) for s in re.findall(r"train throughput=([0-9.]+) records/second", log)]
    return speeds[-1] if len(speeds) == 1 else statistics.mean(speeds[1:])  # the first epoch warms up


def baseline(rec, args):
    """The same network trained by a plain Module loop over ImageRecordIter: images/s per epoch."""
    shape = (3, args.side, args.side)
    it = mx.io.ImageRecordIter(path_imgrec=rec, data_shape=shape, batch_size=args.batch, shuffle=True,
                               preprocess_threads=max(1, min(8, os.cpu_count() or 1)))
    mod = mx.mod.Module(resnet.get_symbol(args.classes, args.layers, shape), context=mx.cpu())
    mod.bind(it.provide_data, it.provide_label)
    mod.init_params(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2))
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.05, "momentum": 0.9, "wd": 1e-4})
    metric = mx.metric.Accuracy()
    speeds = []
    for _ in range(args.epochs):
        it.reset()
        metric.reset()
        n, t = 0, time.time()
        for b in it:
            mod.forward_backward(b)
            mod.update()
            mod.update_metric(metric, b.label)
            n += args.batch - b.pad
        speeds.append(n / (time.time() - t))
    return speeds[-1] if len(speeds) == 1 else statistics.mean(speeds[1:])


def serving_p50(args, workdir, jpeg):
    """p50/p90 ms of one 224x224 JPEG through `serve`, and of the same forward in-process."""
    out = {}
    for layers in args.serve_layers:
        base = os.path.join(workdir, "serve-%d" % layers)
        model = os.path.join(base, "model")
        os.makedirs(model, exist_ok=True)
        shape = (3, 224, 224)
        sym = resnet.get_symbol(1000, layers, shape)
        mod = mx.mod.Module(sym, context=mx.cpu())
        mod.bind(data_shapes=[("data", (1,) + shape)], label_shapes=[("softmax_label", (1,))], for_training=False)
        mod.init_params(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2))
        mod.save_checkpoint(os.path.join(model, artifact.PREFIX), 1)
        with open(os.path.join(model, artifact.SHAPES), "w") as f:
            f.write(artifact.shapes_json(32, shape))
        x = mx.nd.array(mx.image.imdecode(jpeg).asnumpy().transpose(2, 0, 1)[None].astype(np.float32))
        direct = []
        for _ in range(args.requests):
            t = time.perf_counter()
            mod.forward(mx.io.DataBatch([x]), is_train=False)
            mod.get_outputs()[0].asnumpy()
            direct.append(time.perf_counter() - t)
        with served(base, ALGO, timeout=120) as server:
            lat = []
            for k in range(args.requests + 3):
                t = time.perf_counter()
                r = requests.post(server.url + "/invocations", data=jpeg, headers={"Content-Type": "image/jpeg"})
                dt = time.perf_counter() - t
                assert r.status_code == 200 and len(json.loads(r.content)) == 1000, r.text
                if k >= 3:
                    lat.append(dt)
        out[layers] = (np.percentile(lat, 50) * 1e3, np.percentile(lat, 90) * 1e3, np.percentile(direct[2:], 50) * 1e3)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--side", type=int, default=224)
    ap.add_argument("--layers", type=int, default=18)
    ap.add_argument("--images", type=int, default=96)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2, help="alternating ours/baseline rounds")
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--serve-layers", type=int, nargs="*", default=[18, 152])
    ap.add_argument("--skip-serving", action="store_true")
    args = ap.parse_args()
    print("load:", os.getloadavg(), "cpus:", os.cpu_count(), "gpus:", mx.context.num_gpus())
    workdir = tempfile.mkdtemp(prefix="ic-bench-")
    try:
        rec = os.path.join(workdir, "train.rec")
        write_rec(rec, photo_crops(args.side, args.images), args.classes)
        rows = []
        for r in range(args.rounds):
            a = ours(rec, args, workdir)
            b = baseline(rec, args)
            rows.append((a, b))
            print("round %d: train program %.1f images/s | plain Module loop %.1f images/s | ratio %.3f"
                  % (r, a, b, b / a))
        best_a, best_b = max(a for a, _ in rows), max(b for _, b in rows)
        print("ResNet-%d %dx%d batch %d: train program %.1f images/s, plain Module loop %.1f images/s, "
              "baseline/ours %.3f (best of %d rounds)" % (args.layers, args.side, args.side, args.batch,
                                                          best_a, best_b, best_b / best_a, args.rounds))
        if not args.skip_serving:
            jpeg = photo_crops(224, 1, seed=1)[0]
            for layers, (p50, p90, direct) in serving_p50(args, workdir, jpeg).items():
                print("serving ResNet-%d, one 224x224 JPEG (%d bytes): p50 %.1f ms, p90 %.1f ms "
                      "(in-process forward p50 %.1f ms)" % (layers, len(jpeg), p50, p90, direct))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
