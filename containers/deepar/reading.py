"""A channel's files -> records: JSON Lines (gzip detected) or Parquet, chosen by the file's extension,
else by the channel's content type. Directories are walked; dotfiles and Spark's _SUCCESS are skipped."""
import gzip
import json
import os

from contract.errors import ClientError
from containers.deepar import records

PARQUET_TYPES = {"application/x-parquet", "application/parquet", "parquet"}


def _format(path, content_type):
    name = os.path.basename(path).lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".json", ".json.gz", ".jsonl", ".jsonl.gz", ".jsonlines")):
        return "json"
    return "parquet" if content_type in PARQUET_TYPES else "json"


def data_files(channel):
    return [p for p in channel.files() if os.path.basename(p) != "_SUCCESS"]


def _json_records(path, display):
    with open(path, "rb") as raw:
        head = raw.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    try:
        with opener(path, "rb") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                where = "%s line %d" % (display, lineno)
                try:
                    obj = json.loads(line)
                except ValueError as e:
                    raise ClientError("%s: not valid JSON (%s); DeepAR reads JSON Lines, one series per line"
                                      % (where, e)) from None
                yield where, obj
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise ClientError("%s: cannot be read as (gzipped) JSON Lines: %s" % (display, e)) from None


def _parquet_records(path, display):
    import pyarrow.parquet as pq
    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises several types for a file that is not Parquet
        raise ClientError("%s: cannot be read as Parquet: %s" % (display, e)) from None
    missing = {"start", "target"} - set(table.column_names)
    if missing:
        raise ClientError("%s: Parquet file lacks column(s) %s" % (display, ", ".join(sorted(missing))))
    for row, obj in enumerate(table.to_pylist()):
        yield "%s row %d" % (display, row), obj


def read(channel, freq):
    """Every record of a channel as a records.Series, in file order."""
    out = []
    files = data_files(channel)
    if not files:
        raise ClientError("channel %s: no data files under %s" % (channel.name, channel.dir))
    for path in files:
        display = "%s/%s" % (channel.name, os.path.relpath(path, channel.dir))
        reader = _parquet_records if _format(path, channel.content_type) == "parquet" else _json_records
        for where, obj in reader(path, display):
            out.append(records.parse(obj, where, freq))
    if not out:
        raise ClientError("channel %s: holds no time series" % channel.name)
    return out
