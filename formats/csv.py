"""text/csv <-> numbers. Rows are records; with label_size=1 the first column is the label."""
import warnings

import numpy as np

from formats.batch import Batch, FormatError


def _locate_error(text, ncols, first_line):
    """Find the first bad line/field for a precise message (slow path, only on error)."""
    for lineno, line in enumerate(text.splitlines(), start=first_line):
        if not line.strip():
            continue
        fields = line.split(",")
        if ncols is not None and len(fields) != ncols:
            return "line %d: has %d fields, expected %d" % (lineno, len(fields), ncols)
        for j, field in enumerate(fields, start=1):
            try:
                float(field)
            except ValueError:
                return "line %d: field %d (%r) is not a number" % (lineno, j, field.strip()[:40])
    return None


def parse_matrix(data, first_line=1):
    """Parse CSV bytes into a float32 (rows, cols) matrix. Errors name the line and field."""
    if isinstance(data, str):
        data = data.encode()
    data = bytes(data)
    if b"\r" in data:
        data = data.replace(b"\r", b"")
    data = data.strip(b"\n")
    if not data.strip():
        return np.zeros((0, 0), dtype=np.float32)
    raw = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(raw == 10)
    if len(newlines) and (np.diff(newlines) == 1).any():
        # blank lines inside the data: drop them so row counting stays exact
        data = b"\n".join(l for l in data.split(b"\n") if l.strip())
        raw = np.frombuffer(data, dtype=np.uint8)
        newlines = np.flatnonzero(raw == 10)
    rows = len(newlines) + 1
    commas = np.cumsum(raw == 44)
    ends = np.append(newlines, len(raw) - 1)
    per_line = np.diff(np.concatenate([[0], commas[ends]]))
    ncols = int(per_line[0]) + 1
    if (per_line != per_line[0]).any():
        bad = int(np.argmax(per_line != per_line[0]))
        raise FormatError("line %d: has %d fields, expected %d"
                          % (first_line + bad, int(per_line[bad]) + 1, ncols))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flat = np.fromstring(data.replace(b"\n", b","), dtype=np.float32, sep=",")
    if flat.size != rows * ncols:
        msg = _locate_error(data.decode("utf-8", "replace"), ncols, first_line)
        raise FormatError(msg or "CSV data could not be parsed as numbers")
    return flat.reshape(rows, ncols)


def parse(data, label_size=0, first_line=1, weight_column=False):
    """CSV bytes -> Batch. label_size columns of labels come first, then an optional weight."""
    m = parse_matrix(data, first_line)
    if m.shape[0] == 0:
        return Batch(np.zeros((0, 0), np.float32))
    if label_size not in (0, 1):
        raise FormatError("label_size must be 0 or 1, got %r" % label_size)
    skip = label_size + (1 if weight_column else 0)
    if m.shape[1] <= skip:
        raise FormatError("line %d: has %d columns, need more than %d (label/weight columns)"
                          % (first_line, m.shape[1], skip))
    labels = m[:, 0].copy() if label_size else None
    weights = m[:, label_size].copy() if weight_column else None
    feats = m[:, skip:] if skip else m
    return Batch(np.ascontiguousarray(feats), labels, weights)


def format_rows(columns):
    """Columns (each (n,) or (n, m)) -> CSV bytes, one row per record."""
    cols = [np.asarray(c).reshape(len(c), -1) for c in columns]
    if not cols:
        return b""
    mat = np.hstack(cols) if len(cols) > 1 else cols[0]
    if mat.shape[0] == 0:
        return b""
    fmt = ",".join(["%.8g"] * mat.shape[1])
    return ("\n".join(fmt % tuple(row) for row in mat.tolist()) + "\n").encode()
