"""The artifact's three files, the metric lines and their declared regexes, sampling, and the
hyperparameter rules of the guide and the official client."""
import json
import os
import re

import faiss
import numpy as np
import pytest
import yaml

from containers.knn.projection import Projection
from containers.knn.sampling import Reservoir, per_host_sizes
from helpers import job_dir, start_train, TrainResult
from knn_data import ALGO, CSV, RIO, channel, csv_bytes, digits

DECL = yaml.safe_load(open(os.path.join(os.path.dirname(__file__), "..", "..", "containers", "knn",
                                        "algorithm.yaml")))


def test_artifact_is_index_labels_and_json(models, data):
    Xtr, _, ytr, _ = data["digits"]
    model = models["flat"]
    assert sorted(os.listdir(model.model_dir)) == ["model_algo-1", "model_algo-1.json", "model_algo-1.labels"]
    index = faiss.read_index(os.path.join(model.model_dir, "model_algo-1"))
    assert isinstance(index, faiss.IndexFlatL2) and index.ntotal == len(Xtr) and index.d == 64
    labels = np.fromfile(os.path.join(model.model_dir, "model_algo-1.labels"), dtype=np.float32)
    assert os.path.getsize(os.path.join(model.model_dir, "model_algo-1.labels")) == 4 * len(Xtr)
    # a sample as large as the data keeps every record in reading order
    np.testing.assert_array_equal(labels, ytr)
    np.testing.assert_array_equal(index.reconstruct_n(0, index.ntotal), Xtr)
    meta = json.load(open(os.path.join(model.model_dir, "model_algo-1.json")))
    assert meta == {"k": 5, "predictor_type": "classifier", "dimension_reduction": None,
                    "normalize": False, "version": "1.0"}


def test_ivf_artifacts_keep_lists_and_nprobe(models):
    ivf = faiss.read_index(os.path.join(models["ivfflat"].model_dir, "model_algo-1"))
    assert isinstance(ivf, faiss.IndexIVFFlat)
    assert ivf.nlist == round(1300 ** 0.5) and ivf.nprobe == 5 and ivf.ntotal == 1300
    pq = faiss.read_index(os.path.join(models["ivfpq"].model_dir, "model_algo-1"))
    assert isinstance(pq, faiss.IndexIVFPQ) and pq.pq.M == 16 and pq.d == 64


def test_a_smaller_sample_keeps_rows_with_their_labels(models, data):
    Xtr, _, ytr, _ = data["digits"]
    d = models["inner"].model_dir
    index = faiss.read_index(os.path.join(d, "model_algo-1"))
    labels = np.fromfile(os.path.join(d, "model_algo-1.labels"), dtype=np.float32)
    assert index.ntotal == len(labels) == 1000
    rows = index.reconstruct_n(0, index.ntotal)
    where = {r.tobytes(): i for i, r in enumerate(Xtr)}
    found = [where.get(r.tobytes()) for r in rows]
    assert None not in found and len(set(found)) == 1000  # digits has no duplicate rows
    np.testing.assert_array_equal(labels, ytr[found])


def test_metric_lines_match_the_declared_regexes(models):
    from contract.declaration import metric_regex
    regex = {m["name"]: metric_regex(m) for m in DECL["metrics"]}
    cls, reg = models["flat"].log, models["regressor"].log
    acc = [float(v) for v in re.findall(regex["test:accuracy"], cls)]
    f1 = [float(v) for v in re.findall(regex["test:macro_f_1.000"], cls)]
    assert len(acc) == 1 and len(f1) == 1 and 0.9 < acc[0] <= 1 and 0.9 < f1[0] <= 1
    assert re.search(r"#test_score \(algo-1\) : \('accuracy', %s\)" % re.escape(repr(acc[0])), cls)
    assert re.search(r"#test_score \(algo-1\) : \('macro_f_1\.000', ", cls)
    mse = [float(v) for v in re.findall(regex["test:mse"], reg)]
    assert len(mse) == 1 and mse[0] > 0
    assert re.search(r"#test_score \(algo-1\) : \('mse', %s\)" % re.escape(repr(mse[0])), reg)
    assert not re.findall(regex["test:accuracy"], reg) and not re.findall(regex["test:mse"], cls)
    assert float(re.findall(regex["train:progress"], cls)[-1]) == 100.0
    assert float(re.findall(regex["train:throughput"], cls)[0]) > 0
    directions = {m["name"]: m["direction"] for m in DECL["metrics"]}
    assert directions["test:accuracy"] == "Maximize" and directions["test:mse"] == "Minimize"


