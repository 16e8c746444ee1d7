"""Image Classification training: MXNet's symbolic ResNet trained by a Module on ImageRecordIter.

Log lines are MXNet's own (`Epoch[0] Batch [20]\tSpeed: ... samples/sec\taccuracy=...`,
`Epoch[0] Train-accuracy=...`, `Epoch[0] Time cost=...`, `Epoch[0] Validation-accuracy=...`,
`Saved checkpoint to "..."`), which the declared metric regexes read.
"""
import os
import shutil
import tempfile
import time

import numpy as np

from contract.errors import ClientError
from containers.image_classification import artifact, data

SPEED_EVERY = 20
DIST_KINDS = ("dist_sync", "dist_async", "dist_device_sync")


def image_shape(text):
    try:
        shape = [int(x) for x in str(text).replace(" ", "").split(",")]
    except ValueError:
        shape = []
    if len(shape) != 3 or min(shape) < 1 or shape[0] not in (1, 3):
        raise ClientError("hyperparameter image_shape: %r is not valid; expected 'channels, height, width' with "
                          "3 (or 1) channels, e.g. '3, 224, 224'" % text)
    return shape


def check(hp):
    """Cross-field rules the declaration cannot state; before any data is read."""
    shape = image_shape(hp["image_shape"])
    if hp["checkpoint_frequency"] is not None and hp["checkpoint_frequency"] > hp["epochs"]:
        raise ClientError("hyperparameter checkpoint_frequency: %d is more than epochs (%d)"
                          % (hp["checkpoint_frequency"], hp["epochs"]))
    steps = hp["lr_scheduler_step"] or []
    if any(s < 1 for s in steps) or any(b <= a for a, b in zip(steps, steps[1:])):
        raise ClientError("hyperparameter lr_scheduler_step: %s must be increasing positive epochs, e.g. '10, 20'"
                          % ",".join(map(str, steps)))
    if hp["top_k"] is not None and hp["top_k"] > hp["num_classes"]:
        raise ClientError("hyperparameter top_k: %d is more than num_classes (%d)" % (hp["top_k"], hp["num_classes"]))
    if hp["num_classes"] < 2 and not hp["multi_label"]:
        raise ClientError("hyperparameter num_classes: %d; a single-label classifier needs at least 2 classes"
                          % hp["num_classes"])
    if hp["use_weighted_loss"] and not hp["multi_label"]:
        hp["use_weighted_loss"] = False  # the guide: used only when multi_label = 1
    return shape


