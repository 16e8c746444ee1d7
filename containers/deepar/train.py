"""DeepAR training: read and check the series, train GluonTS's DeepAR with the mapped hyperparameters, save
the predictor under the service's names, evaluate on the test channel."""
import os

import numpy as np

from contract.errors import ClientError
from containers.deepar import estimator, evaluation, reading
from containers.deepar.frequency import Frequency
from containers.deepar.records import Schema

SEED = 0  # the service takes no seed; a fixed one makes a job repeatable


def train(job):
    hp = job.hyperparameters
    log = job.log
    freq = Frequency(hp["time_freq"])
    log.info("time_freq %s: pandas period %s, offset %s", freq.text, freq.period, freq.offset)
    train_series = reading.read(job.channel("train"), freq)
    schema = resolve_schema(hp, train_series, log)
    check(train_series, schema, hp, training=True)
    log_statistics(log, "Training", train_series)
    test_series = None
    if job.channel("test") is not None:
        test_series = reading.read(job.channel("test"), freq)
        check(test_series, schema, hp, training=False)
        log_statistics(log, "Test", test_series)
    if not job.is_master:
        log.info("GluonTS trains on one machine: %s trains, this host (%s) has nothing to do",
                 job.hosts[0], job.current_host)
        return

    import warnings
    warnings.filterwarnings("ignore", message="Using `json`-module")  # GluonTS asks for orjson; json is fine
    import mxnet as mx
    from gluonts.env import env
    from containers.deepar.progress import EpochReport
    env._push(use_tqdm=False)  # GluonTS's progress bars would flood the job log

    n = len(train_series)
    batches = estimator.batches_per_epoch(n, hp["mini_batch_size"])
    log.info("%d time series, mini_batch_size %d: %d batches per epoch", n, hp["mini_batch_size"], batches)
    patience = hp["early_stopping_patience"] if isinstance(hp["early_stopping_patience"], int) else None
    if patience is not None:
        log.info("Using early stopping with patience %d", patience)
    report = EpochReport(job, hp["epochs"], batches * hp["mini_batch_size"], patience)
    est = estimator.build(hp, freq, schema, n, job.context, [report])
    # entries already hold what GluonTS's ListDataset would make of them (Period start, float32 arrays)
    data = [schema.entry(s) for s in train_series]
    mx.random.seed(SEED)
    np.random.seed(SEED)
    predictor = est.train(data)
    if report.last_loss is not None:
        job.metrics.quality("train", "final_loss", report.last_loss, kind="loss")

    if test_series is not None:
        evaluate(job, predictor, test_series, schema, freq, hp)
    example = evaluation.split(train_series[:1], schema)[0]  # an inference input: features cover the horizon
    config = {"time_freq": freq.text, "schema": schema.to_json(), "likelihood": hp["likelihood"],
              "hyperparameters": {k: v for k, v in hp.items()}}
    from containers.deepar import artifact
    artifact.export(predictor, example, job.save_model, config)
    log.info("Serializing to %s", os.path.join(job.model_dir, artifact.PREFIX))


def evaluate(job, predictor, test_series, schema, freq, hp):
    import mxnet as mx
    entries, truths = evaluation.split(test_series, schema)
    mx.random.seed(SEED)
    np.random.seed(SEED)
    forecasts = predictor.predict(entries, num_samples=hp["num_eval_samples"])
    samples = [f.samples for f in forecasts]
    quantiles = hp["test_quantiles"]
    s = evaluation.scores(samples, truths, quantiles)
    host = job.current_host
    job.log.info("#test_score (%s, RMSE): %r", host, s["RMSE"])
    for q in quantiles:
        job.log.info("#test_score (%s, wQuantileLoss[%s]): %r", host, q, s["wQuantileLoss[%s]" % q])
    job.log.info("#test_score (%s, mean_wQuantileLoss): %r", host, s["mean_wQuantileLoss"])
    job.metrics.quality("test", "RMSE", s["RMSE"], kind="loss")
    job.metrics.quality("test", "mean_wQuantileLoss", s["mean_wQuantileLoss"], kind="loss")
    return s


