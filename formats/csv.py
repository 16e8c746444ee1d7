"""text/csv <-> numbers. Rows are records; with label_size=1 the first column is the label."""
import os
import warnings

import numpy as np

from formats.batch import Batch, FormatError

# Below this size numpy's parser wins: Arrow's reader costs ~1 ms to set up.
ARROW_MIN_BYTES = 64 * 1024
_arrow = None


def _arrow_modules():
    global _arrow
    if _arrow is None:
        import pyarrow
        import pyarrow.csv
        # Arrow sizes its pool from OMP_NUM_THREADS, which `serve` sets to 1 for MXNet's ops
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        if pyarrow.cpu_count() < cpus:
            pyarrow.set_cpu_count(cpus)
        _arrow = pyarrow, pyarrow.csv
    return _arrow


def _locate_error(text, ncols, first_line):
    """Find the first bad line/field for a precise message (slow path, only on error)."""
    for lineno, line in enumerate(text.splitlines(), start=first_line):
        if not line.strip():
            continue
        fields = line.split(",")
        if ncols is None:
            ncols = len(fields)
        if len(fields) != ncols:
            return "line %d: has %d fields, expected %d" % (lineno, len(fields), ncols)
        for j, field in enumerate(fields, start=1):
            try:
                if "_" in field:  # Python's float() takes 1_000; numpy and Arrow do not
                    raise ValueError(field)
                float(field)
            except ValueError:
                return "line %d: field %d (%r) is not a number" % (lineno, j, field.strip()[:40])
    return None


def _fail(data, first_line):
    msg = _locate_error(data.decode("utf-8", "replace"), None, first_line)
    return FormatError(msg or "CSV data could not be parsed as numbers")


def _arrow_table(source, ncols):
    """Arrow's multithreaded C++ reader (exact, strict, releases the GIL); None when it refuses
    the text, and the numpy path then decides and names the line."""
    pa, pacsv = _arrow_modules()
    names = ["c%d" % i for i in range(ncols)]
    try:
        return pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(column_names=names, use_threads=True, block_size=4 << 20),
            parse_options=pacsv.ParseOptions(quote_char=False, double_quote=False, escape_char=False,
                                             newlines_in_values=False, ignore_empty_lines=True),
            # float64 then a cast, as numpy does, so both paths give the same bits
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.float64()),
                                                 null_values=[], strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False, check_utf8=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def _columns(table):
    """Table -> float32 (columns, rows): column-major, so every copy is contiguous."""
    out = np.empty((table.num_columns, table.num_rows), dtype=np.float32)
    for j, column in enumerate(table.columns):
        row = 0
        for chunk in column.chunks:
            out[j, row:row + len(chunk)] = chunk.to_numpy(zero_copy_only=True)
            row += len(chunk)
    return out


def _arrow_matrix(data):
    head = data[:data.find(b"\n")] if b"\n" in data else data
    pa, _ = _arrow_modules()
    table = _arrow_table(pa.py_buffer(data), head.count(b",") + 1)
    return None if table is None else _columns(table).T


def read_columns(path):
    """A whole CSV file -> float32 (columns, rows) matrix, without holding its text in Python.
    Column-major because Arrow produces columns; its transpose is the usual (rows, columns)
    matrix, which numpy and xgboost take without a copy. Errors name the line and field."""
    with open(path, "rb") as f:
        head = f.readline().rstrip(b"\r\n")
        empty = not head.strip() and not f.read(1 << 16).strip()
    if empty:
        return np.zeros((0, 0), dtype=np.float32)
    table = _arrow_table(path, head.count(b",") + 1) if head.strip() else None
    if table is not None:
        return _columns(table)
    with open(path, "rb") as f:
        return np.ascontiguousarray(parse_matrix(f.read()).T)


def _numpy_matrix(data, first_line):
    if b"\n" not in data:  # one record, the common request: no line bookkeeping
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flat = np.fromstring(data + b",0", dtype=np.float32, sep=",")
        if flat.size != data.count(b",") + 2:
            raise _fail(data, first_line)
        return flat[:-1].reshape(1, -1)
    original = data
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.append(np.flatnonzero(raw == 10), len(raw))
    if (np.diff(ends) == 1).any():
        # blank lines inside the data: drop them so row counting stays exact
        data = b"\n".join(l for l in data.split(b"\n") if l.strip())
        raw = np.frombuffer(data, dtype=np.uint8)
        ends = np.append(np.flatnonzero(raw == 10), len(raw))
    commas = np.flatnonzero(raw == 44)
    per_line = np.diff(np.searchsorted(commas, ends), prepend=0)
    if (per_line != per_line[0]).any():
        raise _fail(original, first_line)
    ncols = int(per_line[0]) + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # fromstring stops quietly at the first bad field; the sentinel makes that visible
        # even when the bad field is the last one ("1,2,3abc" would otherwise read as 1,2,3)
        flat = np.fromstring(data.replace(b"\n", b",") + b",0", dtype=np.float32, sep=",")
    if flat.size != len(ends) * ncols + 1:
        raise _fail(original, first_line)
    return flat[:-1].reshape(len(ends), ncols)


def parse_matrix(data, first_line=1):
    """Parse CSV bytes into a float32 (rows, cols) matrix. Errors name the line and field."""
    if isinstance(data, str):
        data = data.encode()
    data = bytes(data)
    if b"\r" in data:
        data = data.replace(b"\r", b"")
    # leading blank lines count for line numbers; trailing ones do not matter
    lead = len(data) - len(data.lstrip(b"\n"))
    if lead:
        first_line += data[:lead].count(b"\n")
        data = data[lead:]
    data = data.rstrip(b"\n")
    if not data or data.isspace():
        return np.zeros((0, 0), dtype=np.float32)
    if len(data) >= ARROW_MIN_BYTES:
        m = _arrow_matrix(data)
        if m is not None:
            return m
    return _numpy_matrix(data, first_line)


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