def train(job):
    hp = job.hyperparameters
    shape = check(hp)
    workdir = tempfile.mkdtemp(prefix="ic-")
    try:
        _train(job, hp, shape, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _train(job, hp, shape, workdir):
    start = _start_weights(job, hp, shape, workdir)
    multi = hp["multi_label"]
    train_rec = data.prepare(job, "train", workdir, hp["num_classes"], multi)
    bs = hp["mini_batch_size"]
    if train_rec.count < bs:
        raise ClientError("The number of input images (%d in channel train) must be bigger or equal to the "
                          "mini_batch_size (%d)" % (train_rec.count, bs))
    val_rec = data.prepare(job, "validation", workdir, hp["num_classes"], multi)
    job.log.info("train: %d images, validation: %d images", train_rec.count, val_rec.count)

    import mxnet as mx
    from containers.image_classification import network

    contexts = job.contexts
    on_gpu = contexts[0].device_type == "gpu"
    dtype = hp["precision_dtype"]
    if dtype == "float16" and not on_gpu:
        job.log.warning("precision_dtype=float16 needs a GPU; training in float32 on %s", contexts[0])
        dtype = "float32"
    kv = _kvstore(job, hp, len(contexts))
    workers = kv.num_workers if kv is not None and not isinstance(kv, str) else 1
    rank = kv.rank if kv is not None and not isinstance(kv, str) else 0
    if workers > 1:
        if hp["kv_store"] is None or hp["kv_store"] not in DIST_KINDS:
            job.log.info("%d hosts: synchronising through the %s kvstore", workers, kv.type)
        if train_rec.count != hp["num_training_samples"]:
            job.log.warning("num_training_samples=%d but this host's train channel holds %d images",
                            hp["num_training_samples"], train_rec.count)

    label_name = "sigmoid_label" if multi else "softmax_label"
    channel = job.channel("train")
    parts, part = (workers, rank) if (workers > 1 and channel.shared) else (1, 0)
    train_it = _iterator(mx, train_rec, hp, shape, label_name, train=True, parts=parts, part=part)
    if workers > 1:
        # every worker runs the same number of batches, or dist_sync waits forever on the short one
        per_epoch = max(1, -(-hp["num_training_samples"] // (bs * workers)))
        train_it = mx.io.ResizeIter(train_it, per_epoch, reset_internal=True)
    else:
        per_epoch = -(-train_rec.count // bs)
    # a fresh iterator per evaluation: round_batch carries the wrapped records into the next pass
    # (and without it ImageRecordIter reports no padding), so each pass starts at record 0 this way
    val_iterator = lambda: _iterator(mx, val_rec, hp, shape, label_name, train=False)  # noqa: E731

    class_weight = _class_weights(train_rec.labels) if hp["use_weighted_loss"] else None
    sym = network.training_symbol(hp, shape, dtype, class_weight is not None)
    fixed = ["class_weight"] if class_weight is not None else None
    mod = mx.mod.Module(sym, context=contexts, data_names=["data"], label_names=[label_name],
                        fixed_param_names=fixed)
    mod.bind(data_shapes=train_it.provide_data, label_shapes=train_it.provide_label)
    init = mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2)
    arg, aux, allow_missing = start if start is not None else ({}, {}, True)
    if class_weight is not None:
        arg = dict(arg, class_weight=mx.nd.array(class_weight[None, :]))
    mod.init_params(initializer=init, arg_params=arg or None, aux_params=aux or None,
                    allow_missing=allow_missing or class_weight is not None)
    mod.init_optimizer(kvstore=kv if kv is not None else "local", optimizer=hp["optimizer"],
                       optimizer_params=_optimizer_params(mx, hp, per_epoch, dtype))

    saver = _Saver(job, hp, shape, dtype)
    best = None
    for epoch in range(hp["epochs"]):
        tic = time.time()
        metric = network.metric(hp)
        train_it.reset()
        seen = _train_epoch(job, mod, train_it, metric, epoch, bs)
        for name, value in metric.get_global_name_value():
            job.log.info("Epoch[%d] Train-%s=%f", epoch, name, value)
        elapsed = time.time() - tic
        job.log.info("Epoch[%d] Time cost=%.3f", epoch, elapsed)
        job.metrics.throughput("train", seen / max(elapsed, 1e-9))
        stopping = job.stop_requested()
        val = network.metric(hp)
        if not stopping:
            _evaluate(mod, val_iterator(), val)
            for name, value in val.get_global_name_value():
                job.log.info("Epoch[%d] Validation-%s=%f", epoch, name, value)
        accuracy = dict(val.get_global_name_value()).get("accuracy", float("nan"))
        job.metrics.progress((epoch + 1) / hp["epochs"])
        if job.is_master:
            last = epoch + 1 == hp["epochs"] or stopping
            if hp["checkpoint_frequency"] is not None:
                if (epoch + 1) % hp["checkpoint_frequency"] == 0 or last:
                    saver.save(mod, epoch + 1)
            elif best is None or accuracy > best or (stopping and not saver.saved):
                best = accuracy if best is None or accuracy > best else best
                saver.save(mod, epoch + 1, replace=True)
        if stopping:
            job.log.info("stop requested during epoch %d: stopping; the artifact holds epoch %s", epoch + 1,
                         ", ".join(map(str, saver.saved)) or "none")
            break


def _train_epoch(job, mod, it, metric, epoch, bs):
    """One pass; prints the Speedometer line every SPEED_EVERY batches (accuracy over those batches)."""
    nbatch, seen = 0, 0
    tick = time.time()
    for batch in it:
        mod.forward_backward(batch)
        mod.update()
        mod.update_metric(metric, batch.label)
        nbatch += 1
        seen += bs - (batch.pad or 0)
        if nbatch % SPEED_EVERY == 0:
            now = time.time()
            speed = SPEED_EVERY * bs / max(now - tick, 1e-9)
            values = "".join("\t%s=%f" % nv for nv in metric.get_name_value())
            job.log.info("Epoch[%d] Batch [%d]\tSpeed: %.2f samples/sec%s", epoch, nbatch, speed, values)
            metric.reset_local()
            tick = now
        if job.stop_requested():
            break
    return seen


def _evaluate(mod, it, metric):
    """Exact validation metrics: the padding of the last batch is not scored."""
    for batch in it:
        mod.forward(batch, is_train=False)
        n = batch.data[0].shape[0] - (batch.pad or 0)
        outs = [o[:n] for o in mod.get_outputs()]
        metric.update([batch.label[0][:n]], outs)


def _iterator(mx, rec, hp, shape, label_name, train, parts=1, part=0):
    kw = dict(path_imgrec=rec.path, data_shape=tuple(shape), batch_size=hp["mini_batch_size"],
              label_width=hp["num_classes"] if hp["multi_label"] else 1, data_name="data", label_name=label_name,
              preprocess_threads=max(1, min(8, os.cpu_count() or 1)), num_parts=parts, part_index=part)
    if hp["resize"] is not None:
        kw["resize"] = hp["resize"]
    if train:
        kw.update(shuffle=True, seed=int(np.random.randint(1 << 30)))
        aug = hp["augmentation_type"]
        # the three levels of MXNet's example/image-classification (set_data_aug_level 1, 2, 3)
        if aug in ("crop", "crop_color", "crop_color_transform"):
            kw.update(rand_crop=True, rand_mirror=True)
        if aug in ("crop_color", "crop_color_transform"):
            kw.update(random_h=36, random_s=50, random_l=50)
        if aug == "crop_color_transform":
            kw.update(max_rotate_angle=10, max_shear_ratio=0.1, max_aspect_ratio=0.25)
    return mx.io.ImageRecordIter(**kw)


def _kvstore(job, hp, ndev):
    if len(job.hosts) > 1:
        kind = hp["kv_store"] if hp["kv_store"] in DIST_KINDS else "dist_sync"
        return job.kvstore(kind)
    return "device" if ndev > 1 else None


def _optimizer_params(mx, hp, per_epoch, dtype):
    name = hp["optimizer"]
    p = {"learning_rate": hp["learning_rate"]}
    if name in ("sgd", "nag"):
        p.update(momentum=hp["momentum"], wd=hp["weight_decay"])
    elif name == "adam":
        p.update(beta1=hp["beta_1"], beta2=hp["beta_2"], epsilon=hp["eps"])
    elif name == "rmsprop":
        p.update(gamma1=hp["gamma"], epsilon=hp["eps"])
    if dtype == "float16":
        p["multi_precision"] = True
    steps = hp["lr_scheduler_step"] or []
    if steps:
        p["lr_scheduler"] = mx.lr_scheduler.MultiFactorScheduler(step=[s * per_epoch for s in steps],
                                                                 factor=hp["lr_scheduler_factor"],
                                                                 base_lr=hp["learning_rate"])
    return p


def _class_weights(labels):
    """Positive-class weights n_negative / n_positive per class (1 where a class never occurs)."""
    pos = labels.sum(axis=0)
    neg = labels.shape[0] - pos
    return np.where(pos > 0, neg / np.maximum(pos, 1), 1.0).astype(np.float32)


def _start_weights(job, hp, shape, workdir):
    """(arg, aux, allow_missing) from the `model` channel, or None to start from scratch."""
    model = job.channel("model")
    if model is None:
        if hp["use_pretrained_model"]:
            raise ClientError("use_pretrained_model=1: pretrained weights cannot be downloaded here; give them "
                              "in the `model` channel (content type application/x-sagemaker-model) as an "
                              "image-classification model.tar.gz with num_layers=%d" % hp["num_layers"])
        return None
    directory = artifact.unpack_channel(model.dir, workdir)
    try:
        sym, arg, aux, epoch = artifact.load(directory)
    except (FileNotFoundError, ValueError) as e:
        raise ClientError("channel model: %s" % e) from None
    except Exception as e:  # mxnet's own errors on a bad file
        raise ClientError("channel model: cannot load the checkpoint: %s" % str(e).splitlines()[0]) from None
    seen = artifact.describe(arg)
    shapes = artifact.read_shapes(directory)
    job.log.info("model channel: epoch %d of a ResNet-%s with %s classes%s", epoch, seen["num_layers"],
                 seen["num_classes"], "" if shapes is None else ", input %s" % shapes[1:])
    if seen["num_layers"] != hp["num_layers"]:
        raise ClientError("channel model: the model has num_layers=%s, the hyperparameter num_layers=%d; "
                          "they must match" % (seen["num_layers"], hp["num_layers"]))
    if hp["use_pretrained_model"]:
        # transfer learning: every layer but the top fully connected one
        arg = {k: v for k, v in arg.items() if not k.startswith("fc1_")}
        allow_missing = True
    else:
        if seen["num_classes"] != hp["num_classes"]:
            raise ClientError("channel model: the model has num_classes=%s, the hyperparameter num_classes=%d; "
                              "they must match" % (seen["num_classes"], hp["num_classes"]))
        if shapes is not None and list(shapes[1:]) != list(shape):
            raise ClientError("channel model: the model has image_shape=%s, the hyperparameter image_shape=%s; "
                              "they must match" % (",".join(map(str, shapes[1:])), ",".join(map(str, shape))))
        allow_missing = False
    _check_shapes(hp, shape, arg, aux)
    return arg, aux, allow_missing


def _check_shapes(hp, shape, arg, aux):
    from containers.image_classification import resnet
    sym = resnet.get_symbol(hp["num_classes"], hp["num_layers"], shape, multi_label=hp["multi_label"])
    args, _, auxs = sym.infer_shape(data=(1,) + tuple(shape))
    want = dict(zip(sym.list_arguments(), args))
    want.update(zip(sym.list_auxiliary_states(), auxs))
    for name, value in list(arg.items()) + list(aux.items()):
        if name in want and tuple(value.shape) != tuple(want[name]):
            raise ClientError("channel model: parameter %s has shape %s, this job's network needs %s "
                              "(num_layers, image_shape and num_classes must match the model's)"
                              % (name, tuple(value.shape), tuple(want[name])))


class _Saver:
    """Writes the artifact: the serving symbol once, a params file per saved epoch."""

    def __init__(self, job, hp, shape, dtype):
        from containers.image_classification import resnet
        self.job, self.dtype = job, dtype
        self.symbol = resnet.get_symbol(hp["num_classes"], hp["num_layers"], shape, multi_label=hp["multi_label"])
        self.shapes = artifact.shapes_json(hp["mini_batch_size"], shape)
        self.saved = []

    def save(self, mod, epoch, replace=False):
        import mxnet as mx
        if not self.saved:
            self.job.save_model(artifact.SYMBOL, lambda p: self.symbol.save(p))
            self.job.save_model(artifact.SHAPES, lambda p: open(p, "w").write(self.shapes))
        arg, aux = mod.get_params()
        keep = set(self.symbol.list_arguments())
        blob = {"arg:%s" % k: v.astype("float32") for k, v in arg.items() if k in keep}
        blob.update({"aux:%s" % k: v.astype("float32") for k, v in aux.items()})
        name = artifact.params_name(epoch)
        self.job.save_model(name, lambda p: mx.nd.save(p, blob))
        self.job.log.info('Saved checkpoint to "%s"', os.path.join(self.job.model_dir, name))
        if replace:
            for old in self.saved:
                if old != epoch:
                    os.unlink(os.path.join(self.job.model_dir, artifact.params_name(old)))
            self.saved = [epoch]
        else:
            self.saved.append(epoch)
