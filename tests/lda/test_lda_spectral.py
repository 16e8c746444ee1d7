"""The spectral estimator in-process: the guide's extra topics and the largest-prior filter."""
import numpy as np

import ldadata
from containers.lda import moments, spectral
from formats import Csr


def _fit(X, K, alpha0, V):
    mp, corpus = moments.MomentPass(V, spectral.sketch_width(K, V), alpha0), moments.Corpus(V)
    for s in range(0, X.shape[0], 4096):
        x = X[s:s + 4096]
        x_csr = Csr(x.data, x.indices.astype(np.int64), x.indptr.astype(np.int64), x.shape)
        chunk = moments.Chunk(x_csr)
        mp.add(chunk, x_csr)
        corpus.add(chunk)
    return spectral.fit(mp, corpus, K, 10, 1000, 1e-8)


def test_lda_more_topics_in_the_data_keeps_the_largest_priors():
    """Six topics generate the data, five are asked for: the weakest (smallest alpha) is the one left out."""
    V = 30
    beta = ldadata.bars(V, 6)
    alpha = np.array([0.3, 0.25, 0.2, 0.15, 0.07, 0.03])
    X, _ = ldadata.documents(beta, alpha, 8000, 150, seed=7)
    a, b, _ = _fit(X, 5, alpha.sum(), V)
    tv, cols = ldadata.tv_matched(beta[:5], b)
    assert tv.max() <= 0.1, tv
    np.testing.assert_allclose(a[cols], alpha[:5], rtol=0.3)
    # the left-out topic is far from every returned one
    assert (0.5 * np.abs(b - beta[5]).sum(axis=1)).min() > 0.5


def test_lda_simplex_projection_is_the_euclidean_one():
    rng = np.random.RandomState(0)
    raw = rng.standard_normal((6, 40)) * 0.05 + 1.0 / 40
    got = spectral._to_simplex(raw)
    np.testing.assert_allclose(got.sum(axis=1), 1.0)
    # KKT of min ||p - raw||^2 on the simplex: p = max(raw - tau, 0), up to the tiny word floor
    for p, r in zip(got, raw):
        support = p > 1e-5
        tau = (r[support] - p[support]).mean()
        np.testing.assert_allclose(p[support], r[support] - tau, atol=1e-5)
        assert (r[~support] <= tau + 1e-5).all()


def test_lda_inference_sparse_and_dense_forms_agree(monkeypatch):
    """The two forms of the mixture EM (chosen by density) give the same maximiser, near the truth."""
    from containers.lda import inference
    beta = ldadata.bars(2000, 10)
    alpha = np.full(10, 0.1)
    X, theta = ldadata.documents(beta, alpha, 300, 200, seed=9)
    args = (X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64), X.shape[0])
    solver = inference.MixtureSolver(beta)
    monkeypatch.setattr(inference, "DENSE_ABOVE", 2.0)
    sparse = solver.solve(*args)
    monkeypatch.setattr(inference, "DENSE_ABOVE", 0.0)
    monkeypatch.setattr(inference, "BLOCK_CELLS", 50 * 2000)  # several blocks
    dense = solver.solve(*args)
    np.testing.assert_allclose(sparse, dense, atol=2e-3)
    err = 0.5 * np.abs(sparse - theta).sum(axis=1)
    assert err.mean() <= 0.1
