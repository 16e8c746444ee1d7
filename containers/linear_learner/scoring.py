"""Quality metrics and threshold calibration (numpy: they run once per channel, on gathered scores)."""
import numpy as np


def _prf(tp, fp, fn, beta):
    precision = tp / np.maximum(tp + fp, 1e-12)
    recall = tp / np.maximum(tp + fn, 1e-12)
    b2 = beta * beta
    f = (1 + b2) * precision * recall / np.maximum(b2 * precision + recall, 1e-12)
    return precision, recall, f


def roc_auc(score, y):
    pos = y > 0.5
    npos, nneg = int(pos.sum()), int((~pos).sum())
    if npos == 0 or nneg == 0:
        return 0.5
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    s = score[order]
    # average ranks over ties
    _, first, counts = np.unique(s, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[pos].sum() - npos * (npos + 1) / 2.0) / (npos * nneg))


def binary(score, y, threshold, beta):
    pred = score > threshold
    pos = y > 0.5
    tp = float(np.sum(pred & pos))
    fp = float(np.sum(pred & ~pos))
    fn = float(np.sum(~pred & pos))
    p, r, f = _prf(tp, fp, fn, beta)
    return {"binary_classification_accuracy": float(np.mean(pred == pos)), "binary_f_%.3f" % beta: float(f),
            "precision": float(p), "recall": float(r), "roc_auc_score": roc_auc(score, y)}


def calibrate(score, y, criterion, beta, target_recall, target_precision, default_threshold):
    """(threshold, value to maximise) for one model's (score, label) sample.

    Every cut between consecutive distinct scores is a candidate: predicting positive for score >
    threshold with the threshold set to the score just below the cut.
    """
    if criterion == "loss_function" or len(score) == 0:
        return default_threshold, 0.0
    order = np.argsort(-score, kind="mergesort")
    s, pos = score[order], (y[order] > 0.5)
    npos = pos.sum()
    n = len(s)
    tp = np.cumsum(pos).astype(np.float64)
    fp = np.cumsum(~pos).astype(np.float64)
    # only cut where the next score differs (ties go together); the last cut predicts all positive
    last = np.r_[s[1:] != s[:-1], True]
    tp, fp = tp[last], fp[last]
    below = np.r_[s[1:], s[-1] - 1.0][last]   # threshold: the next lower score (everything above it is positive)
    tp = np.r_[0.0, tp]
    fp = np.r_[0.0, fp]
    thresholds = np.r_[s[0], below]
    fn = npos - tp
    precision, recall, f = _prf(tp, fp, fn, beta)
    precision[0] = 1.0  # predicting nothing positive: no false positives
    if criterion == "accuracy":
        value = (tp + (n - npos - fp)) / n
    elif criterion == "f_beta":
        value = f
    elif criterion == "precision_at_target_recall":
        value = np.where(recall >= target_recall, precision, -1.0 + recall)
    elif criterion == "recall_at_target_precision":
        value = np.where(precision >= target_precision, recall, -1.0 + precision)
    else:
        raise ValueError(criterion)
    i = int(np.argmax(value))
    return float(thresholds[i]), float(value[i])


def multiclass(scores, y, top_k, beta):
    y = y.astype(np.int64)
    n, k = scores.shape
    pred = np.argmax(scores, axis=1)
    rank = (scores > scores[np.arange(n), y][:, None]).sum(axis=1)  # 0 = true class ranked first
    tp = np.bincount(y[pred == y], minlength=k).astype(np.float64)
    npred = np.bincount(pred, minlength=k).astype(np.float64)
    ntrue = np.bincount(y, minlength=k).astype(np.float64)
    p, r, _ = _prf(tp, npred - tp, ntrue - tp, beta)
    present = ntrue > 0
    mp, mr = float(p[present].mean()), float(r[present].mean())
    b2 = beta * beta
    mf = (1 + b2) * mp * mr / max(b2 * mp + mr, 1e-12)
    return {"multiclass_accuracy": float(np.mean(pred == y)),
            "multiclass_top_k_accuracy_%d" % top_k: float(np.mean(rank < top_k)),
            "macro_precision": mp, "macro_recall": mr, "macro_f_%.3f" % beta: float(mf),
            "dcg": float(np.mean(1.0 / np.log2(rank + 2.0)))}


def regression(score, y):
    r = score - y
    mse = float(np.mean(r * r))
    return {"mse": mse, "rmse": float(np.sqrt(mse)), "absolute_loss": float(np.mean(np.abs(r)))}


LOSS_KINDS = {"mse", "rmse", "absolute_loss"}


def kind(name):
    return "loss" if name in LOSS_KINDS else "score"
