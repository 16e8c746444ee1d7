"""k-fold cross-validation as the image runs it (`_kfold`, `_num_cv_round`): train and validation read as
one data set, `_num_cv_round` repetitions of a `_kfold`-way split (stratified for classification), one
model per fold and repetition (xgboost-model-<n>), the mean of each fold's last metrics printed as
`[num_round]<TAB>train-rmse:...<TAB>validation-rmse:...` (the line the metric regexes read), and the
out-of-fold predictions in output/data/predictions.csv.

Differences from the image, on purpose: each fold is evaluated (and early-stopped) on its held-out
rows, where the image evaluates every fold on the whole train and validation channels (which holds the
fold's own training rows); the splits are seeded with `seed`, where the image's change every run.
"""
import os

import numpy as np

from training.errors import ClientError

PREDICTIONS_FILE = "predictions.csv"


def settings(hp):
    """(folds, repetitions), or None without _kfold."""
    raw = hp.get("_kfold")
    if raw is None or str(raw).strip() == "":
        return None
    try:
        k = int(str(raw).strip())
        rounds = int(str(hp.get("_num_cv_round") or 1).strip())
    except ValueError:
        raise ClientError("hyperparameters _kfold and _num_cv_round must be integers, got %r and %r"
                          % (raw, hp.get("_num_cv_round"))) from None
    if k < 2:
        raise ClientError("hyperparameter _kfold: %d is not valid; expected an integer >= 2" % k)
    if rounds < 1:
        raise ClientError("hyperparameter _num_cv_round: %d is not valid; expected an integer >= 1" % rounds)
    return k, rounds


def _classification(hp, objective):
    return bool(hp.get("num_class")) or objective.startswith("binary:")


def _splits(k, rounds, labels, classify, seed):
    from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold
    X = np.zeros((len(labels), 1))
    if classify:
        _, counts = np.unique(labels, return_counts=True)
        if counts.min() < k:
            raise ClientError("_kfold=%d: a class has only %d record(s); stratified %d-fold cross-validation "
                              "needs at least %d of each" % (k, counts.min(), k, k))
        return RepeatedStratifiedKFold(n_splits=k, n_repeats=rounds, random_state=seed).split(X, labels)
    if len(labels) < k:
        raise ClientError("_kfold=%d needs at least %d records, got %d" % (k, k, len(labels)))
    return RepeatedKFold(n_splits=k, n_repeats=rounds, random_state=seed).split(X)


def mean_line(num_round, results):
    """The image's summary: for each metric, train then validation, the mean of the folds' last values."""
    first = results[0]
    line = "[%d]" % num_round
    for metric in first["train"]:
        for name in first:
            line += "\t%s-%s:%.5f" % (name, metric, np.mean([r[name][metric][-1] for r in results]))
    return line


def _record(pred, labels, classify):
    if not classify:
        return pred.reshape(len(labels), -1)[:, 0], None
    if pred.ndim > 1:
        lab = np.argmax(pred, axis=1)
        return lab, pred[np.arange(len(lab)), lab]
    return (pred > 0.5).astype(np.float64), pred


def _save_predictions(job, labels, preds, probs, classify):
    cols = [labels]
    if classify:
        from scipy import stats
        cols.append(probs.mean(axis=1))
        cols.append(stats.mode(preds, axis=1, keepdims=False).mode)
    else:
        cols.append(preds.mean(axis=1))
    path = os.path.join(job.output_data_dir, PREDICTIONS_FILE)
    np.savetxt(path, np.column_stack(cols), delimiter=",", fmt="%f")
    job.log.info("out-of-fold predictions written to %s", path)


def run(job, hp, session, data, folds):
    """Train every fold; {xgboost-model-<n>: booster}."""
    k, rounds = folds
    objective = session.xgb_params["objective"]
    classify = _classification(hp, objective)
    labels = data.get_label()
    job.log.info("%d round(s) of %d-fold cross-validation on %d rows", rounds, k, data.num_row())
    models, results = {}, []
    preds = np.zeros((len(labels), rounds))
    probs = np.zeros((len(labels), rounds)) if classify else None
    for n, (train_idx, val_idx) in enumerate(_splits(k, rounds, labels, classify, hp["seed"])):
        job.log.info("cross-validation round %d, fold %d", n // k + 1, n % k + 1)
        dtrain, dval = data.slice(train_idx), data.slice(val_idx)
        result = {}
        name = "xgboost-model-%d" % n
        bst = session.train(dtrain, [(dtrain, "train"), (dval, "validation")], name, result)
        models[name] = bst
        results.append(result)
        if session.stopped:
            return models
        lab, prob = _record(bst.predict(dval), labels[val_idx], classify)
        preds[val_idx, n // k] = lab
        if classify:
            probs[val_idx, n // k] = prob
        if len(results) % k == 0:
            job.log.info("metrics of cross-validation round %d", len(results) // k)
            if job.is_master:
                print(mean_line(hp["num_round"], results[-k:]), flush=True)
    if rounds > 1:
        job.log.info("metrics over all %d rounds of cross-validation", rounds)
        if job.is_master:
            print(mean_line(hp["num_round"], results), flush=True)
    if job.is_master:
        _save_predictions(job, labels, preds, probs, classify)
    return models
