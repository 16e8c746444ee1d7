"""The guide's (0.72) hyperparameters -> today's xgboost.train parameters, with renames logged."""
import ast
import json
import re

from containers.xgboost_algo import custom_metrics
from training.errors import ClientError

OBJECTIVES = {
    "reg:squarederror", "reg:squaredlogerror", "reg:logistic", "reg:pseudohubererror", "reg:absoluteerror",
    "reg:quantileerror", "binary:logistic", "binary:logitraw", "binary:hinge", "count:poisson",
    "survival:cox", "survival:aft", "multi:softmax", "multi:softprob", "rank:ndcg", "rank:map",
    "rank:pairwise", "reg:gamma", "reg:tweedie",
}
RENAMED_OBJECTIVES = {"reg:linear": "reg:squarederror"}  # 0.72's name, removed since

EVAL_METRICS = {
    "rmse", "rmsle", "mae", "mape", "mphe", "logloss", "error", "merror", "mlogloss", "auc", "aucpr", "pre",
    "ndcg", "map", "poisson-nloglik", "gamma-nloglik", "cox-nloglik", "gamma-deviance", "tweedie-nloglik",
    "aft-nloglik", "interval-regression-accuracy",
}
_METRIC = re.compile(r"^([a-z-]+?)(@[0-9.]+)?(-)?$")

# 0.72 updaters that no longer exist -> the current one doing the same job
RENAMED_UPDATERS = {"grow_skmaker": "grow_histmaker", "distcol": "grow_colmaker",
                    "grow_fast_histmaker": "grow_quantile_histmaker", "grow_gpu": "grow_gpu_hist"}
UPDATERS = {"grow_colmaker", "grow_histmaker", "grow_quantile_histmaker", "grow_gpu_hist", "grow_gpu_approx",
            "sync", "refresh", "prune", "shotgun", "coord_descent", "gpu_coord_descent"}

# xgboost's metrics that are better when larger (for early stopping); the rest are minimized
MAXIMIZE = {"auc", "aucpr", "map", "ndcg", "pre", "interval-regression-accuracy"} | custom_metrics.MAXIMIZE

# Names passed to xgboost unchanged (when set).
PASS_THROUGH = [
    "alpha", "base_score", "booster", "colsample_bylevel", "colsample_bytree", "colsample_bynode", "eta",
    "gamma", "grow_policy", "lambda", "max_bin", "max_delta_step", "max_depth", "max_leaves",
    "min_child_weight", "normalize_type", "nthread", "one_drop", "process_type", "rate_drop", "refresh_leaf",
    "sample_type", "scale_pos_weight", "seed", "skip_drop", "subsample", "tree_method",
    "tweedie_variance_power", "num_parallel_tree", "max_cat_to_onehot", "monotone_constraints",
    "sampling_method", "num_class", "aft_loss_distribution", "aft_loss_distribution_scale",
]
# Only meaningful with one booster or objective; passing them otherwise makes xgboost warn.
DART_ONLY = {"normalize_type", "one_drop", "rate_drop", "sample_type", "skip_drop"}
# Consumed by the container itself, never given to xgboost.
CONTAINER_ONLY = {"num_round", "csv_weights", "early_stopping_rounds", "eval_metric", "silent", "verbosity",
                  "lambda_bias", "sketch_eps", "updater", "objective", "single_precision_histogram",
                  "deterministic_histogram", "save_model_on_termination", "dsplit", "predictor",
                  "prob_buffer_row", "use_dask_gpu_training", "monotone_constraints", "interaction_constraints"}


def objective(hp, log):
    name = hp["objective"]
    if name.startswith("gpu:"):  # 0.72's GPU objectives are the plain ones on a GPU device today
        log.info("objective %s is %s on today's xgboost", name, name[4:])
        name = name[4:]
    if name in RENAMED_OBJECTIVES:
        log.info("objective %s is called %s in xgboost >= 1.0; using it", name, RENAMED_OBJECTIVES[name])
        name = RENAMED_OBJECTIVES[name]
    if name not in OBJECTIVES:
        raise ClientError("hyperparameter objective: %r is not valid; expected one of %s"
                          % (hp["objective"], ", ".join(sorted(OBJECTIVES | set(RENAMED_OBJECTIVES)))))
    return name


def _metric_list(raw):
    text = raw.strip()
    try:
        items = json.loads(text) if text.startswith("[") else text.split(",")
    except ValueError:
        items = text.strip("[]").replace("'", "").replace('"', "").split(",")
    return [str(i).strip() for i in items]


def check_metric(m, what="eval_metric"):
    match = _METRIC.match(m)
    if m in custom_metrics.NAMES or (m and match and match.group(1) in EVAL_METRICS):
        return m
    raise ClientError("hyperparameter %s: %r is not a valid metric; expected a comma-separated list of %s "
                      "(optionally with @threshold, @n or a trailing -)"
                      % (what, m, ", ".join(sorted(EVAL_METRICS | set(custom_metrics.NAMES)))))


def eval_metrics(hp, tweedie_power=1.5):
    """The asked metrics (eval_metric, and the tuning objective's as the image adds it), in order."""
    raw = hp.get("eval_metric")
    out = [check_metric(m) for m in _metric_list(raw)] if raw and raw.strip() else []
    tuning = tuning_metric(hp)
    if tuning and tuning not in out:
        out.append(tuning)
    return [("tweedie-nloglik@%g" % tweedie_power) if m == "tweedie-nloglik" else m for m in out]


def tuning_metric(hp):
    """`_tuning_objective_metric` (validation:auc) -> auc; the tuner adds it to the job's hyperparameters."""
    raw = hp.get("_tuning_objective_metric")
    if raw is None or not str(raw).strip():
        return None
    parts = str(raw).strip().split(":")
    if len(parts) < 2 or parts[0] not in ("validation", "train"):
        raise ClientError("hyperparameter _tuning_objective_metric: %r is not a metric of this algorithm; expected "
                          "validation:<metric>" % raw)
    return check_metric(parts[1], "_tuning_objective_metric")


