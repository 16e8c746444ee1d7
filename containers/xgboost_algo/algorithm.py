"""The built-in XGBoost algorithm on today's xgboost library: train(job) and load(model_dir)."""
import re

import numpy as np

from containers.xgboost_algo import cluster, data, params
from containers.xgboost_algo.predictor import MODEL_FILE, load  # noqa: F401  (load: the module API)
from training.env import read_json
from training.errors import ClientError

_XGB_PREFIX = re.compile(r"^\[[^\]]*\]\s*\S+:\d+:\s*")


def _stop_callback(job, distributed):
    import xgboost as xgb
    from xgboost import collective

    class StopOnSigterm(xgb.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):
            stop = np.array([1.0 if job.stop_requested() else 0.0])
            if distributed:  # every worker must stop at the same round, or the others hang
                stop = collective.allreduce(stop, collective.Op.MAX)
            if stop[0]:
                job.log.info("stopping after round %d: SIGTERM received", epoch)
            return bool(stop[0])

    return StopOnSigterm()


def _client_error(e):
    """xgboost's message without its timestamp, source location and stack trace."""
    lines = str(e).strip().splitlines()
    text = _XGB_PREFIX.sub("", lines[0]) if lines else type(e).__name__
    return ClientError("xgboost rejected the data or hyperparameters: %s" % text)


def _train(job, hp, xgb_params, distributed):
    import xgboost as xgb
    nthread = hp.get("nthread")
    dtrain = data.load(job.channel("train"), hp["csv_weights"], nthread)
    job.log.info("train: %d rows, %d features", dtrain.num_row(), dtrain.num_col())
    evals = [(dtrain, "train")]
    val = job.channel("validation")
    if val is not None:
        dval = data.load(val, hp["csv_weights"], nthread)
        job.log.info("validation: %d rows, %d features", dval.num_row(), dval.num_col())
        evals.append((dval, "validation"))
    es = hp.get("early_stopping_rounds")
    if es and val is None:
        job.log.info("early_stopping_rounds without a validation channel: stopping on the train metric")
    try:
        bst = xgb.train(xgb_params, dtrain, num_boost_round=hp["num_round"], evals=evals,
                        early_stopping_rounds=es, verbose_eval=True,
                        callbacks=[_stop_callback(job, distributed)])
    except xgb.core.XGBoostError as e:
        raise _client_error(e) from None
    if es and bst.best_iteration + 1 < bst.num_boosted_rounds():
        job.log.info("early stopping: keeping the best iteration %d (%s)", bst.best_iteration,
                     bst.attr("best_score"))
        bst = bst[: bst.best_iteration + 1]
    return bst


def train(job):
    hp = dict(job.hyperparameters)
    hp["_given"] = set(read_json(job.paths.config_file("hyperparameters.json"), default={}) or {})
    distributed = len(job.hosts) > 1
    xgb_params, metrics = params.to_xgboost(hp, job.log, distributed)
    job.log.info("xgboost parameters: %s, num_round %d", xgb_params, hp["num_round"])
    with cluster.communicator(job):
        bst = _train(job, hp, xgb_params, distributed)
    if job.is_master:
        raw = bytes(bst.save_raw("ubj"))

        def write(path):
            with open(path, "wb") as f:
                f.write(raw)
        job.save_model(MODEL_FILE, write)