def test_macro_f1_equals_scikit_learn(models, data):
    from sklearn.metrics import f1_score
    _, Xte, _, yte = data["digits"]
    r = models["flat"].server.post(csv_bytes(Xte), "text/csv")
    pred = [p["predicted_label"] for p in r.json()["predictions"]]
    f1 = models["flat"].result.metrics(r"test macro_f_1\.000 <score>=(\S+)")
    assert f1 == [pytest.approx(f1_score(yte, pred, average="macro"), rel=1e-9)]


def test_sample_size_above_the_data_warns_and_keeps_everything(models, data):
    model = models["regressor"]  # trained through a Pipe-mode CSV channel
    assert model.result.rc == 0, model.log[-3000:]
    assert "sample_size 100000 is larger than the 350 records" in model.log
    labels = np.fromfile(os.path.join(model.model_dir, "model_algo-1.labels"), dtype=np.float32)
    np.testing.assert_array_equal(labels, data["diabetes"][2])


def test_reservoir_is_uniform():
    n, size, runs = 60, 12, 3000
    hits = np.zeros(n)
    for seed in range(runs):
        r = Reservoir(size, seed=seed)
        for s in range(0, n, 7):  # batches of 7 straddle the filling point
            rows = np.arange(s, min(s + 7, n), dtype=np.float32)
            r.offer(rows[:, None], rows)
        x, y = r.sample()
        assert len(x) == size and len(set(y)) == size and (x[:, 0] == y).all()
        hits[y.astype(int)] += 1
    p = size / n
    sd = np.sqrt(p * (1 - p) / runs)
    assert np.abs(hits / runs - p).max() < 5 * sd
    assert per_host_sizes(301, 2) == [151, 150] and sum(per_host_sizes(10, 3)) == 10


@pytest.mark.parametrize("kind", ["sign", "fjlt"])
def test_projections_preserve_distances_and_follow_the_seed(kind):
    rng = np.random.RandomState(0)
    x = rng.randn(200, 100).astype(np.float32)
    p = Projection(kind, 7, 100, 60)
    y = p(x)
    assert y.shape == (200, 60)
    np.testing.assert_array_equal(Projection(kind, 7, 100, 60)(x), y)
    assert not np.allclose(Projection(kind, 8, 100, 60)(x), y)
    dx = ((x[:100] - x[100:]) ** 2).sum(1)
    dy = ((y[:100] - y[100:]) ** 2).sum(1)
    assert abs(np.mean(dy / dx) - 1) < 0.05 and np.std(dy / dx) < 0.35
    # inner products: unbiased, error about sqrt((1 + cos^2) / target) of |a||b|
    ip_x, ip_y = (x[:100] * x[100:]).sum(1), (y[:100] * y[100:]).sum(1)
    err = (ip_y - ip_x) / (np.linalg.norm(x[:100], axis=1) * np.linalg.norm(x[100:], axis=1))
    assert abs(err.mean()) < 0.05 and err.std() < 0.25


# ---- bad input ------------------------------------------------------------------------------------

BASE = {"feature_dim": 64, "k": 5, "predictor_type": "classifier", "sample_size": 300}
BAD = {
    "ivfpq_cosine": (dict(BASE, index_type="faiss.IVFPQ", index_metric="COSINE"), RIO, "index_metric"),
    "ivfpq_inner": (dict(BASE, index_type="faiss.IVFPQ", index_metric="INNER_PRODUCT"), RIO, "index_metric"),
    "type_without_target": (dict(BASE, dimension_reduction_type="sign"), RIO, "dimension_reduction_target"),
    "target_too_wide": (dict(BASE, dimension_reduction_type="fjlt", dimension_reduction_target=64), RIO,
                        "dimension_reduction_target"),
    "nlists_above_sample": (dict(BASE, index_type="faiss.IVFFlat", faiss_index_ivf_nlists=400), RIO,
                            "faiss_index_ivf_nlists"),
    "pq_m_above_width": (dict(BASE, index_type="faiss.IVFPQ", faiss_index_pq_m=96), RIO, "faiss_index_pq_m"),
    "pq_m_raises_target_too_far": (dict(BASE, index_type="faiss.IVFPQ", faiss_index_pq_m=48,
                                        dimension_reduction_type="sign", dimension_reduction_target=60), RIO,
                                   "faiss_index_pq_m"),
    "pq_m_not_listed": (dict(BASE, index_type="faiss.IVFPQ", faiss_index_pq_m=5), RIO, "faiss_index_pq_m"),
    "bad_predictor_type": (dict(BASE, predictor_type="binary_classifier"), RIO, "predictor_type"),
    "missing_k": ({k: v for k, v in BASE.items() if k != "k"}, RIO, "k"),
    "no_labels": (BASE, CSV + ";label_size=0", "no label"),
    "wrong_width": (dict(BASE, feature_dim=63), CSV, "line 1"),
    "nan_feature": (BASE, CSV + ";nan", "record 17 has a feature"),
}


