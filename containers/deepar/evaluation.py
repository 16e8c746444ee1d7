"""Test-channel accuracy as the guide defines it: forecast the last prediction_length points of each test
series from what precedes them; RMSE of the sample mean, and weighted quantile losses
wQuantileLoss[tau] = 2 * sum Q / sum |y| over every (series, time point) observed."""
import numpy as np


def split(series, schema):
    """(input entries without the last prediction_length points, truths) for test series."""
    p = schema.prediction_length
    entries, truths = [], []
    for s in series:
        e = schema.entry(s)
        e["target"] = s.target[:-p]
        entries.append(e)
        truths.append(s.target[-p:])
    return entries, np.stack(truths).astype(np.float64)


def quantile(sorted_samples, q):
    """GluonTS's sample quantile: the sorted sample of rank round((n - 1) * q), per time point."""
    return sorted_samples[int(np.round((sorted_samples.shape[0] - 1) * q))]


def scores(sample_sets, truths, quantiles):
    """sample_sets: per series (num_samples, T). Returns {"RMSE", "wQuantileLoss[tau]"..., "mean_wQuantileLoss"}."""
    sorted_sets = [np.sort(s, axis=0) for s in sample_sets]
    means = np.stack([s.mean(axis=0) for s in sample_sets]).astype(np.float64)
    observed = ~np.isnan(truths)
    y = np.where(observed, truths, 0.0)
    out = {"RMSE": float(np.sqrt(((means - y) ** 2)[observed].mean()))}
    denom = np.abs(y[observed]).sum()
    losses = []
    for q in quantiles:
        qs = np.stack([quantile(s, q) for s in sorted_sets]).astype(np.float64)
        loss = np.where(qs > y, (1 - q) * (qs - y), q * (y - qs))[observed].sum()
        w = float(2 * loss / denom) if denom > 0 else float("nan")
        out["wQuantileLoss[%s]" % q] = w
        losses.append(w)
    out["mean_wQuantileLoss"] = float(np.mean(losses))
    return out
