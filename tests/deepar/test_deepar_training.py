"""Training: quality against GluonTS's DeepAR called directly and a seasonal-naive forecast, the service's
metric lines, the artifact, and the input layouts (gzip, Parquet, Spark folders, cat, dynamic_feat, NaN)."""
import json
import os
import re

import numpy as np
import pytest

import deepar_data as dd
from deepar_data import ELEC_HP, MULTI_HP
from contract import declaration


def _metric(result, name):
    decl = declaration.load(os.path.join(os.path.dirname(__file__), "..", "..", "containers", "deepar",
                                         "algorithm.yaml"))
    regex = next(m["regex"] for m in decl["metrics"] if m["name"] == name)
    return result.metrics(regex)


def test_deepar_metrics_in_service_shapes(elec):
    log = elec.result.log
    assert len(_metric(elec.result, "train:loss")) == ELEC_HP["epochs"]
    assert len(_metric(elec.result, "train:final_loss")) == 1
    assert _metric(elec.result, "train:final_loss")[0] == _metric(elec.result, "train:loss")[-1]
    rmse, = _metric(elec.result, "test:RMSE")
    wql, = _metric(elec.result, "test:mean_wQuantileLoss")
    assert re.search(r"#quality_metric: host=algo-1, test RMSE <loss>=", log)
    assert float(re.search(r"#test_score \(algo-1, RMSE\): (\S+)", log).group(1)) == pytest.approx(rmse)
    per_q = [float(v) for v in re.findall(r"#test_score \(algo-1, wQuantileLoss\[[0-9.]+\]\): (\S+)", log)]
    assert len(per_q) == 9 and np.mean(per_q) == pytest.approx(wql)
    assert re.search(r"#progress_metric: host=algo-1, completed 100\.0 % of epochs", log)
    assert re.search(r"#throughput_metric: host=algo-1, train throughput=\S+ records/second", log)


def test_deepar_matches_gluonts_and_beats_seasonal_naive(elec):
    rmse, = _metric(elec.result, "test:RMSE")
    wql, = _metric(elec.result, "test:mean_wQuantileLoss")
    hp = dict(ELEC_HP, likelihood="student-t")
    d_rmse, d_wql, _ = dd.direct(elec.train, elec.test, "M", hp)
    # same seeds, same data, same mapped hyperparameters: equal up to sampling noise
    assert rmse == pytest.approx(d_rmse, rel=0.05)
    assert wql == pytest.approx(d_wql, rel=0.05)
    naive = dd.seasonal_naive_rmse(elec.y)
    assert rmse < naive, (rmse, naive)


def test_deepar_artifact_names_and_graph(elec):
    model = elec.result.model_dir
    assert sorted(os.listdir(model)) == ["model_algo-1-0000.params", "model_algo-1-config.json",
                                         "model_algo-1-symbol.json"]
    cfg = json.load(open(os.path.join(model, "model_algo-1-config.json")))
    assert cfg["deepar"]["time_freq"] == "M"
    assert cfg["deepar"]["schema"]["prediction_length"] == dd.P
    # the symbol and params are a plain MXNet checkpoint: MXNet alone loads the graph with its weights
    import mxnet as mx
    sym = mx.sym.load(os.path.join(model, "model_algo-1-symbol.json"))
    params = mx.nd.load(os.path.join(model, "model_algo-1-0000.params"))
    names = {k.split(":", 1)[-1] for k in params}
    assert names and names <= set(sym.list_arguments()) | set(sym.list_auxiliary_states())
    # and GluonTS deserialises it back (what `serve` does) into a predictor with the trained horizon
    from containers.deepar import artifact
    predictor, deepar = artifact.load(model)
    assert predictor.prediction_length == dd.P
    f = next(iter(predictor.predict([{"start": __import__("pandas").Period(elec.start, "M"),
                                      "target": np.asarray(elec.y[:-dd.P], dtype=np.float32)}], num_samples=30)))
    assert f.samples.shape == (30, dd.P)


def test_deepar_cat_dynamic_feat_missing_values_match_gluonts(multi):
    log = multi.result.log
    assert "[cardinality=auto] `cat` field was found" in log and "cardinality [2]" in log
    assert "[num_dynamic_feat=auto] `dynamic_feat` field was found" in log
    assert "contains missing values: yes" in log
    assert "number of time series: 3" in log  # the dotfile and _SUCCESS were skipped, the nested part read
    rmse, = _metric(multi.result, "test:RMSE")
    wql, = _metric(multi.result, "test:mean_wQuantileLoss")
    hp = dict(MULTI_HP, test_quantiles=[0.1, 0.5, 0.9])
    train, test = [_gluonts_entry(r) for r in multi.train], [_gluonts_entry(r) for r in multi.test]
    d_rmse, d_wql, _ = dd.direct(train, test, "M", hp, cardinality=[2], dynamic=True)
    assert rmse == pytest.approx(d_rmse, rel=0.05)
    assert wql == pytest.approx(d_wql, rel=0.05)
    cfg = json.load(open(os.path.join(multi.result.model_dir, "model_algo-1-config.json")))
    assert cfg["deepar"]["schema"]["cardinality"] == [2] and cfg["deepar"]["schema"]["num_dynamic_feat"] == 1


def _gluonts_entry(r):
    """GluonTS's own field names for a record in the service's format."""
    return {"start": r["start"], "target": [np.nan if v in (None, "NaN") else v for v in r["target"]],
            "feat_static_cat": r["cat"], "feat_dynamic_real": r["dynamic_feat"]}
