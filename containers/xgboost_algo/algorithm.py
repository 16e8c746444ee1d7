"""The built-in XGBoost algorithm on today's xgboost library: train(job) and load(model_dir)."""
import os
import re

import numpy as np

from containers.xgboost_algo import cluster, custom_metrics, data, kfold, params
from containers.xgboost_algo.predictor import MODEL_FILE
from training.env import read_json
from training.errors import ClientError

_XGB_PREFIX = re.compile(r"^\[[^\]]*\]\s*\S+:\d+:\s*")


def _allreduce_sum(distributed):
    if not distributed:
        return None
    from xgboost import collective

    def reduce(a):
        a = np.asarray(a, dtype=np.float64)
        return collective.allreduce(a.ravel(), collective.Op.SUM).reshape(a.shape)
    return reduce


class _Session:
    """What every xgboost.train call of the job shares: parameters, metrics, callbacks, saving."""

    def __init__(self, job, hp, xgb_params, metrics, distributed):
        self.job, self.hp, self.xgb_params, self.distributed = job, hp, xgb_params, distributed
        _, custom = params.split_metrics(metrics)
        self.custom = custom_metrics.evaluator(custom, xgb_params["objective"], hp.get("num_class"),
                                               _allreduce_sum(distributed)) if custom else None
        self.es_rounds = hp.get("early_stopping_rounds")
        self.es_metric = params.early_stopping_metric(hp, metrics) if self.es_rounds else None
        self.save_on_term = hp["save_model_on_termination"]

    def callbacks(self, has_validation, model_name):
        import xgboost as xgb
        from xgboost import collective
        job, distributed = self.job, self.distributed
        session = self

        class StopOnSigterm(xgb.callback.TrainingCallback):
            def after_iteration(self, model, epoch, evals_log):
                if session.save_on_term and job.is_master:  # as the image: the model so far, every round
                    session.save(model, model_name, quiet=True)
                stop = np.array([1.0 if job.stop_requested() else 0.0])
                if distributed:  # every worker must stop at the same round, or the others hang
                    stop = collective.allreduce(stop, collective.Op.MAX)
                if stop[0]:
                    job.log.info("stopping after round %d: SIGTERM received", epoch)
                    session.stopped = True
                return bool(stop[0])

        out = [xgb.callback.EvaluationMonitor(), StopOnSigterm()]
        if self.es_rounds:
            if not has_validation:
                job.log.info("early_stopping_rounds has no effect without a validation channel (as in the image)")
            elif not self.es_metric:
                job.log.info("early_stopping_rounds has no effect without eval_metric or a tuning objective "
                             "(as in the image)")
            else:
                maximize = params.maximize(self.es_metric)
                job.log.info("early stopping on validation-%s (%s) after %d rounds without improvement",
                             self.es_metric, "maximize" if maximize else "minimize", self.es_rounds)
                out.append(xgb.callback.EarlyStopping(rounds=self.es_rounds, metric_name=self.es_metric,
                                                      data_name="validation", maximize=maximize, save_best=True))
        return [_in_order(out)]

    stopped = False

    def train(self, dtrain, evals, model_name=MODEL_FILE, evals_result=None):
        import xgboost as xgb
        try:
            return xgb.train(self.xgb_params, dtrain, num_boost_round=self.hp["num_round"], evals=evals,
                             custom_metric=self.custom, evals_result=evals_result, verbose_eval=False,
                             callbacks=self.callbacks(any(n == "validation" for _, n in evals), model_name))
        except xgb.core.XGBoostError as e:
            raise _client_error(e) from None
        except custom_metrics.MetricError as e:
            raise ClientError("eval_metric: %s" % e) from None

    def save(self, bst, name=MODEL_FILE, quiet=False):
        raw = bytes(bst.save_raw("ubj"))
        if quiet:  # every round: written and renamed into place like job.save_model, without a log line
            tmp = os.path.join(self.job.model_dir, ".tmp-" + name)
            with open(tmp, "wb") as f:
                f.write(raw)
            os.chmod(tmp, 0o644)
            os.replace(tmp, os.path.join(self.job.model_dir, name))
            return

        def write(path):
            with open(path, "wb") as f:
                f.write(raw)
        self.job.save_model(name, write)


def _in_order(callbacks):
    """One callback running these in order, every one every round. xgboost keeps callbacks in a set and
    stops calling them at the first that asks to stop: the last round's evaluation line would be printed
    or not by chance, and on several hosts one could skip the SIGTERM allreduce the others wait in."""
    import xgboost as xgb

    class InOrder(xgb.callback.TrainingCallback):
        def before_training(self, model):
            for c in callbacks:
                model = c.before_training(model)
            return model

        def after_training(self, model):
            for c in callbacks:
                model = c.after_training(model)
            return model

        def before_iteration(self, model, epoch, evals_log):
            return any([c.before_iteration(model, epoch, evals_log) for c in callbacks])

        def after_iteration(self, model, epoch, evals_log):
            return any([c.after_iteration(model, epoch, evals_log) for c in callbacks])

    return InOrder()


def _client_error(e):
    """xgboost's message without its timestamp, source location and stack trace."""
    lines = str(e).strip().splitlines()
    text = _XGB_PREFIX.sub("", lines[0]) if lines else type(e).__name__
    return ClientError("xgboost rejected the data or hyperparameters: %s" % text)


def _agree(distributed):
    if not distributed:
        return None
    reduce = _allreduce_sum(True)

    def agree(has_index, has_zero):
        total = reduce([float(has_index), float(has_zero)])
        return bool(total[0]), bool(total[1])
    return agree


def _run(job, hp, session, distributed):
    nthread = hp.get("nthread")
    folds = kfold.settings(hp)
    dtrain, dval, both = data.load_all(job.channel("train"), job.channel("validation"), hp["csv_weights"],
                                       nthread, combine=folds is not None, agree=_agree(distributed))
    job.log.info("train: %d rows, %d features", dtrain.num_row(), dtrain.num_col())
    if dval is not None:
        job.log.info("validation: %d rows, %d features", dval.num_row(), dval.num_col())
    if folds is not None:
        return kfold.run(job, hp, session, both, folds)
    evals = [(dtrain, "train")] + ([(dval, "validation")] if dval is not None else [])
    bst = session.train(dtrain, evals)
    if session.es_rounds and dval is not None and session.es_metric:
        job.log.info("early stopping: best iteration %d (%s %s)", bst.best_iteration, session.es_metric,
                     bst.attr("best_score"))
    return {MODEL_FILE: bst}


def train(job):
    hp = dict(job.hyperparameters)
    given = read_json(job.paths.config_file("hyperparameters.json"), default={}) or {}
    hp["_given"] = set(given)
    for name in ("_kfold", "_num_cv_round", "_tuning_objective_metric"):  # the platform's names, read here
        hp[name] = given.get(name)
    distributed = len(job.hosts) > 1
    xgb_params, metrics = params.to_xgboost(hp, job.log, distributed)
    job.log.info("xgboost parameters: %s, num_round %d", xgb_params, hp["num_round"])
    session = _Session(job, hp, xgb_params, metrics, distributed)
    with cluster.communicator(job):
        models = _run(job, hp, session, distributed)
    if session.stopped and not hp["save_model_on_termination"]:
        job.log.info("stopped by SIGTERM with save_model_on_termination false: no model is saved (as in the image)")
        return
    if job.is_master:
        for name, bst in models.items():
            session.save(bst, name)
