"""Search strategies over a Space. Both propose points (a unit number per numeric range, a category per
categorical one) and learn from (point, objective) pairs; both minimise, the tuner negating a Maximize
objective.

Random draws each coordinate uniformly (ScalingType already applied by the space). Bayesian is
scikit-optimize's Gaussian-process optimiser with expected improvement; points still being evaluated
by parallel jobs are given the best value so far ("constant liar") so that parallel jobs spread out
rather than all trying the same point.
"""
import warnings

import numpy as np


class RandomSearch:
    def __init__(self, space, seed=None):
        self.space = space
        self.rng = np.random.RandomState(seed)
        self.observed = 0

    def _draw(self):
        return [r.values[self.rng.randint(len(r.values))] if r.kind == "Categorical" else float(self.rng.uniform())
                for r in self.space.ranges]

    def ask(self, pending=()):
        return self._draw()

    def tell(self, point, value):
        self.observed += 1

    def tell_many(self, points, values):
        self.observed += len(points)


class BayesianSearch:
    def __init__(self, space, seed=None, n_initial=None, budget=None):
        try:
            from skopt import Optimizer
            from skopt.space import Categorical, Real
        except ImportError:
            from localjob.uris import RequestError
            raise RequestError("Strategy Bayesian needs scikit-optimize (pip install '.[localjob]'); "
                               "Strategy Random does not")
        self.space = space
        dims = [Categorical(r.values, name=r.name) if r.kind == "Categorical" else Real(0.0, 1.0, name=r.name)
                for r in space.ranges]
        if n_initial is None:
            # random points before the model takes over: one more than the dimensions, but a third of the
            # budget at most, so short jobs still get to use the model
            n_initial = len(dims) + 1
            if budget:
                n_initial = min(n_initial, max(2, budget // 3))
        self.n_initial = max(1, n_initial)
        self.rng = np.random.RandomState(seed)
        from skopt.utils import cook_estimator
        # one fit of the kernel's length scales per observation rather than three: the GP is refitted after
        # every job, and with a few dozen points the restarts rarely find a better optimum
        gp = cook_estimator("GP", space=dims, random_state=int(self.rng.randint(2 ** 31 - 1)), n_restarts_optimizer=0)
        self.opt = Optimizer(dims, base_estimator=gp, n_initial_points=self.n_initial, acq_func="EI",
                             acq_optimizer="sampling", acq_optimizer_kwargs={"n_points": 2000},
                             random_state=int(self.rng.randint(2 ** 31 - 1)))
        self.observed = 0

    def ask(self, pending=()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not pending or self.observed < self.n_initial:
                return list(self.opt.ask())  # random while still in the initial phase: independent draws
            liar = self.opt.copy(random_state=int(self.rng.randint(2 ** 31 - 1)))
            lie = min(self.opt.yi)
            liar.tell([list(p) for p in pending], [lie] * len(pending))
            return list(liar.ask())

    def tell(self, point, value):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.opt.tell(list(point), float(value))
        self.observed += 1

    def tell_many(self, points, values):
        """What a warm start knows, in one fit."""
        if points:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.opt.tell([list(p) for p in points], [float(v) for v in values])
            self.observed += len(points)


def strategy(name, space, seed=None, budget=None):
    if name == "Random":
        return RandomSearch(space, seed)
    return BayesianSearch(space, seed, budget=budget)
