"""The image's own evaluation metrics (eval_metric=accuracy, f1, r2, ...), beside xgboost's.

Computed from sufficient statistics (a confusion matrix; sums of errors), so that on several hosts an
allreduce of those gives the metric over all the data, the same on every host (early stopping on it
must stop every host at the same round). Definitions are scikit-learn's, as the image uses: `f1`,
`*_macro` average over the labels present in the truth or the predictions, `precision`, `recall` and
`f1_binary` are for class 1 of a binary problem, a division by zero gives 0.

Predicted labels are what the objective predicts: probabilities > 0.5 (binary:logistic, reg:logistic),
margins > 0 (binary:logitraw and the rest), the argmax of multi:softprob, the class of multi:softmax.
(The image's code compares with 0 whatever it gets: written for margins, and today's xgboost hands
custom metrics probabilities, so under it binary accuracy counts every record as class 1.)
"""
import numpy as np

CLASSIFICATION = ["accuracy", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "precision",
                  "precision_macro", "precision_micro", "recall", "recall_macro", "recall_micro"]
REGRESSION = ["mse", "r2"]
# rmse and mae are also the image's custom metrics; xgboost's own (weighted, already distributed) are used
NAMES = CLASSIFICATION + REGRESSION
MAXIMIZE = set(CLASSIFICATION) | {"r2"}
BINARY_ONLY = {"precision", "recall", "f1_binary"}


class MetricError(ValueError):
    pass


def predicted_labels(objective, preds):
    preds = np.asarray(preds)
    if preds.ndim == 2 and preds.shape[1] > 1:
        return np.argmax(preds, axis=1)
    preds = preds.reshape(-1)
    if objective == "multi:softmax":
        return np.rint(preds).astype(np.int64)
    if objective in ("binary:logistic", "reg:logistic", "binary:hinge"):
        return (preds > 0.5).astype(np.int64)
    return (preds > 0).astype(np.int64)


def confusion(labels, predicted, size):
    truth = np.rint(np.asarray(labels)).astype(np.int64)
    if len(truth) and (truth.min() < 0 or truth.max() >= size):
        raise MetricError("classification metrics need class labels 0..%d; found label %g"
                          % (size - 1, truth.min() if truth.min() < 0 else truth.max()))
    c = np.zeros((size, size), dtype=np.float64)
    np.add.at(c, (truth, np.clip(predicted, 0, size - 1)), 1)
    return c


def _div(a, b):
    return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b != 0)


def from_confusion(name, c):
    tp = np.diag(c)
    actual, guessed, total = c.sum(axis=1), c.sum(axis=0), c.sum()
    present = (actual + guessed) > 0  # scikit-learn's labels: in the truth or the predictions
    if name in BINARY_ONLY and present[2:].any():
        raise MetricError("Target is multiclass but average='binary': eval_metric %s is for binary "
                          "classification; use %s_macro or %s_micro" % (name, name.split("_")[0], name.split("_")[0]))
    if name in ("accuracy", "precision_micro", "recall_micro"):
        return float(_div(np.array(tp.sum()), np.array(total)))
    if name == "balanced_accuracy":
        seen = actual > 0
        return float(np.mean(tp[seen] / actual[seen])) if seen.any() else 0.0
    precision, recall = _div(tp, guessed), _div(tp, actual)
    f1 = _div(2 * tp, actual + guessed)
    if name == "precision":
        return float(precision[1])
    if name == "recall":
        return float(recall[1])
    if name == "f1_binary":
        return float(f1[1])
    per_class = {"f1": f1, "f1_macro": f1, "precision_macro": precision, "recall_macro": recall}[name]
    return float(per_class[present].mean()) if present.any() else 0.0


def regression_sums(labels, preds):
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(preds, dtype=np.float64).reshape(len(y), -1)[:, 0] if len(y) else np.zeros(0)
    return np.array([len(y), ((y - p) ** 2).sum(), y.sum(), (y ** 2).sum()])


def from_sums(name, s):
    n, sse, sy, syy = s
    if n == 0:
        return 0.0
    if name == "mse":
        return float(sse / n)
    sst = syy - sy * sy / n
    if sst <= 1e-12 * max(syy, 1.0):
        return 1.0 if sse == 0 else 0.0  # scikit-learn's r2 on constant labels
    return float(1 - sse / sst)


def evaluator(names, objective, num_class, allreduce=None):
    """custom_metric for xgboost.train: [(name, value), ...] for the asked metrics, in order.

    allreduce(array) -> the element-wise sum over every host (None on one host)."""
    size = num_class if objective.startswith("multi:") and num_class else 2

    def reduce(a):
        return a if allreduce is None else allreduce(a)

    def evaluate(preds, dmatrix):
        labels = dmatrix.get_label()
        out = []
        c = s = None
        for name in names:
            if name in CLASSIFICATION:
                if c is None:
                    c = reduce(confusion(labels, predicted_labels(objective, preds), size))
                out.append((name, from_confusion(name, c)))
            else:
                if s is None:
                    s = reduce(regression_sums(labels, preds))
                out.append((name, from_sums(name, s)))
        return out

    return evaluate