def split_metrics(metrics):
    """(xgboost's own, the image's custom ones): xgboost computes the first, custom_metric the rest."""
    return ([m for m in metrics if m not in custom_metrics.NAMES], [m for m in metrics if m in custom_metrics.NAMES])


def maximize(metric):
    return metric.split("@")[0].rstrip("-") in MAXIMIZE


def early_stopping_metric(hp, metrics):
    """The image's choice: the tuning objective's metric when tuning, else the last eval_metric; none
    without either (then early_stopping_rounds has no effect, as in the image)."""
    tuning = tuning_metric(hp)
    if tuning:
        return ("tweedie-nloglik@%g" % hp["tweedie_variance_power"]) if tuning == "tweedie-nloglik" else tuning
    given = [m for m in _metric_list(hp["eval_metric"])] if hp.get("eval_metric") and hp["eval_metric"].strip() else []
    return metrics[len(given) - 1] if given else None


def monotone_constraints(raw):
    try:
        value = ast.literal_eval(raw.strip()) if raw.strip() else None
    except (ValueError, SyntaxError):
        value = None
    if isinstance(value, int):
        value = (value,)
    if not isinstance(value, (tuple, list)) or not value or \
            any(isinstance(v, bool) or v not in (-1, 0, 1) for v in value):
        raise ClientError("hyperparameter monotone_constraints: %r is not valid; expected a tuple of -1, 0 and 1, "
                          "one per feature, such as (1,0,-1)" % raw)
    return "(%s)" % ",".join(str(int(v)) for v in value)


def interaction_constraints(raw):
    try:
        value = ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError):
        value = None
    if not isinstance(value, (list, tuple)) or not value or not all(
            isinstance(g, (list, tuple)) and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
                                                 for i in g) for g in value):
        raise ClientError("hyperparameter interaction_constraints: %r is not valid; expected a nested list of "
                          "feature indices, such as [[0, 1], [2, 3, 4]]" % raw)
    return json.dumps([list(g) for g in value])


def updaters(raw, log):
    names = []
    for u in raw.split(","):
        u = u.strip()
        if not u:
            continue
        if u in RENAMED_UPDATERS:
            log.info("updater %s no longer exists; using %s", u, RENAMED_UPDATERS[u])
            u = RENAMED_UPDATERS[u]
        if u not in UPDATERS:
            raise ClientError("hyperparameter updater: %r is not a valid updater; expected a comma-separated "
                              "list of %s" % (u, ", ".join(sorted(UPDATERS | set(RENAMED_UPDATERS)))))
        names.append(u)
    if not names:
        raise ClientError("hyperparameter updater: empty list")
    return ",".join(names)


def to_xgboost(hp, log, distributed=False):
    """(params for xgboost.train, eval metric names)."""
    obj = objective(hp, log)
    if obj.startswith("multi:") and hp.get("num_class") is None:
        raise ClientError("hyperparameter num_class is required when objective is %s" % obj)
    if hp["tweedie_variance_power"] >= 2:
        raise ClientError("hyperparameter tweedie_variance_power: %r is not valid; expected a number in (1, 2)"
                          % hp["tweedie_variance_power"])
    params = {"objective": obj}
    for name in PASS_THROUGH:
        if hp.get(name) is not None:
            params[name] = hp[name]
    if not obj.startswith("multi:"):
        params.pop("num_class", None)
    if params.get("booster") != "dart":
        for name in DART_ONLY:
            params.pop(name, None)
    if obj != "reg:tweedie":
        params.pop("tweedie_variance_power", None)
    if hp.get("tree_method") == "gpu_hist":
        log.info("tree_method gpu_hist is tree_method=hist with device=cuda in xgboost >= 2.0")
        params["tree_method"], params["device"] = "hist", "cuda"
    if distributed and params.get("tree_method") == "exact":
        log.info("tree_method exact cannot train on several hosts; using approx")
        params["tree_method"] = "approx"
    if hp.get("updater"):
        params["updater"] = updaters(hp["updater"], log)
    if hp.get("verbosity") is not None:
        params["verbosity"] = hp["verbosity"]
    elif hp.get("silent"):
        log.info("silent=1 is verbosity=0 in xgboost >= 1.0")
        params["verbosity"] = 0
    for name, why in (("lambda_bias", "the linear booster no longer has a bias penalty"),
                      ("sketch_eps", "the approx method now bins by max_bin"),
                      ("single_precision_histogram", "histograms are always double precision now"),
                      ("deterministic_histogram", "histograms are always deterministic now")):
        if name in hp.get("_given", ()):
            log.info("hyperparameter %s has no effect on xgboost >= 2.0 (%s)", name, why)
    if hp.get("monotone_constraints"):
        params["monotone_constraints"] = monotone_constraints(hp["monotone_constraints"])
    if hp.get("interaction_constraints"):
        params["interaction_constraints"] = interaction_constraints(hp["interaction_constraints"])
    for name, why in (("dsplit", "data is always split by row"), ("predictor", "xgboost >= 2.0 picks the device"),
                      ("prob_buffer_row", "xgboost >= 1.0 has no prediction buffer"),
                      ("use_dask_gpu_training", "GPU training here is one process per host")):
        if name in hp.get("_given", ()):
            log.info("hyperparameter %s has no effect here (%s)", name, why)
    metrics = eval_metrics(hp, hp["tweedie_variance_power"])
    native, _ = split_metrics(metrics)
    if native:
        params["eval_metric"] = native
    return params, metrics