@pytest.fixture(scope="module")
def failures(tmp_path_factory):
    X, _, y, _ = digits()
    procs = {}
    for name, (hp, ctype, _) in BAD.items():
        rows = X[:300].copy()
        rows[17, 3] = np.nan if ctype.endswith(";nan") else rows[17, 3]
        ctype = ctype.replace(";nan", "")
        ch = channel(rows, None if "label_size=0" in ctype else y[:300], ctype)
        base = job_dir(tmp_path_factory.mktemp("knn-bad-" + name), hp, {"train": ch})
        procs[name] = (base, start_train(base, ALGO))
    out = {}
    for name, (base, p) in procs.items():
        out[name] = TrainResult(base, p.returncode if p.wait(120) is not None else None,
                                p.communicate()[0].decode("utf-8", "replace"))
    return out


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_a_client_error_naming_it(failures, name):
    r = failures[name]
    assert r.rc != 0, r.log[-2000:]
    assert r.failure and r.failure.startswith("ClientError: "), (r.failure, r.log[-2000:])
    assert BAD[name][2] in r.failure, r.failure
    assert not os.path.isdir(r.model_dir) or not os.listdir(r.model_dir)


def test_what_the_official_client_sends_is_accepted():
    from contract.declaration import validate
    from helpers import client_session
    from sagemaker.amazon.knn import KNN
    est = KNN(role="r", instance_count=1, instance_type="ml.m5.xlarge", k=5, sample_size=100,
              predictor_type="classifier", dimension_reduction_type="fjlt", dimension_reduction_target=8,
              index_type="faiss.IVFPQ", index_metric="L2", faiss_index_ivf_nlists="auto", faiss_index_pq_m=4,
              sagemaker_session=client_session())
    sent = dict(est.hyperparameters(), feature_dim="64", mini_batch_size="5000")  # fit() adds these
    # and what the service's default-conf.json carries (HPO adds _tuning_objective_metric)
    sent.update({"epochs": "1", "_kvstore": "dist_async", "_faiss_index_nprobe": "7",
                 "_tuning_objective_metric": "test:accuracy", "_num_gpus": "auto"})
    hp = validate(DECL["hyperparameters"], sent, DECL.get("ignored", ()))
    assert hp["faiss_index_ivf_nlists"] == "auto" and hp["faiss_index_pq_m"] == 4
    assert hp["_faiss_index_nprobe"] == 7 and hp["dimension_reduction_target"] == 8
    assert validate(DECL["hyperparameters"], dict(sent, faiss_index_ivf_nlists="100"),
                    DECL["ignored"])["faiss_index_ivf_nlists"] == 100


def test_ivf_queries_with_short_probed_lists_still_get_k_neighbours():
    from containers.knn.neighbours import Neighbours
    rng = np.random.RandomState(0)
    x = rng.rand(300, 8).astype(np.float32)
    quantizer = faiss.IndexFlatL2(8)
    ivf = faiss.IndexIVFFlat(quantizer, 8, 60)
    ivf.train(x)
    ivf.add(x)
    ivf.nprobe = 1  # about 5 points per list: fewer than k
    q = rng.rand(40, 8).astype(np.float32)
    assert (ivf.search(q, 20)[1] < 0).any()
    dist, ids = Neighbours(ivf, np.arange(300, dtype=np.float32), 20, "regressor").search(q)
    assert (ids >= 0).all() and ivf.nprobe == 1
    exact = faiss.IndexFlatL2(8)
    exact.add(x)
    np.testing.assert_allclose(dist, exact.search(q, 20)[0], rtol=1e-5)
