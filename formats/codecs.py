"""Media types -> decoders and encoders, shared by training readers and the server."""
from formats import csv, jsonfmt, rioproto
from formats.batch import FormatError

RECORDIO = "application/x-recordio-protobuf"
CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
LIBSVM = "text/libsvm"

ALIASES = {
    "application/x-recordio": RECORDIO,
    "application/recordio-protobuf": RECORDIO,
    "application/x-jsonlines": JSONLINES,
    "application/json-lines": JSONLINES,
    "application/jsonl": JSONLINES,
    "text/x-libsvm": LIBSVM,
    "text/x-csv": CSV,
}


def parse_media_type(value, default=None):
    """'text/csv; label_size=0; charset=utf-8' -> ('text/csv', {'label_size': '0', 'charset': 'utf-8'})."""
    if not value or not value.strip():
        return default, {}
    parts = value.split(";")
    mime = parts[0].strip().lower()
    params = {}
    for p in parts[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            params[k.strip().lower()] = v.strip().strip('"')
    return ALIASES.get(mime, mime), params


def label_size(params, default):
    raw = params.get("label_size")
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise FormatError("label_size must be an integer, got %r" % raw) from None


def _libsvm_decode(body, params):
    from formats import libsvm  # provided with the algorithms that read libsvm
    return libsvm.parse(body)


DECODERS = {
    CSV: lambda body, params: csv.parse(body, label_size(params, 0)),
    JSON: lambda body, params: jsonfmt.parse_json(body),
    JSONLINES: lambda body, params: jsonfmt.parse_jsonlines(body),
    RECORDIO: lambda body, params: rioproto.decode(body),
    LIBSVM: _libsvm_decode,
}

OCTET_STREAM = "application/octet-stream"

ENCODERS = {
    JSON: lambda outputs, n, root: jsonfmt.format_json(outputs, n, root),
    JSONLINES: lambda outputs, n, root: jsonfmt.format_jsonlines(outputs, n),
    RECORDIO: lambda outputs, n, root: rioproto.encode_outputs(outputs, n),
    CSV: lambda outputs, n, root: csv.format_rows(list(outputs.values())),
}


def decode(body, mime, params=None):
    if mime not in DECODERS:
        raise FormatError("no decoder for %s" % mime)
    return DECODERS[mime](body, params or {})


def count(outputs):
    """Records in an outputs dict: the length of its first column."""
    for v in outputs.values():
        return len(v)
    return 0


def encode(outputs, n=None, mime=JSON, root="predictions"):
    """Per-record outputs (name -> array) in the media type; JSON under `root` (None: a bare list)."""
    if mime not in ENCODERS:
        raise FormatError("no encoder for %s" % mime)
    return ENCODERS[mime](outputs, count(outputs) if n is None else n, root)
