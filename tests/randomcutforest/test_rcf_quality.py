"""Scores against krcf (a port of AWS's RCF) on data with planted anomalies, and krcf's own trees
scored by our server to the last digit."""
import os

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

import rcf_krcf
import rcfdata
from rcfdata import scores_of
from containers.randomcutforest import artifact
from helpers import served


@pytest.mark.parametrize("name", ["sine", "mixture"])
def test_rcf_auc_and_ranking_agree_with_krcf(models, name):
    m = models[name]
    ours = scores_of(m.server, m.Xte)
    ref = m.krcf_scores
    auc, auc_ref = roc_auc_score(m.yte, ours), roc_auc_score(m.yte, ref)
    assert auc > 0.9, (auc, auc_ref)
    assert abs(auc - auc_ref) <= 0.02, (auc, auc_ref)
    assert spearmanr(ours, ref)[0] >= 0.9


@pytest.mark.parametrize("name", ["sine", "mixture"])
def test_rcf_ordinary_points_score_about_one_and_anomalies_several_times_more(models, name):
    m = models[name]
    ours = scores_of(m.server, m.Xte)
    normal = np.median(ours[m.yte == 0])
    assert 0.5 <= normal <= 2.0
    # krcf's scale: the same median within 10%
    assert abs(normal / np.median(m.krcf_scores[m.yte == 0]) - 1) < 0.1
    if name == "mixture":  # outliers far from every cluster
        assert np.median(ours[m.yte == 1]) > 2.5 * normal


@pytest.mark.parametrize("dim,duplicates", [(3, False), (1, True)])
def test_rcf_krcf_trees_score_the_same_through_our_server(tmp_path, dim, duplicates):
    rng = np.random.default_rng(dim)
    X = rng.normal(size=(3000, dim))
    if duplicates:  # leaves holding several equal points, and queries equal to a sampled point
        X = np.round(X, 1)
    kf = rcf_krcf.trained(X, 50, 64)
    forest = rcf_krcf.as_forest(kf)
    if duplicates:
        assert forest.mass[forest.left < 0].max() > 1
    os.makedirs(tmp_path / "model")
    artifact.save(forest, str(tmp_path / "model" / artifact.MODEL_FILE))
    Q = np.concatenate([rng.normal(size=(200, dim)) * 2, X[-100:], X[:10] + 10]).astype(np.float32)
    with served(tmp_path, rcfdata.ALGO) as server:
        ours = scores_of(server, Q)
    np.testing.assert_allclose(ours, rcf_krcf.scores(kf, Q), rtol=1e-5)
