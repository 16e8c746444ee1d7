"""Running sums for the service's metric names: regressor rmse / mse / absolute_loss, classifier
binary_classification_accuracy / binary_classification_cross_entropy / binary_f_1.000 (threshold 0.5)."""
import numpy as np

F_BETA = 1.0
F_NAME = "binary_f_%.3f" % F_BETA
KIND = {"rmse": "loss", "mse": "loss", "absolute_loss": "loss", "binary_classification_accuracy": "score",
        "binary_classification_cross_entropy": "loss", F_NAME: "score"}
# what the per-batch and per-epoch training lines carry
TRAIN_NAMES = {"regressor": ["rmse"],
               "binary_classifier": ["binary_classification_accuracy", "binary_classification_cross_entropy"]}
TEST_NAMES = {"regressor": ["rmse", "mse", "absolute_loss"],
              "binary_classifier": ["binary_classification_accuracy", "binary_classification_cross_entropy",
                                    F_NAME]}


class Sums:
    """Sufficient statistics of (raw score, label) pairs, summable across hosts (self.v)."""

    def __init__(self, predictor_type):
        self.classifier = predictor_type == "binary_classifier"
        self.v = np.zeros(7, np.float64)  # n, squared error | log loss, abs error, correct, tp, fp, fn

    def add_batch(self, raw, y):
        raw = np.asarray(raw, np.float64).ravel()
        y = np.asarray(y, np.float64).ravel()
        if self.classifier:
            pred = 1.0 / (1.0 + np.exp(-raw)) > 0.5
            pos = y > 0.5
            ce = np.logaddexp(0.0, raw) - y * raw
            self.v += [len(y), ce.sum(), 0.0, (pred == pos).sum(), (pred & pos).sum(), (pred & ~pos).sum(),
                       (~pred & pos).sum()]
        else:
            d = raw - y
            self.v += [len(y), np.dot(d, d), np.abs(d).sum(), 0, 0, 0, 0]
        return self

    def values(self, names):
        n = max(self.v[0], 1.0)
        out = {}
        for name in names:
            if name == "mse":
                out[name] = self.v[1] / n
            elif name == "rmse":
                out[name] = float(np.sqrt(self.v[1] / n))
            elif name == "absolute_loss":
                out[name] = self.v[2] / n
            elif name == "binary_classification_accuracy":
                out[name] = self.v[3] / n
            elif name == "binary_classification_cross_entropy":
                out[name] = self.v[1] / n
            elif name == F_NAME:
                tp, fp, fn = self.v[4], self.v[5], self.v[6]
                b2 = F_BETA * F_BETA
                den = (1 + b2) * tp + b2 * fn + fp
                out[name] = (1 + b2) * tp / den if den else 0.0
        return out
