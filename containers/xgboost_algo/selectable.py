"""SAGEMAKER_INFERENCE_OUTPUT: the image's selectable per-record fields, per objective.

`SAGEMAKER_INFERENCE_OUTPUT=predicted_label,probabilities` answers
{"predictions": [{"predicted_label": 1, "probabilities": [0.2, 0.8]}, ...]} (JSON), one such object a
line (JSON Lines), one recordIO-protobuf Record per record with each field a float32 tensor in its label
map, or CSV rows of the fields in the order asked (a list written as the quoted Python list). A field
the objective does not have is NaN (and logged), as in the image; an objective outside the table is an
error of the endpoint's configuration.
"""
import json
import logging
import math

import numpy as np

from formats import record_pb, recordio
from formats.codecs import CSV, JSON, JSONLINES, RECORDIO

log = logging.getLogger(__name__)

PREDICTED_LABEL, LABELS, PROBABILITY, PROBABILITIES = "predicted_label", "labels", "probability", "probabilities"
RAW_SCORE, RAW_SCORES, PREDICTED_SCORE = "raw_score", "raw_scores", "predicted_score"
ORDER = [PREDICTED_LABEL, LABELS, PROBABILITY, PROBABILITIES, RAW_SCORE, RAW_SCORES, PREDICTED_SCORE]
CLASSIFIER = [PREDICTED_LABEL, LABELS, RAW_SCORE, RAW_SCORES]
VALID = {
    "reg:squarederror": [PREDICTED_SCORE], "reg:logistic": [PREDICTED_SCORE], "reg:gamma": [PREDICTED_SCORE],
    "reg:absoluteerror": [PREDICTED_SCORE], "reg:tweedie": [PREDICTED_SCORE],
    "binary:logistic": ORDER[:6], "binary:logitraw": CLASSIFIER, "binary:hinge": CLASSIFIER,
    "multi:softmax": CLASSIFIER, "multi:softprob": ORDER[:6],
}
NAN = float("nan")


def selected_keys(environ):
    raw = environ.get("SAGEMAKER_INFERENCE_OUTPUT")
    if raw is None:
        return None
    return [k for k in raw.replace(" ", "").lower().split(",") if k]


def _item(x):
    return np.asarray(x).reshape(-1)[0].item()


def _field(key, objective, raw, num_class):
    """One field of one record; raw is the model's output for it (a scalar, or a vector for softprob)."""
    softprob = objective == "multi:softprob"
    if key == PREDICTED_LABEL:
        if objective in ("binary:hinge", "multi:softmax"):
            return _item(raw)
        if objective == "binary:logistic":
            return int(_item(raw) > 0.5)
        if objective == "binary:logitraw":
            return int(_item(raw) > 0)
        return int(np.argmax(raw))  # softprob
    if key == LABELS:
        return [0, 1] if objective.startswith("binary:") else list(range(num_class))
    if key in (PROBABILITY, RAW_SCORE) and softprob:
        return max(raw).item()
    if key == PROBABILITIES or (key == RAW_SCORES and not softprob):
        if softprob:
            return raw.tolist()
        p = _item(raw)
        return [1.0 - p, p]
    if key == RAW_SCORES:
        return raw.tolist()
    return _item(raw)  # probability and raw_score of one score; predicted_score


def fields(scores, keys, objective, num_class):
    """[{field: value}] per record, the valid fields in the image's order, then the invalid ones as NaN."""
    if objective not in VALID:
        raise ValueError("Objective `%s` unsupported for selectable inference predictions." % objective)
    valid = [k for k in ORDER if k in keys and k in VALID[objective]]
    invalid = [k for k in keys if k not in VALID[objective]]
    if invalid:
        log.warning("Selected key(s) %s incompatible for objective '%s'. Please use list of compatible "
                    "selectable inference predictions: %s", invalid, objective, VALID[objective])
    out = []
    for raw in scores:
        rec = {k: _field(k, objective, raw, num_class) for k in valid}
        rec.update((k, NAN) for k in invalid)
        out.append(rec)
    return out


def _csv_value(v):
    if isinstance(v, list):
        return '"%s"' % v
    return "nan" if isinstance(v, float) and math.isnan(v) else str(v)


def encode(scores, keys, objective, num_class, accept, batch=False):
    records = fields(scores, keys, objective, num_class)
    if accept == JSON:
        return json.dumps({"predictions": records}).encode()
    if accept == JSONLINES:
        return "".join(json.dumps(r) + "\n" for r in records).encode()
    if accept == CSV:
        text = "\n".join(",".join(_csv_value(r[k]) for k in keys) for r in records)
        return (text + "\n" if batch else text).encode()
    if accept == RECORDIO:
        payloads = []
        rec = record_pb.Record()
        for r in records:
            rec.Clear()
            for k, v in r.items():
                rec.label[k].float32_tensor.values.extend(v if isinstance(v, list) else [v])
            payloads.append(rec.SerializeToString())
        return recordio.encode_all(payloads)
    raise ValueError("Cannot encode selected predictions into accept type '%s'." % accept)
