"""The search space of a tuning job: each range maps a point of the unit interval to a hyperparameter value.

Both strategies search the unit cube, so ScalingType is applied in one place: Linear is uniform in the
value, Logarithmic uniform in log(value), ReverseLogarithmic uniform in log(1 - value) (dense near 1).
Auto is Linear: the guide says tuning "initially assumes that hyperparameters are linear-scaled".
"""
import math

SCALINGS = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")


class NumericRange:
    def __init__(self, name, kind, lo, hi, scaling="Auto"):
        self.name, self.kind = name, kind          # kind: "Integer" or "Continuous"
        self.lo, self.hi = lo, hi
        self.scaling = scaling or "Auto"

    # value <-> unit -------------------------------------------------------------------------------
    def _warp(self, v):
        if self.scaling == "Logarithmic":
            return math.log(v)
        if self.scaling == "ReverseLogarithmic":
            return -math.log(1.0 - v)
        return float(v)

    def _unwarp(self, w):
        if self.scaling == "Logarithmic":
            return math.exp(w)
        if self.scaling == "ReverseLogarithmic":
            return 1.0 - math.exp(-w)
        return w

    def _bounds(self):
        if self.kind == "Integer":
            # a slice of [0, 1] per integer (equal ones when linear), so uniform points give every
            # integer its share; Logarithmic integers start at 1, so lo - 0.5 stays positive
            return self._warp(self.lo - 0.5), self._warp(self.hi + 0.5)
        return self._warp(self.lo), self._warp(self.hi)

    def value(self, u):
        u = min(max(float(u), 0.0), 1.0)
        a, b = self._bounds()
        v = self._unwarp(a + u * (b - a)) if b > a else self._unwarp(a)
        if self.kind == "Integer":
            return int(min(max(round(v), self.lo), self.hi))
        return min(max(v, self.lo), self.hi)

    def unit(self, value):
        """The point of [0, 1] standing for `value`; None when the value is outside the range."""
        try:
            v = float(value)
        except (TypeError, ValueError):
            return None
        if not (self.lo <= v <= self.hi) or (self.kind == "Integer" and not v.is_integer()):
            return None
        a, b = self._bounds()
        if b <= a:
            return 0.5
        return min(max((self._warp(v) - a) / (b - a), 0.0), 1.0)

    def text(self, value):
        return str(int(value)) if self.kind == "Integer" else repr(float(value))

    def combinations(self):
        return self.hi - self.lo + 1 if self.kind == "Integer" else math.inf


class CategoricalRange:
    kind = "Categorical"
    scaling = None

    def __init__(self, name, values):
        self.name, self.values = name, [str(v) for v in values]

    def value(self, u):
        i = int(min(max(float(u), 0.0), 1.0) * len(self.values))
        return self.values[min(i, len(self.values) - 1)]

    def unit(self, value):
        if str(value) not in self.values:
            return None
        return (self.values.index(str(value)) + 0.5) / len(self.values)

    def text(self, value):
        return str(value)

    def combinations(self):
        return len(self.values)


class Space:
    def __init__(self, ranges):
        self.ranges = list(ranges)
        self.names = [r.name for r in self.ranges]

    def hyperparameters(self, point):
        """{name: string value} for a point given as one entry per range (unit numbers, or a category)."""
        out = {}
        for r, x in zip(self.ranges, point):
            v = x if r.kind == "Categorical" else r.value(x)
            out[r.name] = r.text(v)
        return out

    def point(self, hyperparameters):
        """The point for a set of values (a parent job's); None when one of them is outside this space."""
        pt = []
        for r in self.ranges:
            if r.name not in hyperparameters:
                return None
            u = r.unit(hyperparameters[r.name])
            if u is None:
                return None
            pt.append(str(hyperparameters[r.name]) if r.kind == "Categorical" else u)
        return pt

    def combinations(self):
        n = 1
        for r in self.ranges:
            n *= r.combinations()
        return n
