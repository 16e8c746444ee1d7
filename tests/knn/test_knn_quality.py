"""Answers against scikit-learn's exact k-NN (Flat L2), the definitions of cosine similarity and
inner product, and Flat's own accuracy (IVF indexes, dimension reduction)."""
import json

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from knn_data import K, csv_bytes, oracle, untied, vote_untied

ACC = r"#quality_metric: host=\S+, test accuracy <score>=(\S+)"


def _verbose(model, X):
    r = model.server.post(csv_bytes(X), "text/csv", "application/json; verbose=true")
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    return (np.array([p["predicted_label"] for p in preds]), np.array([p["labels"] for p in preds]),
            np.array([p["distances"] for p in preds]))


def _accuracy(model):
    assert model.result.rc == 0, model.log[-3000:]
    found = model.result.metrics(ACC)
    assert len(found) == 1, model.log[-2000:]
    return found[0]


def test_flat_l2_classifier_equals_scikit_learn(models, data):
    Xtr, Xte, ytr, yte = data["digits"]
    model = models["flat"]
    assert model.result.rc == 0, model.log[-3000:]
    pred, labels, dist = _verbose(model, Xte)
    od, oi = oracle(Xtr, Xte, K)
    # FAISS's L2 distances are squared; every row's k distances are the exact ones, ties or not
    np.testing.assert_allclose(dist, od[:, :K] ** 2, rtol=1e-4, atol=1e-3)
    clean = untied(od, K)
    assert clean.mean() > 0.5
    np.testing.assert_array_equal(labels[clean], ytr[oi[clean, :K]])
    sk = KNeighborsClassifier(n_neighbors=K, algorithm="brute").fit(Xtr, ytr).predict(Xte)
    same = clean & vote_untied(ytr[oi[:, :K]])
    assert same.mean() > 0.5
    np.testing.assert_array_equal(pred[same], sk[same])
    # the logged test accuracy is that of these answers
    assert _accuracy(model) == pytest.approx(np.mean(pred == yte))
    assert abs(_accuracy(model) - np.mean(sk == yte)) <= 0.01


def test_vote_ties_go_to_the_nearest_label(edited, data):
    Xtr, Xte, ytr, _ = data["digits"]
    # k=4 written into the model's JSON: 2-2 splits happen
    pred, labels, _ = _verbose(edited(k=4), Xte)
    assert labels.shape == (len(Xte), 4)
    tied = ~vote_untied(labels)
    assert tied.sum() >= 5
    for row_pred, row in zip(pred[tied], labels[tied]):
        values, counts = np.unique(row, return_counts=True)
        top = set(values[counts == counts.max()])
        assert row_pred == next(v for v in row if v in top)
    # majority everywhere else
    for row_pred, row in zip(pred[~tied], labels[~tied]):
        values, counts = np.unique(row, return_counts=True)
        assert row_pred == values[np.argmax(counts)]


def test_flat_l2_regressor_equals_scikit_learn(models, data):
    Xtr, Xte, ytr, yte = data["diabetes"]
    model = models["regressor"]
    assert model.result.rc == 0, model.log[-3000:]
    pred, labels, dist = _verbose(model, Xte)
    od, oi = oracle(Xtr, Xte, K)
    np.testing.assert_allclose(dist, od[:, :K] ** 2, rtol=1e-3, atol=1e-6)
    clean = untied(od, K)
    assert clean.mean() > 0.9
    sk = KNeighborsRegressor(n_neighbors=K, algorithm="brute").fit(Xtr, ytr).predict(Xte)
    np.testing.assert_allclose(pred[clean], sk[clean], rtol=1e-5)
    np.testing.assert_allclose(pred, labels.mean(axis=1), rtol=1e-5)
    mse = model.result.metrics(r"#quality_metric: host=\S+, test mse <loss>=(\S+)")
    assert mse == [pytest.approx(float(np.mean((pred.astype(np.float64) - yte) ** 2)), rel=1e-5)]


@pytest.mark.parametrize("name", ["ivfflat", "ivfpq"])
def test_ivf_indexes_within_two_points_of_flat(models, name):
    flat, ivf = _accuracy(models["flat"]), _accuracy(models[name])
    assert ivf >= flat - 0.02, (name, ivf, flat)
    assert "Training index: %s" % {"ivfflat": "faiss.IVFFlat", "ivfpq": "faiss.IVFPQ"}[name] in models[name].log


def test_cosine_ranks_by_cosine_similarity(models, data):
    Xtr, Xte, ytr, _ = data["digits"]
    model = models["cosine"]
    assert json.load(open(model.model_dir + "/model_algo-1.json"))["normalize"] is True
    _, labels, sims = _verbose(model, Xte)
    a = Xtr / np.linalg.norm(Xtr, axis=1, keepdims=True)
    b = Xte / np.linalg.norm(Xte, axis=1, keepdims=True)
    want = -np.sort(-(b.astype(np.float64) @ a.T.astype(np.float64)), axis=1)[:, :K]
    # similarities, largest first
    np.testing.assert_allclose(sims, want, atol=1e-5)
    od, oi = oracle(Xtr, Xte, K, metric="cosine")
    clean = untied(od, K)
    np.testing.assert_array_equal(labels[clean], ytr[oi[clean, :K]])


def test_inner_product_ranks_by_inner_product(models, data):
    Xtr, Xte, ytr, _ = data["digits"]
    import faiss
    model = models["inner"]
    assert model.result.rc == 0, model.log[-3000:]
    stored = faiss.read_index(model.model_dir + "/model_algo-1")
    rows = stored.reconstruct_n(0, stored.ntotal)
    _, labels, ips = _verbose(model, Xte)
    want = -np.sort(-(Xte.astype(np.float64) @ rows.T.astype(np.float64)), axis=1)[:, :K]
    np.testing.assert_allclose(ips, want, rtol=1e-6)
    assert (np.diff(ips, axis=1) <= 0).all()


@pytest.mark.parametrize("name", ["sign", "fjlt"])
def test_reduction_to_half_width_within_five_points(models, name):
    model = models[name]
    assert _accuracy(model) >= _accuracy(models["flat"]) - 0.05
    meta = json.load(open(model.model_dir + "/model_algo-1.json"))
    red = meta["dimension_reduction"]
    assert red["type"] == name and red["input_dim"] == 64 and red["target_dim"] == 32
    assert isinstance(red["seed"], int)
