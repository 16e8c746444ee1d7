"""Hyperparameters -> concrete training options: `auto` resolved, the per-model grid laid out."""
import math
from dataclasses import dataclass

import numpy as np

from training.errors import ClientError

LOSSES = {
    "binary_classifier": ("logistic", ["logistic", "hinge_loss"]),
    "multiclass_classifier": ("softmax_loss", ["softmax_loss"]),
    "regressor": ("squared_loss", ["squared_loss", "absolute_loss", "eps_insensitive_squared_loss",
                                   "eps_insensitive_absolute_loss", "quantile_loss", "huber_loss"]),
}
AUTO_NUM_MODELS = 32
AUTO_LR = {"adam": 0.005, "rmsprop": 0.005, "sgd": 0.05}
AUTO_CALIBRATION = 10000


@dataclass
class Options:
    predictor_type: str
    loss: str
    outputs: int            # score columns per model: 1, or num_classes
    num_models: int
    optimizer: str
    lr: np.ndarray          # (num_models,) per-model learning rate
    wd: np.ndarray
    l1: np.ndarray
    pos_weight: list        # per model: a float, or "balanced" (resolved from the scaler sample)
    bias_lr_mult: float
    bias_wd_mult: float
    momentum: float
    beta_1: float
    beta_2: float
    criterion: str
    calibration_samples: int
    normalize_data: bool
    unbias_data: object     # True/False, or "auto" (decided once we see whether data is dense)
    normalize_label: bool
    unbias_label: bool


def _tri(value, auto):
    return auto if value == "auto" else value == "true"


def _grid(base, n, spread):
    """n values around base on a log scale; the first model keeps base exactly."""
    if n == 1:
        return np.array([base])
    factors = np.exp(np.linspace(-spread, spread, n - 1))
    rng = np.random.RandomState(7)
    rng.shuffle(factors)
    return np.concatenate([[base], base * factors])


def resolve(hp):
    ptype = hp["predictor_type"]
    default_loss, allowed = LOSSES[ptype]
    loss = default_loss if hp["loss"] == "auto" else hp["loss"]
    if loss not in allowed:
        raise ClientError("hyperparameter loss: %s cannot be used with predictor_type %s; use one of auto, %s"
                          % (loss, ptype, ", ".join(allowed)))
    outputs = 1
    if ptype == "multiclass_classifier":
        k = hp["num_classes"]
        if k is None:
            raise ClientError("hyperparameter num_classes is required when predictor_type is "
                              "multiclass_classifier (an integer from 3 to 1000000)")
        if k < 3:
            raise ClientError("hyperparameter num_classes: %d is not valid; expected an integer from 3 to "
                              "1000000 (use binary_classifier for two classes)" % k)
        outputs = k
    optimizer = "adam" if hp["optimizer"] == "auto" else hp["optimizer"]
    n = AUTO_NUM_MODELS if hp["num_models"] == "auto" else hp["num_models"]
    base_lr = AUTO_LR[optimizer] if hp["learning_rate"] == "auto" else hp["learning_rate"]
    lr = _grid(base_lr, n, math.log(4.0))
    # Regularisation: an explicit value is varied a little around itself; auto explores 0 and a decade range.
    rng = np.random.RandomState(11)
    if hp["wd"] == "auto":
        wd = np.where(rng.rand(n) < 0.5, 0.0, 10.0 ** rng.uniform(-6, -2, n))
        wd[0] = 0.0
    else:
        wd = _grid(hp["wd"], n, math.log(2.0))
    if hp["l1"] == "auto":
        l1 = np.where(rng.rand(n) < 0.75, 0.0, 10.0 ** rng.uniform(-7, -4, n))
        l1[0] = 0.0
    else:
        l1 = _grid(hp["l1"], n, math.log(2.0))
    pw = hp["positive_example_weight_mult"]
    if pw == "auto":  # the algorithm picks: half the models unweighted, half balanced
        pos_weight = [1.0 if i % 2 == 0 else "balanced" for i in range(n)]
    else:
        pos_weight = [pw] * n
    crit = hp["binary_classifier_model_selection_criteria"]
    crit = {"f1": "f_beta", "cross_entropy_loss": "loss_function"}.get(crit, crit)
    regression = ptype == "regressor"
    use_bias = hp["use_bias"]
    return Options(
        predictor_type=ptype, loss=loss, outputs=outputs, num_models=n, optimizer=optimizer,
        lr=lr.astype(np.float32), wd=wd.astype(np.float32), l1=l1.astype(np.float32), pos_weight=pos_weight,
        bias_lr_mult=10.0 if hp["bias_lr_mult"] == "auto" else hp["bias_lr_mult"],
        bias_wd_mult=0.0 if hp["bias_wd_mult"] == "auto" else hp["bias_wd_mult"],
        momentum=0.9 if hp["momentum"] == "auto" else hp["momentum"],
        beta_1=0.9 if hp["beta_1"] == "auto" else hp["beta_1"],
        beta_2=0.999 if hp["beta_2"] == "auto" else hp["beta_2"],
        criterion=crit,
        calibration_samples=AUTO_CALIBRATION if hp["num_calibration_samples"] == "auto"
        else hp["num_calibration_samples"],
        normalize_data=_tri(hp["normalize_data"], True),
        unbias_data=("auto" if use_bias else False) if hp["unbias_data"] == "auto" else hp["unbias_data"] == "true",
        normalize_label=_tri(hp["normalize_label"], regression) and regression,
        unbias_label=_tri(hp["unbias_label"], regression and use_bias) and regression,
    )


def lr_schedule(hp, base_lr):
    """(step, factor, minimum) of the multiplicative step schedule, or None when it is off."""
    if not hp["use_lr_scheduler"]:
        return None
    step = 100 if hp["lr_scheduler_step"] == "auto" else hp["lr_scheduler_step"]
    factor = 0.99 if hp["lr_scheduler_factor"] == "auto" else hp["lr_scheduler_factor"]
    minimum = 1e-5 if hp["lr_scheduler_minimum_lr"] == "auto" else hp["lr_scheduler_minimum_lr"]
    return step, factor, minimum
