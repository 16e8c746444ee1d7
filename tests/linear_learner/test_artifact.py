"""model_algo-1 is a zip whose MXNet Module checkpoint reproduces what `serve` returns."""
import json
import os
import zipfile

import mxnet as mx
import numpy as np
import pytest

from lldata import ALGO, csv_bytes


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
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        mod = mx.module.Module.load("mx-mod", 0, label_names=["out_label"])
    finally:
        os.chdir(cwd)
    mod.bind(data_shapes=[("data", X.shape)], for_training=False)
    mod.forward(mx.io.DataBatch([mx.nd.array(X)]), is_train=False)
    local = mod.get_outputs()[0].asnumpy()
    srv = m.server
    preds = srv.post(csv_bytes(X), "text/csv", "application/json").json()["predictions"]
    remote = np.array([p["score"] for p in preds])
    assert np.allclose(local.reshape(remote.shape), remote, rtol=1e-4, atol=1e-5)
    if kind == "binary":
        labels = np.array([p["predicted_label"] for p in preds])
        assert np.array_equal(labels, (local[:, 0] > extra["threshold"]).astype(int))
