"""PCA through the real `train` program against scikit-learn's PCA and numpy's SVD on digits."""
import os

import mxnet as mx
import numpy as np
import pytest

from helpers import feed_pipe, job_dir, run_train
from pcadata import (ALGO, K, RECORDIO, captured_variance, csv, dense_recordio, digits, max_angle,
                     sklearn_pca, sparse_recordio)


def _train(base, hp, channels):
    job_dir(base, hp, channels)
    r = run_train(base, ALGO)
    assert r.rc == 0, r.log[-3000:]
    arrays = mx.nd.load(os.path.join(r.model_dir, "model_algo-1"))
    return r, {k: v.asnumpy() for k, v in arrays.items()}


def test_regular_mode_matches_sklearn(regular_model):
    X, m = regular_model.X, regular_model.arrays
    ref = sklearn_pca(X)
    # the service's layout: float32 mean (1, d), s (k,), v (d, k)
    assert sorted(m) == ["mean", "s", "v"]
    assert {k: (a.shape, a.dtype) for k, a in m.items()} == {
        "mean": ((1, 64), np.float32), "s": ((K,), np.float32), "v": ((64, K), np.float32)}
    assert max_angle(m["v"], ref.components_.T) < 1e-3
    # ascending order: s[-1] is the largest, and column j of v is sklearn's component K-1-j
    assert list(m["s"]) == sorted(m["s"])
    np.testing.assert_allclose(m["s"][::-1], ref.singular_values_, rtol=1e-4)
    cos = np.abs(np.sum(m["v"][:, ::-1] * ref.components_.T, axis=0))
    assert cos.min() > 1 - 1e-4
    np.testing.assert_allclose(m["mean"][0], X.mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(m["v"].T @ m["v"], np.eye(K), atol=1e-5)
    log = regular_model.result.log
    assert "#progress_metric: host=algo-1, completed 100.0 % of epochs" in log
    (tp,) = regular_model.result.metrics(r"#throughput_metric: host=algo-1, train throughput=(\S+) records/second")
    assert tp > 0
    # the test channel is scored: reconstruction error of the test rows under the model
    (mse,) = regular_model.result.metrics(r"test: 297 records, mean squared reconstruction error (\S+),")
    Xt = X[1500:].astype(np.float64) - m["mean"]
    expected = ((Xt - Xt @ m["v"] @ m["v"].T) ** 2).sum(1).mean()
    assert mse == pytest.approx(expected, rel=1e-4)


def test_randomized_mode_keeps_the_variance_sklearn_keeps(tmp_path):
    """Int32 tensors (the client writes int64 arrays so), Pipe mode, default extra_components."""
    X = digits()
    base = str(tmp_path)
    job_dir(base, {"feature_dim": 64, "num_components": K, "mini_batch_size": 100,
                   "algorithm_mode": "randomized"}, {"train": {"content_type": RECORDIO, "mode": "Pipe"}})
    feeder = feed_pipe(base, "train", dense_recordio(X))
    r = run_train(base, ALGO, timeout=120)
    feeder.join(10)
    assert r.rc == 0, r.log[-3000:]
    m = {k: v.asnumpy() for k, v in mx.nd.load(os.path.join(r.model_dir, "model_algo-1")).items()}
    ref = sklearn_pca(X)
    assert m["v"].shape == (64, K)
    ours = captured_variance(X, m["v"], m["mean"])
    assert abs(ours / ref.explained_variance_ratio_.sum() - 1) < 0.01
    # s estimates the centred data's singular values
    np.testing.assert_allclose(m["s"][::-1], ref.singular_values_, rtol=0.02)
    assert "randomized mode: sketch of 64 x 20" in r.log  # ℓ = 10 + max(10, 10)


def test_uncentred_matches_numpy_svd_from_csv(tmp_path):
    X = digits().astype(np.float64)
    r, m = _train(tmp_path, {"feature_dim": 64, "num_components": K, "mini_batch_size": 256,
                             "subtract_mean": "False"},
                  {"train": {"content_type": "text/csv;label_size=0", "files": {"d.csv": csv(X)}}})
    _, sv, vt = np.linalg.svd(X, full_matrices=False)
    assert max_angle(m["v"], vt[:K].T) < 1e-3
    np.testing.assert_allclose(m["s"][::-1], sv[:K], rtol=1e-4)
    assert not m["mean"].any()  # nothing is subtracted at inference


def test_sparse_float64_recordio_regular(tmp_path):
    X = digits().astype(np.float64)
    r, m = _train(tmp_path, {"feature_dim": 64, "num_components": K, "mini_batch_size": 300},
                  {"train": {"content_type": RECORDIO, "files": {"s.pbr": sparse_recordio(X)}}})
    ref = sklearn_pca(X)
    assert max_angle(m["v"], ref.components_.T) < 1e-3
    np.testing.assert_allclose(m["s"][::-1], ref.singular_values_, rtol=1e-4)
    np.testing.assert_allclose(m["mean"][0], X.mean(0), rtol=1e-5, atol=1e-5)


def test_sparse_randomized(tmp_path):
    X = digits().astype(np.float32)
    r, m = _train(tmp_path, {"feature_dim": 64, "num_components": 5, "mini_batch_size": 300,
                             "algorithm_mode": "randomized", "extra_components": 15},
                  {"train": {"content_type": RECORDIO, "files": {"s.pbr": sparse_recordio(X)}}})
    ref = sklearn_pca(X, 5)
    assert abs(captured_variance(X, m["v"], m["mean"]) / ref.explained_variance_ratio_.sum() - 1) < 0.01
    np.testing.assert_allclose(m["mean"][0], X.mean(0), rtol=1e-5, atol=1e-5)


def test_large_offset_keeps_the_centred_precision(tmp_path):
    """Features near 10,000 with a spread of a few units: float32 sums of x xᵀ alone would lose it."""
    X = digits().astype(np.float64) + 10000.0
    r, m = _train(tmp_path, {"feature_dim": 64, "num_components": K, "mini_batch_size": 500},
                  {"train": {"content_type": RECORDIO, "files": {"o.pbr": dense_recordio(X.astype(np.float32))}}})
    ref = sklearn_pca(X.astype(np.float32))
    assert max_angle(m["v"], ref.components_.T) < 1e-3
    np.testing.assert_allclose(m["s"][::-1], ref.singular_values_, rtol=1e-4)
