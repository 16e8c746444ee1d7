"""Models learned from data drawn from known second-order models, judged against the noise level and
scikit-learn's LogisticRegression."""
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import fmdata

TEST_RMSE = r"#quality_metric: host=algo-1, test rmse <loss>=(\S+)"


def _regressor_quality(m):
    noise = fmdata.rmse(m.yte, m.truth.raw(m.Xte))  # what the best possible model scores on this test set
    logged = m.result.metrics(TEST_RMSE)
    assert len(logged) == 1
    # the logged figure is the artifact's own rmse on the test channel
    ours = fmdata.rmse(m.yte, fmdata.learned(m.model_file).raw(m.Xte))
    assert abs(logged[0] - ours) <= 1e-4 * ours
    print("%s: test rmse %.4f, noise %.4f (x%.3f)" % (m.base, ours, noise, ours / noise))
    assert ours <= 1.10 * noise, (ours, noise)
    # far better than predicting the mean
    assert ours < 0.6 * float(np.std(m.yte))


def test_fm_sparse_regressor_within_10_percent_of_noise(sparse_regressor):
    _regressor_quality(sparse_regressor)


def test_fm_dense_regressor_in_pipe_mode_within_10_percent_of_noise(dense_regressor):
    _regressor_quality(dense_regressor)
    # one FIFO per epoch, each read in full
    assert len(dense_regressor.result.metrics(r"epoch=\d+, train rmse <loss>=(\S+)")) == dense_regressor.hp["epochs"]


def _aucs(m):
    fm_auc = roc_auc_score(m.yte, fmdata.learned(m.model_file).raw(m.Xte))
    lr = LogisticRegression(max_iter=1000).fit(m.Xtr, m.ytr)
    lr_auc = roc_auc_score(m.yte, lr.decision_function(m.Xte))
    best = roc_auc_score(m.yte, m.truth.raw(m.Xte))
    print("%s: AUC fm %.4f, logistic regression %.4f, generating model %.4f" % (m.base, fm_auc, lr_auc, best))
    return fm_auc, lr_auc, best


def test_fm_classifier_beats_logistic_regression_on_interactions(pairs_classifier):
    fm_auc, lr_auc, best = _aucs(pairs_classifier)
    assert lr_auc < 0.6  # the raw features carry no linear signal
    assert fm_auc > lr_auc + 0.2, (fm_auc, lr_auc, best)
    assert fm_auc > best - 0.05


def test_fm_classifier_matches_logistic_regression_when_linear(linear_classifier):
    fm_auc, lr_auc, best = _aucs(linear_classifier)
    assert abs(fm_auc - lr_auc) < 0.02, (fm_auc, lr_auc, best)
