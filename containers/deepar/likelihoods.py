"""likelihood -> a GluonTS DistributionOutput. Imported by the serialised predictor's graph loader too, so
the L1 output must stay importable under this module path."""
from typing import Dict

from gluonts.mx.distribution import (BetaOutput, GaussianOutput, NegativeBinomialOutput,
                                     StudentTOutput)
from gluonts.mx.distribution.deterministic import Deterministic
from gluonts.mx.distribution.distribution_output import DistributionOutput


class PointL1(Deterministic):
    """A point forecast trained with the L1 loss: -log_prob is |x - value| (a Laplace likelihood with a
    fixed scale, up to a constant), and sampling returns the point itself."""

    def log_prob(self, x):
        return -self.F.abs(x - self.value)


class DeterministicL1Output(DistributionOutput):
    args_dim: Dict[str, int] = {"value": 1}
    distr_cls: type = PointL1

    @classmethod
    def domain_map(cls, F, value):
        return value.squeeze(axis=-1)

    @property
    def event_shape(self):
        return ()


OUTPUTS = {
    "gaussian": GaussianOutput,
    "beta": BetaOutput,
    "negative-binomial": NegativeBinomialOutput,
    "student-t": StudentTOutput,
    "deterministic-L1": DeterministicL1Output,
}


def distribution_output(name):
    """The output for a likelihood name as validated by algorithm.yaml (student-T arrives as student-t)."""
    for key, cls in OUTPUTS.items():
        if key.lower() == str(name).lower():
            return cls()
    raise ValueError("unknown likelihood %r" % name)
