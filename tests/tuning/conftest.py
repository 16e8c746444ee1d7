"""One real tuning job per algorithm per session (each test module reads them); data kept tiny."""
import numpy as np
import pytest

from tuning_helpers import (KMEANS_RANGES, KMEANS_STATIC, N_TRAIN, XGB_RANGES, XGB_STATIC, binary_data, channel,
                            local_job, save, tuning_request, write_csv)


@pytest.fixture(scope="session")
def xgb_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("xgb-data")
    x, y = binary_data()
    return {"train": write_csv(str(root / "train" / "train.csv"), x[:N_TRAIN], y[:N_TRAIN]),
            "validation": write_csv(str(root / "validation" / "validation.csv"), x[N_TRAIN:], y[N_TRAIN:])}


@pytest.fixture(scope="session")
def xgb_channels(xgb_data):
    return [channel("train", xgb_data["train"]), channel("validation", xgb_data["validation"])]


@pytest.fixture(scope="session")
def xgb_tuning(tmp_path_factory, xgb_channels):
    """Bayesian, validation:auc Maximize over eta / max_depth / num_round: 4 jobs, 2 at a time."""
    root = tmp_path_factory.mktemp("xgb-tuning")
    out = root / "out"
    req = tuning_request("xgb-tune", "xgboost:1", "validation:auc", "Maximize", XGB_RANGES, XGB_STATIC,
                         xgb_channels, out, seed=3)
    r = local_job("tune", save(root / "req.json", req), "--mode", "process")
    return {"result": r, "request": req, "out": out, "root": root}


@pytest.fixture(scope="session")
def kmeans_data(tmp_path_factory):
    from sklearn.datasets import load_digits
    x, y = load_digits(return_X_y=True)
    x = x.astype(np.float32)
    root = tmp_path_factory.mktemp("kmeans-data")
    # the CSV reader takes the first column as the label, as the service's does
    return {"train": write_csv(str(root / "train" / "train.csv"), x[:600], y[:600]),
            "test": write_csv(str(root / "test" / "test.csv"), x[600:900], y[600:900]),
            "x_test": x[600:900]}


@pytest.fixture(scope="session")
def kmeans_tuning(tmp_path_factory, kmeans_data):
    """Bayesian, test:msd Minimize over mini_batch_size and extra_center_factor: 4 jobs, 2 at a time."""
    root = tmp_path_factory.mktemp("kmeans-tuning")
    out = root / "out"
    req = tuning_request("km-tune", "kmeans:1", "test:msd", "Minimize", KMEANS_RANGES, KMEANS_STATIC,
                         [channel("train", kmeans_data["train"]), channel("test", kmeans_data["test"])], out, seed=1)
    r = local_job("tune", save(root / "req.json", req), "--mode", "process")
    return {"result": r, "request": req, "out": out, "root": root}
