"""LDA training on documents from known models: topics, priors, pwll, artifact, input formats."""
import os
import re

import mxnet as mx
import numpy as np
import pytest
import yaml

import ldadata
from ldadata import SMALL, _hp, make_data
from containers.lda.likelihood import document_bounds
from helpers import job_dir, run_train


def _pwll(alpha, beta, X):
    bounds, lengths = document_bounds(alpha, beta, X.data, X.indices, X.indptr)
    return bounds.sum() / lengths.sum()


def _sklearn(X, K, alpha0, method, passes):
    from sklearn.decomposition import LatentDirichletAllocation
    sk = LatentDirichletAllocation(n_components=K, doc_topic_prior=alpha0 / K, learning_method=method,
                                   max_iter=passes, random_state=0).fit(X)
    return np.full(K, sk.doc_topic_prior_), sk.components_ / sk.components_.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("which", ["small_model", "large_model"])
def test_lda_topics_match_the_generating_model(which, request):
    m = request.getfixturevalue(which)
    alpha, beta = m.model()
    assert alpha.shape == (m.cfg["K"],) and beta.shape == (m.cfg["K"], m.cfg["V"])
    np.testing.assert_allclose(beta.sum(axis=1), 1.0, rtol=1e-4)
    tv, cols = ldadata.tv_matched(m.beta, beta)
    assert tv.max() <= 0.1, tv
    # the recovered Dirichlet prior: each true alpha_i = alpha0 / K
    np.testing.assert_allclose(alpha[cols], m.alpha, rtol=0.25)


def test_lda_small_pwll_near_truth_and_not_below_sklearn(small_model):
    m = small_model
    alpha, beta = m.model()
    ours, truth = _pwll(alpha, beta, m.test), _pwll(m.alpha, m.beta, m.test)
    assert abs(ours - truth) <= 0.05 * abs(truth)
    sk = _pwll(*_sklearn(m.train, m.cfg["K"], m.cfg["alpha0"], "batch", 10), m.test)
    assert ours >= sk, (ours, sk, truth)


def test_lda_large_pwll_near_truth_and_not_below_sklearn_online(large_model):
    m = large_model
    alpha, beta = m.model()
    ours, truth = _pwll(alpha, beta, m.test), _pwll(m.alpha, m.beta, m.test)
    assert abs(ours - truth) <= 0.05 * abs(truth)
    sk = _pwll(*_sklearn(m.train, m.cfg["K"], m.cfg["alpha0"], "online", 1), m.test)
    assert ours >= sk, (ours, sk, truth)


def test_lda_reported_pwll_is_the_bound_on_the_test_channel(small_model, large_model):
    decl = yaml.safe_load(open(os.path.join(os.path.dirname(ldadata.__file__), "..", "..", "containers",
                                            "lda", "algorithm.yaml")))
    metric = [d for d in decl["metrics"] if d["name"] == "test:pwll"][0]
    assert metric["direction"] == "Maximize"
    for m in (small_model, large_model):
        lines = re.findall(r"#quality_metric: host=algo-1, test pwll <score>=(\S+)", m.result.log)
        assert len(lines) == 1, m.result.log[-2000:]
        alpha, beta = m.model()
        assert float(lines[0]) == pytest.approx(_pwll(alpha, beta, m.test), rel=1e-4)
        assert float(lines[0]) > np.log(1.0 / m.cfg["V"]) + 0.5  # far better than knowing nothing


def test_lda_bound_is_tight_against_monte_carlo():
    """The bound the container reports, checked against log p(doc) by brute-force Monte Carlo."""
    beta, alpha = ldadata.bars(25, 5), np.full(5, 0.2)
    X, _ = ldadata.documents(beta, alpha, 150, 6, seed=3)
    bounds, lengths = document_bounds(alpha, beta, X.data, X.indices, X.indptr)
    exact = ldadata.mc_log_likelihood(alpha, beta, X, samples=40000)
    per_word_mc, per_word_bound = exact.sum() / lengths.sum(), bounds.sum() / lengths.sum()
    assert per_word_bound <= per_word_mc + 0.01
    assert per_word_bound == pytest.approx(per_word_mc, rel=0.02)


def test_lda_artifact_is_an_ndarray_list(small_model):
    path = os.path.join(small_model.result.model_dir, "model_algo-1")
    loaded = mx.nd.load(path)
    assert isinstance(loaded, list) and len(loaded) == 2
    assert loaded[0].shape == (SMALL["K"],) and loaded[1].shape == (SMALL["K"], SMALL["V"])
    assert (loaded[0].asnumpy() > 0).all()


def test_lda_extra_topics_are_filtered_to_num_topics(small_model):
    log = small_model.result.log
    # 25% more computed (7 for 5): the two beyond the data's 5 are noise and dropped
    assert "computing 5 topics" in log


_FORMATS = {
    # the official client's writers: the tensor type follows the numpy dtype
    "recordio_float64_int32": lambda X: ldadata.channel({
        "part-0": ldadata.recordio_dense(np.asarray(X[:700].todense(), np.float64)),
        "part-1": ldadata.recordio_dense(np.asarray(X[700:].todense()).astype(np.int64))}),
    "csv": lambda X: ldadata.channel(ldadata.csv_bytes(X), "text/csv"),
}


@pytest.mark.parametrize("fmt", sorted(_FORMATS))
def test_lda_train_formats(fmt, tmp_path):
    cfg = dict(SMALL, docs=1500)
    beta, alpha, X, _, _ = make_data(cfg, seed=20)
    test = ldadata.documents(beta, alpha, 50, 100, seed=21)[0]
    # hidden names tuning jobs and copied job definitions send are accepted
    hidden = {"_tuning_objective_metric": "test:pwll", "epochs": "1"} if fmt == "csv" else {}
    job_dir(tmp_path, _hp(cfg, **hidden), {"train": _FORMATS[fmt](X),  # Float64 sparse test channel
                                               "test": ldadata.channel(ldadata.recordio_sparse(test, np.float64))})
    r = run_train(tmp_path, ldadata.ALGO)
    assert r.rc == 0, r.log[-2000:]
    a, b = ldadata.load_model(r.model_dir)
    assert ldadata.tv_matched(beta, b)[0].max() <= 0.1
    assert "1500 documents" in r.log
    reported = r.metrics(r"#quality_metric: host=algo-1, test pwll <score>=(\S+)")
    assert reported == [pytest.approx(_pwll(a, b, test), rel=1e-4)]
