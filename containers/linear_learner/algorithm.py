"""Linear Learner: many linear models trained in one pass per epoch, the best one kept.

Steps as in the guide's "How It Works": statistics for normalisation from a sample of the training
data; SGD-family training of num_models stacked models; per-epoch validation loss for early stopping;
threshold calibration for the selection criterion on a sample; the best model saved as an MXNet Module.
"""
import time

import mxnet as mx
import numpy as np

from containers.linear_learner import artifact, data, losses, options, scaler as scaling, scoring
from containers.linear_learner.hosts import HostSum
from containers.linear_learner.predictor import Predictor
from containers.linear_learner.stacked import StackedLinear
from training.channels import Channel
from training.errors import ClientError

nd = mx.nd


def _labels(model, b):
    y = b.labels
    if model.y_mean != 0.0 or model.y_scale != 1.0:
        y = (y - model.y_mean) / model.y_scale
    return y.reshape(-1, 1)


def _batches(job, channel, epoch, opts, hp):
    return data.checked(channel.batches(hp["mini_batch_size"], hp["feature_dim"], epoch=epoch),
                        channel.name, opts, hp["feature_dim"])


def _fit_scaler(job, head, opts, hp, hs):
    sc = scaling.fit(head, hp["feature_dim"], opts)
    if hs.count > 1:  # every host must normalise the same way, or averaging their weights is meaningless
        sc.x_mean = hs.mean(sc.x_mean)
        sc.x_scale = hs.mean(sc.x_scale)
        y = hs.mean(np.array([sc.y_mean, sc.y_scale, sc.positive_fraction], np.float32))
        sc.y_mean, sc.y_scale, sc.positive_fraction = map(float, y)
        if sc.class_counts is not None:
            sc.class_counts = hs.sum(sc.class_counts.astype(np.float32)).astype(np.float64)
    return sc


def _pos_weights(opts, sc):
    balanced = (1 - sc.positive_fraction) / max(sc.positive_fraction, 1e-6)
    return [balanced if w == "balanced" else w for w in opts.pos_weight]


def _validation_losses(model, channel, epoch, opts, hp, ctx, sample):
    """Mean loss per model over the validation channel (and the calibration sample on the first pass)."""
    We, be = model.effective()
    total = nd.zeros((model.M,), ctx=ctx)
    n = 0
    for b in _batches(None, channel, epoch, opts, hp):
        if sample is not None:
            sample.offer(b)
        val, _ = model.loss_terms(model.raw_scores(nd.array(b.dense(), ctx=ctx), We, be),
                                  nd.array(_labels(model, b), ctx=ctx))
        total += nd.sum(val, axis=0)
        n += len(b)
    return total.asnumpy().astype(np.float64), n


def _select(model, opts, hp, x, y, best_loss, best_W, best_b):
    """(model index, threshold) chosen by the selection criterion on the calibration sample."""
    default_threshold = 0.5 if opts.loss == "logistic" else 0.0
    if opts.predictor_type != "binary_classifier" or opts.criterion == "loss_function" or x is None:
        return int(np.nanargmin(best_loss)), default_threshold
    We, be = model.effective(best_W, best_b)
    raw = model.raw_scores(nd.array(x, ctx=model.ctx), We, be)
    s = (nd.sigmoid(raw) if opts.loss == "logistic" else raw).asnumpy()
    best = None
    for m in range(model.M):
        if not np.isfinite(best_loss[m]):
            continue
        thr, value = scoring.calibrate(s[:, m], y, opts.criterion, hp["f_beta"], hp["target_recall"],
                                       hp["target_precision"], default_threshold)
        key = (value, -best_loss[m])
        if best is None or key > best[0]:
            best = (key, m, thr)
    if best is None:
        return 0, default_threshold
    return best[1], best[2]


def _channel_metrics(pred, batches, opts, hp, sc):
    """Objective loss and quality metrics of the saved model over a stream of batches."""
    raws, ys = [], []
    for b in batches:
        raws.append(pred.raw(b.dense()).asnumpy())
        ys.append(b.labels)
    if not raws:
        return {}
    raw, y = np.concatenate(raws), np.concatenate(ys)
    return _metrics_from(pred, raw, y, opts, hp, sc)


