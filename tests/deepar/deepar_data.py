"""Series that ship with statsmodels, written as the service's channels, and the outside oracle: GluonTS's
DeepAREstimator called directly with the hyperparameters as the guide names them."""
import gzip
import io
import json
import warnings

import numpy as np
import pandas as pd

ALGO = "forecasting-deepar"
P = 12  # monthly series: forecast a year


def elec_equip():
    from statsmodels.datasets import elec_equip as ds
    s = ds.load().data.iloc[:, 0]
    return "1995-01-01 00:00:00", s.values.astype(float)


def co2_monthly():
    from statsmodels.datasets import co2
    s = co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
    return str(s.index[0]), s.values.astype(float)


def jsonl(records, gz=False):
    text = "".join(json.dumps(r) + "\n" for r in records).encode()
    if not gz:
        return text
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as f:
        f.write(text)
    return buf.getvalue()


def parquet(records):
    import pyarrow as pa
    import pyarrow.parquet as pq
    cols = {k: [r.get(k) for r in records] for k in records[0]}
    cols["start"] = [pd.Timestamp(s).to_pydatetime() for s in cols["start"]]  # Parquet's datetime type
    cols["target"] = [[np.nan if v is None or v == "NaN" else float(v) for v in t] for t in cols["target"]]
    buf = io.BytesIO()
    pq.write_table(pa.table(cols), buf, compression="snappy")
    return buf.getvalue()


def seasonal_naive_rmse(full, p=P, season=12):
    """Each of the last p points forecast by the value one season earlier."""
    truth = full[-p:]
    return float(np.sqrt(np.mean((truth - full[-p - season:-season][:p]) ** 2)))


def direct(train_entries, test_entries, freq, hp, cardinality=None, dynamic=False):
    """Train and evaluate GluonTS's DeepAR directly: (RMSE, mean_wQuantileLoss, predictor). Seeds as the
    container documents (0 before training, 0 again before the evaluation forecasts)."""
    import mxnet as mx
    from gluonts.dataset.common import ListDataset
    from gluonts.env import env
    from gluonts.evaluation import Evaluator, make_evaluation_predictions
    from gluonts.mx import DeepAREstimator, Trainer
    from gluonts.mx.distribution import GaussianOutput, StudentTOutput
    env._push(use_tqdm=False)
    distr = {"student-t": StudentTOutput(), "gaussian": GaussianOutput()}[hp.get("likelihood", "student-t")]
    extra = {}
    if cardinality:
        extra.update(use_feat_static_cat=True, cardinality=cardinality,
                     embedding_dimension=[hp.get("embedding_dimension", 10)] * len(cardinality))
    if dynamic:
        extra.update(use_feat_dynamic_real=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = DeepAREstimator(
            freq=freq, prediction_length=hp["prediction_length"], context_length=hp["context_length"],
            num_layers=hp.get("num_layers", 2), num_cells=hp.get("num_cells", 40),
            dropout_rate=hp.get("dropout_rate", 0.1), batch_size=hp.get("mini_batch_size", 128),
            distr_output=distr,
            trainer=Trainer(epochs=hp["epochs"], learning_rate=hp.get("learning_rate", 1e-3),
                            num_batches_per_epoch=max(10, -(-len(train_entries) // hp.get("mini_batch_size", 128)))),
            **extra)
        mx.random.seed(0)
        np.random.seed(0)
        predictor = est.train(ListDataset(train_entries, freq=freq))
        mx.random.seed(0)
        np.random.seed(0)
        forecasts, series = make_evaluation_predictions(ListDataset(test_entries, freq=freq), predictor,
                                                        num_samples=hp.get("num_eval_samples", 100))
        quantiles = hp.get("test_quantiles", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
        agg, _ = Evaluator(quantiles=quantiles, num_workers=0)(series, forecasts)
    return agg["RMSE"], agg["mean_wQuantileLoss"], predictor


# Hyperparameters of the two models the tests train (tiny: few epochs of 10 batches).
ELEC_HP = {"time_freq": "M", "prediction_length": P, "context_length": P, "epochs": 8, "num_cells": 20,
           "num_layers": 2, "mini_batch_size": 32, "learning_rate": 0.01, "likelihood": "student-T"}
MULTI_HP = {"time_freq": "M", "prediction_length": P, "context_length": P, "epochs": 3, "num_cells": 10,
            "num_layers": 1, "mini_batch_size": 32, "learning_rate": 0.01, "likelihood": "gaussian",
            "test_quantiles": "[0.1, 0.5, 0.9]", "num_eval_samples": 50}
SERVE_CONFIG = {"num_samples": 20, "output_types": ["mean", "samples"]}
