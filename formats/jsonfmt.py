"""application/json and application/jsonlines requests and responses (the guide's layouts)."""
import json

import numpy as np

from formats.batch import Batch, Csr, FormatError


def _instance(obj, where):
    """One instance -> (values, keys or None, dim or None)."""
    if isinstance(obj, list):
        return obj, None, None
    if not isinstance(obj, dict):
        raise FormatError("%s: an instance must be an object or a list of numbers" % where)
    if "features" in obj and not isinstance(obj["features"], dict):
        return obj["features"], None, None
    data = obj.get("data", obj)
    feat = data.get("features") if isinstance(data, dict) else None
    if isinstance(feat, list):
        return feat, None, None
    if not isinstance(feat, dict) or "values" not in feat:
        raise FormatError("%s: expected {\"features\": [...]} or "
                          "{\"data\": {\"features\": {\"values\": [...]}}}" % where)
    keys = feat.get("keys") or None
    shape = feat.get("shape") or None
    return feat["values"], keys, (int(shape[0]) if shape else None)


def _to_batch(instances, what):
    dense, sparse = [], False
    for i, inst in enumerate(instances):
        values, keys, dim = _instance(inst, "%s %d" % (what, i))
        try:
            v = np.asarray(values, dtype=np.float32)
        except (TypeError, ValueError):
            raise FormatError("%s %d: features must be numbers" % (what, i)) from None
        if v.ndim != 1:
            raise FormatError("%s %d: features must be a flat list of numbers" % (what, i))
        if keys is not None:
            sparse = True
            try:
                k = np.asarray(keys, dtype=np.int64)
            except (TypeError, ValueError):
                raise FormatError("%s %d: keys must be integers" % (what, i)) from None
            if k.shape != v.shape:
                raise FormatError("%s %d: %d keys but %d values" % (what, i, k.size, v.size))
        else:
            k = None
        dense.append((v, k, dim))
    if not dense:
        raise FormatError("no instances in the request")
    if not sparse:
        lens = {len(v) for v, _, _ in dense}
        if len(lens) > 1:
            raise FormatError("instances have different numbers of features: %s" % sorted(lens))
        return Batch(np.vstack([v for v, _, _ in dense]))
    n = len(dense)
    width = 0
    indptr = np.zeros(n + 1, dtype=np.int64)
    for i, (v, k, dim) in enumerate(dense):
        top = (int(k.max()) + 1 if k is not None and k.size else len(v))
        width = max(width, dim or 0, top)
        indptr[i + 1] = indptr[i] + len(v)
    idx = np.concatenate([k if k is not None else np.arange(len(v)) for v, k, _ in dense])
    return Batch(Csr(np.concatenate([v for v, _, _ in dense]), idx, indptr, (n, width)))


def parse_json(data):
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise FormatError("request body is not valid JSON: %s" % e) from None
    if isinstance(obj, dict) and "instances" in obj:
        instances = obj["instances"]
    elif isinstance(obj, dict) and ("features" in obj or "data" in obj):
        instances = [obj]
    elif isinstance(obj, list):
        instances = obj
    else:
        raise FormatError("JSON request must be {\"instances\": [...]}")
    if not isinstance(instances, list):
        raise FormatError("\"instances\" must be a list")
    return _to_batch(instances, "instance")


def parse_jsonlines(data):
    instances = []
    for lineno, line in enumerate(bytes(data).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            instances.append(json.loads(line))
        except (ValueError, UnicodeDecodeError) as e:
            raise FormatError("line %d: not valid JSON: %s" % (lineno, e)) from None
    return _to_batch(instances, "line")


def _rows(outputs, n):
    cols = []
    for name, v in outputs.items():
        a = np.asarray(v)
        cols.append((name, a.reshape(n, -1).tolist() if a.ndim > 1 else a.tolist()))
    names = [c[0] for c in cols]
    return [dict(zip(names, vals)) for vals in zip(*[c[1] for c in cols])]


def _row_texts(outputs, n):
    """Each record's JSON object as text, by one %-format per row: json.dumps per row dominated
    large batch responses. For finite numbers repr() writes exactly what json.dumps writes;
    anything else (NaN, strings, bools) returns None and goes through json.dumps."""
    fields, columns = [], []
    for name, v in outputs.items():
        a = np.asarray(v)
        if a.dtype.kind not in "iuf" or (a.dtype.kind == "f" and not np.isfinite(a).all()):
            return None
        fields.append(json.dumps(str(name)).replace("%", "%%") + ": %r")
        columns.append(a.reshape(n, -1).tolist() if a.ndim > 1 else a.tolist())
    template = "{" + ", ".join(fields) + "}"
    return [template % row for row in zip(*columns)]


def format_json(outputs, n, root="predictions"):
    """{root: [one object per record]}, or a bare list when root is None."""
    texts = _row_texts(outputs, n)
    if texts is None:
        rows = _rows(outputs, n)
        return json.dumps(rows if root is None else {root: rows}).encode()
    listing = "[" + ", ".join(texts) + "]"
    return (listing if root is None else "{%s: %s}" % (json.dumps(str(root)), listing)).encode()


def format_jsonlines(outputs, n):
    texts = _row_texts(outputs, n)
    if texts is None:
        texts = list(map(json.dumps, _rows(outputs, n)))
    return ("\n".join(texts) + "\n").encode() if texts else b""
