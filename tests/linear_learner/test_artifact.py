"""model_algo-1 is a zip whose MXNet Module checkpoint reproduces what `serve` returns."""
import json
import os
import zipfile

import numpy as np
import pytest

from lldata import ALGO, csv_bytes, module_scores


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_module_load_reproduces_served_scores(trained, kind, tmp_path):
    m = trained[kind]
    path = os.path.join(m.result.model_dir, "model_algo-1")
    with zipfile.ZipFile(path) as z:
        assert {"mx-mod-symbol.json", "mx-mod-0000.params", "manifest.json",
                "additional-params.json"} <= set(z.namelist())
        z.extractall(tmp_path)
    extra = json.loads((tmp_path / "additional-params.json").read_text())
    assert extra["predictor_type"] == m.hp["predictor_type"]
    X = m.Xte[:20]
    local = module_scores(path, X, tmp_path / "module")
    srv = m.server
    preds = srv.post(csv_bytes(X), "text/csv", "application/json").json()["predictions"]
    remote = np.array([p["score"] for p in preds])
    assert np.allclose(local.reshape(remote.shape), remote, rtol=1e-4, atol=1e-5)
    if kind == "binary":
        labels = np.array([p["predicted_label"] for p in preds])
        assert np.array_equal(labels, (local[:, 0] > extra["threshold"]).astype(int))
