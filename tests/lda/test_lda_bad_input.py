"""Bad hyperparameters and data: ClientError naming what is wrong."""
import numpy as np
import pytest

import ldadata
from ldadata import SMALL, _hp, make_data
from helpers import job_dir, run_train


@pytest.fixture(scope="module")
def docs():
    cfg = dict(SMALL, docs=300, test_docs=10)
    return make_data(cfg, seed=30)[2]


def _fails(tmp_path, hp, channels):
    job_dir(tmp_path, hp, channels)
    r = run_train(tmp_path, ldadata.ALGO)
    assert r.rc != 0 and r.failure is not None, r.log[-2000:]
    assert r.failure.startswith("ClientError: "), r.failure
    return r.failure


def test_lda_feature_dim_disagrees_with_sparse_data(tmp_path, docs):
    msg = _fails(tmp_path, _hp(SMALL, feature_dim=30), {"train": ldadata.channel(ldadata.recordio_sparse(docs))})
    assert "feature_dim" in msg and "25" in msg and "30" in msg


def test_lda_feature_dim_disagrees_with_csv(tmp_path, docs):
    msg = _fails(tmp_path, _hp(SMALL, feature_dim=20),
                 {"train": ldadata.channel(ldadata.csv_bytes(docs), "text/csv")})
    assert "feature_dim is 20" in msg and "lines 1-300" in msg and "25 words" in msg


def test_lda_num_topics_not_below_vocabulary(tmp_path, docs):
    msg = _fails(tmp_path, _hp(SMALL, num_topics=25), {"train": ldadata.channel(ldadata.recordio_sparse(docs))})
    assert "num_topics" in msg and "feature_dim" in msg


def test_lda_negative_counts(tmp_path, docs):
    X = np.asarray(docs.todense(), np.float32)
    X[123, 7] = -2.0
    msg = _fails(tmp_path, _hp(SMALL), {"train": ldadata.channel(ldadata.recordio_dense(X))})
    assert "record 123" in msg and "negative" in msg


def test_lda_mini_batch_size_is_required(tmp_path, docs):
    hp = _hp(SMALL)
    del hp["mini_batch_size"]
    msg = _fails(tmp_path, hp, {"train": ldadata.channel(ldadata.recordio_sparse(docs))})
    assert "mini_batch_size" in msg


def test_lda_alpha0_must_be_positive(tmp_path, docs):
    msg = _fails(tmp_path, _hp(SMALL, alpha0="0"), {"train": ldadata.channel(ldadata.recordio_sparse(docs))})
    assert "alpha0" in msg
