"""The service's hyperparameters -> GluonTS's DeepAREstimator and Trainer (the one place they are mapped)."""
import math

# The service's epoch is not one pass over a few series: its logs show about 10 mini-batches per epoch
# on 3 series ("Small number of time series. Doing 10 number of passes over dataset per epoch."), for
# mini_batch_size 32 and 128 alike. So an epoch is at least 10 batches, and at least one pass.
MIN_BATCHES_PER_EPOCH = 10
NUM_PARALLEL_SAMPLES = 100  # samples per forward pass of the exported graph; more are drawn in rounds


def batches_per_epoch(num_series, mini_batch_size):
    return max(MIN_BATCHES_PER_EPOCH, int(math.ceil(num_series / float(mini_batch_size))))


def estimator_kwargs(hp, freq, schema):
    """DeepAREstimator keyword arguments (all but trainer) for validated hyperparameters."""
    from containers.deepar.likelihoods import distribution_output
    kw = dict(
        freq=freq.period,
        prediction_length=hp["prediction_length"],
        context_length=hp["context_length"],
        num_layers=hp["num_layers"],
        num_cells=hp["num_cells"],
        dropout_rate=hp["dropout_rate"],  # GluonTS's default dropout cell is zoneout, as the guide says
        distr_output=distribution_output(hp["likelihood"]),
        batch_size=hp["mini_batch_size"],
        num_parallel_samples=NUM_PARALLEL_SAMPLES,
        # the same features and lags GluonTS derives, from today's pandas offset alias (M -> ME, H -> h)
        time_features=freq.time_features(),
        lags_seq=freq.lags(),
    )
    if schema.cardinality:
        kw.update(use_feat_static_cat=True, cardinality=schema.cardinality,
                  embedding_dimension=[hp["embedding_dimension"]] * len(schema.cardinality))
    if schema.num_dynamic_feat:
        kw.update(use_feat_dynamic_real=True)
    return kw


def trainer_kwargs(hp, num_series):
    return dict(epochs=hp["epochs"], learning_rate=hp["learning_rate"],
                num_batches_per_epoch=batches_per_epoch(num_series, hp["mini_batch_size"]), hybridize=True)


def build(hp, freq, schema, num_series, ctx, callbacks):
    from gluonts.mx import DeepAREstimator, Trainer
    trainer = Trainer(ctx=ctx, callbacks=callbacks, **trainer_kwargs(hp, num_series))
    return DeepAREstimator(trainer=trainer, **estimator_kwargs(hp, freq, schema))