def _metrics_from(pred, raw, y, opts, hp, sc):
    s_norm = (raw - sc.y_mean) / sc.y_scale
    y_norm = (y - sc.y_mean) / sc.y_scale
    s_nd = nd.array(s_norm)
    if opts.outputs > 1:
        s_nd = s_nd.expand_dims(1)
    val, _ = losses.value_and_grad(opts.loss, s_nd, nd.array(y_norm.reshape(-1, 1)), {
        "margin": hp["margin"], "quantile": hp["quantile"],
        "loss_insensitivity": hp["loss_insensitivity"] / sc.y_scale, "huber_delta": hp["huber_delta"] / sc.y_scale})
    out = {"objective": float(val.mean().asscalar())}
    score = pred.scores(nd.array(raw))
    if opts.predictor_type == "binary_classifier":
        out.update(scoring.binary(score, y, pred.threshold, hp["f_beta"]))
    elif opts.predictor_type == "multiclass_classifier":
        out.update(scoring.multiclass(score, y, min(hp["accuracy_top_k"], opts.outputs), hp["f_beta"]))
    else:
        out.update(scoring.regression(score, y))
    return out


def _report(job, channel, values, obj_name):
    for name, v in values.items():
        if name == "objective":
            job.metrics.quality(channel, obj_name + "_objective", v, "loss")
        else:
            job.metrics.quality(channel, name, v, scoring.kind(name))


def _whole(job, name):
    """The channel read in full by this host (final evaluation is the master's, over all records)."""
    cfg = job.inputdataconfig.get(name)
    return None if cfg is None else Channel(name, cfg, job.paths.data, 0, 1, job.log)