def resolve_schema(hp, series, log):
    """cardinality / num_dynamic_feat: auto (from the data), "" (not used) or given (checked)."""
    card = hp["cardinality"]
    with_cat = [s for s in series if s.cat is not None]
    if card == "auto":
        if not with_cat:
            log.info("[cardinality=auto] `cat` field was NOT found in the data and will NOT be used for training.")
            card = []
        else:
            lacking = next((s for s in series if s.cat is None), None)
            if lacking is not None:
                raise ClientError("%s: `cat` is missing, but other series have it; every series needs the same "
                                  "categorical features (or set cardinality to \"\")" % lacking.where)
            width = len(with_cat[0].cat)
            odd = next((s for s in with_cat if len(s.cat) != width), None)
            if odd is not None:
                raise ClientError("%s: `cat` has %d value(s) but %s has %d; every series needs the same number"
                                  % (odd.where, len(odd.cat), with_cat[0].where, width))
            card = [max(s.cat[i] for s in with_cat) + 1 for i in range(width)]
            log.info("[cardinality=auto] `cat` field was found in the data and will be used for training; "
                     "cardinality %s", card)
    elif not card:
        if with_cat:
            log.info("[cardinality=\"\"] the `cat` field is present but will NOT be used for training.")
        card = []
    if any(c < 1 for c in card):
        raise ClientError("hyperparameter cardinality: %r; each entry must be a positive integer" % (card,))
    nfeat = hp["num_dynamic_feat"]
    with_feat = [s for s in series if s.dynamic_feat is not None]
    if nfeat == "auto":
        if not with_feat:
            log.info("[num_dynamic_feat=auto] `dynamic_feat` field was NOT found in the data and will NOT be "
                     "used for training.")
            nfeat = 0
        else:
            lacking = next((s for s in series if s.dynamic_feat is None), None)
            if lacking is not None:
                raise ClientError("%s: `dynamic_feat` is missing, but other series have it; every series needs "
                                  "the same dynamic features (or set num_dynamic_feat to \"\")" % lacking.where)
            nfeat = with_feat[0].dynamic_feat.shape[0]
            log.info("[num_dynamic_feat=auto] `dynamic_feat` field was found in the data and will be used for "
                     "training; %d feature(s)", nfeat)
    elif nfeat == "":
        if with_feat:
            log.info("[num_dynamic_feat=\"\"] the `dynamic_feat` field is present but will NOT be used.")
        nfeat = 0
    return Schema(card, nfeat, hp["prediction_length"], hp["context_length"])


def check(series, schema, hp, training):
    need = hp["context_length"] + hp["prediction_length"]
    likelihood = hp["likelihood"].lower()
    for s in series:
        schema.check(s, future=False)
        if len(s.target) < need:
            raise ClientError("%s: the series has %d points, fewer than context_length + prediction_length = %d"
                              % (s.where, len(s.target), need))
        observed = s.target[~np.isnan(s.target)]
        if observed.size == 0:
            raise ClientError("%s: every `target` value is missing" % s.where)
        if training and not observed.any():
            raise ClientError("%s: training time series consist of only zeros" % s.where)
        if likelihood == "beta" and (observed.min() < 0 or observed.max() > 1):
            raise ClientError("%s: likelihood beta needs targets in [0, 1]; this series spans [%g, %g]"
                              % (s.where, observed.min(), observed.max()))
        if likelihood == "negative-binomial" and observed.min() < 0:
            raise ClientError("%s: likelihood negative-binomial needs non-negative targets (counts); found %g"
                              % (s.where, observed.min()))


def log_statistics(log, name, series):
    values = np.concatenate([s.target for s in series])
    observed = values[~np.isnan(values)]
    integer = observed.size and np.all(observed == np.round(observed))
    log.info("%s set statistics:", name)
    log.info("%s time series", "Integer" if integer else "Real")
    log.info("number of time series: %d", len(series))
    log.info("number of observations: %d", observed.size)
    log.info("mean target length: %d", int(round(values.size / float(len(series)))))
    if observed.size:
        log.info("min/mean/max target: %r/%r/%r", float(observed.min()), float(observed.mean()),
                 float(observed.max()))
        log.info("mean abs(target): %r", float(np.abs(observed).mean()))
    log.info("contains missing values: %s", "yes" if observed.size < values.size else "no")
