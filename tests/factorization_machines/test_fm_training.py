"""Training: metric lines in the service's shapes, the artifact's members, the official client's
hyperparameters, and bad input refused with a ClientError that says what is wrong."""
import re
import zipfile

import mxnet as mx
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, log_loss

import fmdata
from contract.registry import declaration_of
from helpers import client_session, job_dir, run_train


def _declared_regexes():
    return {m["name"]: m["regex"] for m in declaration_of(fmdata.ALGO)["metrics"]}


def test_fm_regressor_metric_lines(sparse_regressor):
    log = sparse_regressor.result.log
    regexes = _declared_regexes()
    for name in ["test:rmse", "test:mse", "test:absolute_loss", "train:rmse", "train:rmse:epoch",
                 "train:progress", "train:throughput"]:
        assert re.search(regexes[name], log), name
    assert re.search(r"#quality_metric: host=algo-1, epoch=0, batch=0 train rmse <loss>=\S+", log)
    epochs = re.findall(r"#quality_metric: host=algo-1, epoch=(\d+), train rmse <loss>=", log)
    assert epochs == [str(e) for e in range(sparse_regressor.hp["epochs"])]
    rmse = float(re.search(regexes["test:rmse"], log).group(1))
    mse = float(re.search(regexes["test:mse"], log).group(1))
    assert abs(rmse ** 2 - mse) < 1e-6 * mse
    # the per-epoch rmse falls as training goes on
    per_epoch = [float(v) for v in re.findall(regexes["train:rmse:epoch"], log)]
    assert per_epoch[-1] < 0.8 * per_epoch[0]


def test_fm_classifier_metric_lines_match_scikit_learn(pairs_classifier):
    m = pairs_classifier
    log = m.result.log
    regexes = _declared_regexes()
    got = {name: float(re.search(regexes[name], log).group(1))
           for name in ["test:binary_classification_accuracy", "test:binary_classification_cross_entropy",
                        "test:binary_f_beta", "train:binary_classification_accuracy",
                        "train:binary_classification_cross_entropy",
                        "train:binary_classification_accuracy:epoch"]}
    assert "test binary_f_1.000 <score>=" in log
    p = fmdata.sigmoid(fmdata.learned(m.model_file).raw(m.Xte))
    assert got["test:binary_classification_accuracy"] == pytest.approx(accuracy_score(m.yte, p > 0.5), abs=1e-6)
    assert got["test:binary_classification_cross_entropy"] == pytest.approx(log_loss(m.yte, p), rel=1e-4)
    assert got["test:binary_f_beta"] == pytest.approx(f1_score(m.yte, p > 0.5), abs=1e-6)


def test_fm_artifact_members_and_params(sparse_regressor):
    m = sparse_regressor
    with zipfile.ZipFile(m.model_file) as z:
        assert set(z.namelist()) == {"symbol.json", "params", "meta.json"}
        params = mx.nd.load_frombuffer(z.read("params"))
        sym = mx.sym.load_json(z.read("symbol.json").decode())
    d, k = m.hp["feature_dim"], m.hp["num_factors"]
    assert {n: a.shape for n, a in params.items()} == {"arg:w0_weight": (1,), "arg:w1_weight": (d, 1),
                                                       "arg:v": (d, k)}
    assert all(a.dtype == np.float32 for a in params.values())
    assert set(sym.list_arguments()) == {"data", "w0_weight", "w1_weight", "v", "out_label"}
    # lazy updates: rows of features that never occur keep their initial draws (normal, sigma 0.01 for
    # w1, factors_init_sigma for v); rows that occur moved to the generating model's scale (0.3)
    w, v = params["arg:w1_weight"].asnumpy(), params["arg:v"].asnumpy()
    used = np.unique(m.Xtr.indices)
    unused = np.setdiff1d(np.arange(d), used)
    assert len(used) == 200
    assert 0.0095 < w[unused].std() < 0.0105
    assert abs(v[unused].std() / m.hp["factors_init_sigma"] - 1) < 0.02
    assert w[used].std() > 0.1


def _tiny(tmp_path, hp, channels):
    base = job_dir(tmp_path, hp, channels)
    return run_train(base, fmdata.ALGO, timeout=120)


def _data(n=300, d=30, seed=0, classify=False):
    rng = np.random.default_rng(seed)
    X = fmdata.sparse_rows(n, d, 4, rng)
    t = fmdata.Truth(d, 2, rng)
    y = fmdata.classification(t, X, rng)[0] if classify else fmdata.regression(t, X, 0.1, rng)[0]
    return X, y


def test_fm_official_client_hyperparameters_and_hidden_names(tmp_path):
    from sagemaker import FactorizationMachines
    est = FactorizationMachines(role="arn:aws:iam::123456789012:role/x", instance_count=1,
                                instance_type="ml.c5.xlarge", num_factors=2, predictor_type="regressor",
                                epochs=2, clip_gradient=5.0, eps=1e-6, rescale_grad=0.01,
                                factors_init_method="uniform", factors_init_scale=0.01,
                                linear_init_method="constant", linear_init_value=0.0,
                                sagemaker_session=client_session())
    hp = dict(est.hyperparameters(), feature_dim="30", mini_batch_size="50", _tuning_objective_metric="test:rmse",
              _sparse_input="true", _kvstore="dist_sync", force_dense="true")
    X, y = _data()
    r = _tiny(tmp_path, hp, {"train": fmdata.channel(X, y, content_type=None)})  # record_set(): no ContentType
    assert r.rc == 0, r.log[-3000:]
    assert "ignoring hyperparameters" in r.log and "_sparse_input" in r.log
    assert len(r.metrics(r"epoch=\d+, train rmse <loss>=(\S+)")) == 2


@pytest.mark.parametrize("case", ["csv", "no_predictor_type", "label", "uniform_without_scale", "wide_key"])
def test_fm_bad_input_is_a_client_error(tmp_path, case):
    X, y = _data(classify=True)
    hp = {"feature_dim": 30, "num_factors": 2, "predictor_type": "binary_classifier", "mini_batch_size": 100}
    train = fmdata.channel(X, y)
    if case == "csv":
        train = {"content_type": "text/csv", "files": {"a.csv": b"1,0.5,0.5\n"}}
        expect = "text/csv"
    elif case == "no_predictor_type":
        del hp["predictor_type"]
        expect = "predictor_type"
    elif case == "label":
        y = y.copy()
        y[137] = 2.0
        train = fmdata.channel(X, y)
        expect = "record 137"
    elif case == "uniform_without_scale":
        hp["linear_init_method"] = "uniform"
        expect = "linear_init_scale"
    else:
        hp["feature_dim"] = 20  # the data's keys go up to 29
        expect = "feature_dim"
    r = _tiny(tmp_path, hp, {"train": train})
    assert r.rc != 0
    assert r.failure.startswith("ClientError: "), r.failure
    assert expect in r.failure, r.failure
