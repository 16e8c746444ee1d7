"""One time series record ({start, target, cat?, dynamic_feat?}) -> checked arrays, and the schema a model
was trained with (which fields it uses). Shared by training and serving; numpy and pandas only."""
import math

import numpy as np

from contract.errors import ClientError
from containers.deepar.frequency import period


class Series:
    __slots__ = ("where", "start", "target", "cat", "dynamic_feat")

    def __init__(self, where, start, target, cat, dynamic_feat):
        self.where, self.start, self.target, self.cat, self.dynamic_feat = where, start, target, cat, dynamic_feat


def _floats(values, where, field, allow_missing):
    if isinstance(values, np.ndarray):
        arr = values.astype(np.float32, copy=False)
    else:
        if not isinstance(values, (list, tuple)):
            raise ClientError("%s: `%s` must be an array of numbers, not %s" % (where, field, type(values).__name__))
        try:
            # None -> nan and "NaN" -> nan are numpy's own conversions
            arr = np.asarray(values, dtype=np.float32)
        except (TypeError, ValueError):
            bad = next((v for v in values if not _is_number_or_missing(v)), None)
            raise ClientError("%s: `%s` holds %r, which is neither a number nor null/\"NaN\"" % (where, field, bad)) \
                from None
        if arr.ndim != 1:
            raise ClientError("%s: `%s` must be a flat array of numbers" % (where, field))
    if np.isinf(arr).any():
        raise ClientError("%s: `%s` holds an infinite value" % (where, field))
    if not allow_missing and np.isnan(arr).any():
        raise ClientError("%s: `%s` holds a missing value; missing values are not supported there" % (where, field))
    return arr


def _is_number_or_missing(v):
    if v is None:
        return True
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return True
    if isinstance(v, str):
        try:
            float(v)
            return True
        except ValueError:
            return False
    return False


def parse(obj, where, freq):
    """A decoded record (dict) -> Series, or ClientError naming `where` (file and line, or instance)."""
    if not isinstance(obj, dict):
        raise ClientError("%s: a record must be a JSON object with start and target" % where)
    if "target" not in obj or obj["target"] is None:
        raise ClientError("%s: `target` is missing" % where)
    start = period(obj.get("start"), freq, where)
    target = _floats(obj["target"], where, "target", allow_missing=True)
    if len(target) == 0:
        raise ClientError("%s: `target` is empty" % where)
    cat = obj.get("cat")
    if cat is not None:
        if isinstance(cat, (int, float)) and not isinstance(cat, bool):
            cat = [cat]
        if isinstance(cat, np.ndarray):
            cat = cat.tolist()
        if not isinstance(cat, (list, tuple)):
            raise ClientError("%s: `cat` must be an array of non-negative integers" % where)
        out = []
        for c in cat:
            if isinstance(c, bool) or not isinstance(c, (int, float)) or not float(c).is_integer() or c < 0 \
                    or (isinstance(c, float) and math.isnan(c)):
                raise ClientError("%s: `cat` value %r is not a non-negative integer" % (where, c))
            out.append(int(c))
        cat = out
    feats = obj.get("dynamic_feat")
    if feats is not None:
        if isinstance(feats, np.ndarray):
            feats = list(feats)
        if not isinstance(feats, (list, tuple)):
            raise ClientError("%s: `dynamic_feat` must be an array of arrays of numbers" % where)
        feats = [_floats(f if isinstance(f, np.ndarray) else f, where, "dynamic_feat[%d]" % i, allow_missing=False)
                 for i, f in enumerate(feats)]
        lengths = {len(f) for f in feats}
        if len(lengths) > 1:
            raise ClientError("%s: the `dynamic_feat` arrays differ in length (%s)"
                              % (where, ", ".join(map(str, sorted(lengths)))))
        feats = np.stack(feats) if feats else np.zeros((0, len(target)), np.float32)
    return Series(where, start, target, cat, feats)


class Schema:
    """What a model uses: cardinality ([] = no cat) and num_dynamic_feat (0 = none), with the horizon."""

    def __init__(self, cardinality, num_dynamic_feat, prediction_length, context_length):
        self.cardinality = list(cardinality or [])
        self.num_dynamic_feat = int(num_dynamic_feat or 0)
        self.prediction_length = int(prediction_length)
        self.context_length = int(context_length)

    def to_json(self):
        return {"cardinality": self.cardinality, "num_dynamic_feat": self.num_dynamic_feat,
                "prediction_length": self.prediction_length, "context_length": self.context_length}

    @classmethod
    def from_json(cls, d):
        return cls(d["cardinality"], d["num_dynamic_feat"], d["prediction_length"], d["context_length"])

    def check(self, s, future):
        """ClientError unless s carries what the model uses; future: dynamic_feat must cover the horizon."""
        if self.cardinality:
            if s.cat is None:
                raise ClientError("%s: `cat` is missing; the model was trained with %d categorical feature(s)"
                                  % (s.where, len(self.cardinality)))
            if len(s.cat) != len(self.cardinality):
                raise ClientError("%s: `cat` has %d value(s); the model uses %d"
                                  % (s.where, len(s.cat), len(self.cardinality)))
            for i, (c, n) in enumerate(zip(s.cat, self.cardinality)):
                if c >= n:
                    raise ClientError("%s: `cat[%d]` is %d but the cardinality of that feature is %d (values 0..%d)"
                                      % (s.where, i, c, n, n - 1))
        if self.num_dynamic_feat:
            if s.dynamic_feat is None:
                raise ClientError("%s: `dynamic_feat` is missing; the model was trained with %d dynamic feature(s)"
                                  % (s.where, self.num_dynamic_feat))
            if s.dynamic_feat.shape[0] != self.num_dynamic_feat:
                raise ClientError("%s: `dynamic_feat` has %d feature(s); the model uses %d"
                                  % (s.where, s.dynamic_feat.shape[0], self.num_dynamic_feat))
            want = len(s.target) + (self.prediction_length if future else 0)
            if s.dynamic_feat.shape[1] != want:
                raise ClientError("%s: each `dynamic_feat` array must have length %d (%s), not %d"
                                  % (s.where, want, "len(target) + prediction_length" if future else "len(target)",
                                     s.dynamic_feat.shape[1]))

    def entry(self, s):
        """The GluonTS data entry for a checked series."""
        e = {"start": s.start, "target": s.target}
        if self.cardinality:
            e["feat_static_cat"] = np.asarray(s.cat, dtype=np.int32)
        if self.num_dynamic_feat:
            e["feat_dynamic_real"] = s.dynamic_feat
        return e