def train(job):
    hp = job.hyperparameters
    opts = options.resolve(hp)
    ctx = job.context
    hs = HostSum(job.kvstore())
    obj_name = losses.objective_name(opts.loss)
    train_ch, val_ch = job.channel("train"), job.channel("validation")
    job.log.info("linear learner: %s, loss %s, optimizer %s, %d models", opts.predictor_type, opts.loss,
                 opts.optimizer, opts.num_models)

    first = _batches(job, train_ch, 0, opts, hp)
    head, first = data.take(first, hp["num_point_for_scaler"])
    if not head:
        raise ClientError("channel train: no records for this host")
    sc = _fit_scaler(job, head, opts, hp, hs)
    model = StackedLinear(hp["feature_dim"], opts, hp, sc, ctx, _pos_weights(opts, sc), seed=17)
    model.schedule = options.lr_schedule(hp, None)
    class_weights = None
    if opts.predictor_type == "multiclass_classifier" and hp["balance_multiclass_weights"]:
        counts = np.maximum(sc.class_counts, 1.0)
        class_weights = counts.sum() / (opts.outputs * counts)
        model.set_class_weights(class_weights)

    calib = data.Sample(opts.calibration_samples)
    train_sample = calib if val_ch is None else data.Sample(opts.calibration_samples)
    best_loss = np.full(opts.num_models, np.inf)
    best_W, best_b = model.W.copy(), model.b.copy()
    best_overall, since_best = np.inf, 0
    seen, train_time, epoch, last_train = 0, 0.0, 0, None
    stopped = False
    for epoch in range(hp["epochs"]):
        t0 = time.time()
        n = 0
        for b in (first if epoch == 0 else _batches(job, train_ch, epoch, opts, hp)):
            if epoch == 0:
                train_sample.offer(b)
            model.step(b.dense(), _labels(model, b))
            n += len(b)
            if job.stop_requested():
                stopped = True
                break
        totals = model.take_losses()
        train_time += time.time() - t0
        seen += n
        if hs.count > 1:
            W, bias = model.params()
            model.set_params(hs.mean(W), hs.mean(bias))
            stats = hs.sum(np.r_[totals, n].astype(np.float32)).astype(np.float64)
            totals, n = stats[:-1], stats[-1]
        train_loss = totals / max(n, 1)
        last_train = train_loss
        job.metrics.quality("train", obj_name + "_objective", float(np.nanmin(train_loss)), "loss", epoch=epoch)
        if val_ch is not None:
            vt, vn = _validation_losses(model, val_ch, epoch, opts, hp, ctx, calib if epoch == 0 else None)
            if hs.count > 1:
                stats = hs.sum(np.r_[vt, vn].astype(np.float32)).astype(np.float64)
                vt, vn = stats[:-1], stats[-1]
            epoch_loss = vt / max(vn, 1)
            job.metrics.quality("validation", obj_name + "_objective", float(np.nanmin(epoch_loss)), "loss",
                                epoch=epoch)
        else:
            epoch_loss = train_loss
        epoch_loss = np.where(np.isfinite(epoch_loss), epoch_loss, np.inf)
        improved = epoch_loss < best_loss
        if improved.any():
            best_loss = np.where(improved, epoch_loss, best_loss)
            mask = nd.array(np.repeat(improved, opts.outputs).reshape(1, -1).astype(np.float32), ctx=ctx)
            best_W = nd.where(nd.broadcast_like(mask, model.W), model.W, best_W)
            best_b = nd.where(mask, model.b, best_b)
        job.metrics.progress((epoch + 1) / hp["epochs"])
        current = float(epoch_loss.min())
        if not np.isfinite(best_overall) or current < best_overall - hp["early_stopping_tolerance"] * abs(best_overall):
            best_overall, since_best = current, 0
        else:
            since_best += 1
            if since_best >= hp["early_stopping_patience"]:
                job.log.info("early stopping after epoch %d: no relative improvement above %g for %d epochs",
                             epoch, hp["early_stopping_tolerance"], since_best)
                break
        if stopped:
            break
    job.metrics.throughput("train", seen / max(train_time, 1e-9))
    if not np.isfinite(best_loss).any():
        raise ClientError("training diverged: every model's loss is infinite or NaN; lower learning_rate "
                          "or turn normalize_data on")

    x, y = calib.arrays()
    m, threshold = _select(model, opts, hp, x, y, best_loss, best_W, best_b)
    job.log.info("selected model %d of %d (lr %.3g, wd %.3g, l1 %.3g), threshold %.6g", m, opts.num_models,
                 opts.lr[m], opts.wd[m], opts.l1[m], threshold)
    w, bias = model.export(m, best_W, best_b)
    if opts.predictor_type != "binary_classifier":
        threshold = 0.5  # the service writes 0.5 where no threshold is used
    # what the service's artifact carries (artifact.py); the weights already hold the normalisation
    extra = {"predictor_type": opts.predictor_type, "loss": opts.loss, "threshold": threshold,
             "hyperparameters": hp, "bias_lr_mult": opts.bias_lr_mult,
             "positive_example_weight_mult": float(_pos_weights(opts, sc)[m]),
             "class_weights": None if class_weights is None else [float(c) for c in class_weights]}
    if not job.is_master:
        return
    job.save_model(artifact.MODEL_FILE, lambda path: artifact.write(path, w, bias, extra))
    pred = Predictor(w, bias, extra, ctx=mx.cpu())
    job.metrics.quality("train", obj_name + "_objective", float(last_train[m]), "loss")
    tx, ty = train_sample.arrays()
    if tx is not None:
        vals = _metrics_from(pred, pred.raw(tx).asnumpy(), ty, opts, hp, sc)
        vals.pop("objective")
        _report(job, "train", vals, obj_name)
    passes = epoch + 1
    if val_ch is not None and not stopped:
        _report(job, "validation", _channel_metrics(pred, _batches(job, _whole(job, "validation"), passes, opts, hp),
                                                   opts, hp, sc), obj_name)
    if job.channel("test") is not None and not stopped:
        _report(job, "test", _channel_metrics(pred, _batches(job, _whole(job, "test"), 0, opts, hp), opts, hp, sc),
                obj_name)
