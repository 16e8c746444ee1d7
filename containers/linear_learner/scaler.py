"""Step 1 of "How It Works": feature and label statistics from a sample, for normalisation."""
from dataclasses import dataclass

import numpy as np

from formats.batch import Csr


@dataclass
class Scaler:
    x_mean: np.ndarray
    x_scale: np.ndarray
    y_mean: float = 0.0
    y_scale: float = 1.0
    positive_fraction: float = 0.5
    class_counts: np.ndarray = None

    def to_json(self):
        return {"feature_mean": self.x_mean.tolist(), "feature_scale": self.x_scale.tolist(),
                "label_mean": self.y_mean, "label_scale": self.y_scale}


def fit(batches, dim, opts):
    """Statistics of the sample (a list of Batches). Sparse data is never shifted (it would densify)."""
    dense = all(not isinstance(b.features, Csr) for b in batches)
    x = np.concatenate([b.dense() for b in batches]).astype(np.float64)
    y = np.concatenate([b.labels for b in batches]).astype(np.float64)
    unbias = opts.unbias_data if opts.unbias_data != "auto" else dense
    mean = x.mean(axis=0) if unbias else np.zeros(dim)
    if opts.normalize_data:
        spread = np.sqrt(((x - mean) ** 2).mean(axis=0))
        # constant (or all-zero) columns keep scale 1: dividing by ~0 would blow their weights up
        scale = np.where(spread > 1e-8, spread, 1.0)
    else:
        scale = np.ones(dim)
    s = Scaler(mean.astype(np.float32), scale.astype(np.float32))
    if opts.unbias_label:
        s.y_mean = float(y.mean())
    if opts.normalize_label:
        sd = float(np.sqrt(((y - s.y_mean) ** 2).mean()))
        s.y_scale = sd if sd > 1e-8 else 1.0
    if opts.predictor_type == "binary_classifier":
        s.positive_fraction = float((y > 0.5).mean())
    if opts.predictor_type == "multiclass_classifier":
        s.class_counts = np.bincount(y.astype(np.int64), minlength=opts.outputs).astype(np.float64)
    return s
