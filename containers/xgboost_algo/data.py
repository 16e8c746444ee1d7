"""Channels -> xgboost.DMatrix, each read in one pass (xgboost needs all the data in memory).

Content types as the service's image takes them: text/csv or csv, text/libsvm, text/x-libsvm or libsvm
(its default), application/x-parquet or parquet, application/x-recordio-protobuf or recordio-protobuf.
Parquet is read with pyarrow, the label in the first column as with CSV.

libsvm indexing follows xgboost's heuristic (formats/libsvm.py): no feature index 0 anywhere means
1-based. It is decided once for the job, over the train and validation channels together (and over
every host), so that the two matrices always agree; xgboost itself decides per parse block.

CSV goes through Arrow's multithreaded reader (formats.csv.read_columns): as fast as xgboost's own
`path?format=csv` loader, but exact and strict where that one reads `x` as 0 and `1-2` as 1.
libsvm goes through xgboost's own multithreaded text parser (the `path?format=libsvm` URI loader).
Both take plain files only, so gzip files, pipes and row shares are first written out to a temporary
file. The libsvm parser is silent about malformed input, so bytes it may misread send the data to
the Python parser, which names the bad line or reads what the C++ parser cannot (nan, inf, comments,
and qid ranking groups, whose letters are outside the bytes trusted to it).
"""
import os
import shutil
import tempfile

import numpy as np

from containers.xgboost_algo import csv_text
from formats import FormatError
from formats import csv as csvfmt
from formats import libsvm
from formats.batch import Batch, Csr, concat
from formats.codecs import CSV, LIBSVM, RECORDIO
from training.errors import ClientError

PARQUET = "application/x-parquet"
# every spelling the image accepts (text/x-libsvm is already text/libsvm after parse_media_type)
CANONICAL = {"csv": CSV, CSV: CSV, "libsvm": LIBSVM, LIBSVM: LIBSVM, "parquet": PARQUET, PARQUET: PARQUET,
             "recordio-protobuf": RECORDIO, RECORDIO: RECORDIO}
ACCEPTED = ["csv", "libsvm", "parquet", "recordio-protobuf", "text/csv", "text/libsvm", "text/x-libsvm",
            "application/x-parquet", "application/x-recordio-protobuf"]

COPY_CHUNK = 8 << 20
# Bytes that can appear in well-formed libsvm the C++ parser reads right; anything else is re-parsed.
_LIBSVM_BYTES = np.zeros(256, dtype=bool)
_LIBSVM_BYTES[np.frombuffer(b"0123456789.eE+-: \t\r\n", dtype=np.uint8)] = True


def _is_gzip(path):
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _uri_safe(path):
    return not any(c in path for c in ";?#")


class _Sources:
    """The plain files the URI loader will read, writing temporary copies where needed."""

    def __init__(self, channel, share):
        self.channel = channel
        self.share = share  # (rank, count) of lines to keep, or None for all
        self.tmpdir = None

    def _tmp(self):
        if self.tmpdir is None:
            self.tmpdir = tempfile.mkdtemp(prefix="xgb-%s-" % self.channel.name)
        return os.path.join(self.tmpdir, "part-%d" % len(os.listdir(self.tmpdir)))

    def _copy(self, f):
        path = self._tmp()
        with open(path, "wb") as out:
            last = b"\n"
            if self.share is None:
                while True:
                    chunk = f.read(COPY_CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    last = chunk[-1:]
            else:
                rank, count = self.share
                for i, line in enumerate(f):
                    if i % count == rank:
                        out.write(line)
                        last = line[-1:]
            if last != b"\n":
                out.write(b"\n")
        return path

    def paths(self):
        """[(display name, plain file path)] for one pass over the channel."""
        ch = self.channel
        out = []
        if not ch.is_pipe and self.share is None:
            files = [p for p in ch.files() if os.path.isfile(p)]
            if not files:
                raise ClientError("channel %s: no data files under %s" % (ch.name, ch.dir))
            if all(_uri_safe(p) and not _is_gzip(p) for p in files):
                return [(os.path.relpath(p, ch.dir), p) for p in files]
        for name, f in ch.streams(0):
            out.append((name, self._copy(f)))
        return out

    def cleanup(self):
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def _python_libsvm(paths, channel):
    """Parse libsvm in Python, indices as written: a precise error, or the data the C++ parser could
    not read."""
    batches = []
    for name, path in paths:
        with open(path, "rb") as f:
            body = f.read()
        try:
            b = libsvm.parse(body, has_label=True, indexing="zero")
        except FormatError as e:
            raise ClientError("channel %s, file %s: %s" % (channel, name, e)) from None
        if len(b):
            batches.append(b)
    if not batches:
        raise ClientError("channel %s: no records" % channel)
    batch = concat(batches)
    if batch.qids is not None and (np.diff(batch.qids) < 0).any():
        at = int(np.argmax(np.diff(batch.qids) < 0)) + 2
        raise ClientError("channel %s: record %d: qid %d after qid %d; xgboost needs each query's records"
                          " together, in non-decreasing qid order"
                          % (channel, at, batch.qids[at - 1], batch.qids[at - 2]))
    return batch


def _libsvm_looks_plain(paths):
    for _, path in paths:
        with open(path, "rb") as f:
            while True:
                chunk = f.read(COPY_CHUNK)
                if not chunk:
                    break
                if not _LIBSVM_BYTES[np.frombuffer(chunk, dtype=np.uint8)].all():
                    return False
    return True


def _has_index_zero(paths):
    """Whether any line of these libsvm files has a feature with index 0 (the label:weight pair that
    starts a line is no feature). Searched with bytes.find: a 1-based file is read through once."""
    def found(text):
        for pat in (b" 0:", b"\t0:"):
            i = text.find(pat)
            while i >= 0:
                if text[text.rfind(b"\n", 0, i) + 1:i].strip():
                    return True
                i = text.find(pat, i + 1)
        return False

    for _, path in paths:
        with open(path, "rb") as f:
            carry = b""
            while True:
                chunk = f.read(COPY_CHUNK)
                if not chunk:
                    if carry and found(carry):
                        return True
                    break
                buf = carry + chunk
                cut = buf.rfind(b"\n") + 1
                if cut and found(buf[:cut]):
                    return True
                carry = buf[cut:]
    return False


class _Part:
    """One channel's data on this host, read but not yet a DMatrix: libsvm files xgboost's parser can
    read (`paths`), or a Batch."""

    def __init__(self, ctype, paths=None, batch=None):
        self.ctype, self.paths, self.batch = ctype, paths, batch

    def index_votes(self):
        """(has feature indices, has index 0) for the libsvm indexing decision; None for other formats."""
        if self.ctype != LIBSVM:
            return None
        if self.paths is not None:
            return True, _has_index_zero(self.paths)
        idx = self.batch.features.indices
        return len(idx) > 0, bool(len(idx)) and bool((idx == 0).any())

    def as_batch(self, channel):
        if self.batch is None:
            self.batch = _python_libsvm(self.paths, channel)
            self.paths = None
        return self.batch


def _read_csv(name, path, channel):
    try:
        return csvfmt.read_columns(path)
    except FormatError as e:
        error = e
    with open(path, "rb") as f:
        raw = f.read()
    if not csv_text.needs_rewrite(raw):
        raise ClientError("channel %s, file %s: %s" % (channel, name, error))
    # another delimiter or empty fields (missing values), as xgboost's loader and the image read them
    fd, tmp = tempfile.mkstemp(prefix="xgb-csv-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(csv_text.rewrite(raw))
        del raw
        return csvfmt.read_columns(tmp)
    except FormatError as e:
        raise ClientError("channel %s, file %s: %s" % (channel, name, e)) from None
    finally:
        os.unlink(tmp)


def _from_csv(paths, csv_weights, channel):
    skip = 2 if csv_weights else 1  # label, then the weight
    blocks = []
    for name, path in paths:
        cols = _read_csv(name, path, channel)
        if cols.shape[1] == 0:
            continue
        if cols.shape[0] <= skip:
            raise ClientError("channel %s, file %s: has %d column(s); the label%s and at least one feature"
                              " are needed" % (channel, name, cols.shape[0], " and weight" if csv_weights else ""))
        if blocks and cols.shape[0] != blocks[0].shape[0]:
            raise ClientError("channel %s: files have different numbers of columns: %d and %d"
                              % (channel, blocks[0].shape[0], cols.shape[0]))
        blocks.append(cols)
    if not blocks:
        raise ClientError("channel %s: no records" % channel)
    cols = blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=1)
    return Batch(cols[skip:].T, cols[0], cols[1] if csv_weights else None)


def _parquet_table(name, source, channel):
    import pyarrow as pa
    import pyarrow.parquet as pq
    try:
        return pq.read_table(source)
    except (pa.ArrowException, OSError) as e:
        raise ClientError("channel %s, file %s: not a Parquet file pyarrow can read: %s"
                          % (channel.name, name, str(e).splitlines()[0] if str(e) else type(e).__name__)) from None


def _from_parquet(channel):
    """Every Parquet file of the channel (File mode), or the Parquet file a pipe carries."""
    import io
    tables = []
    if channel.is_pipe:
        for name, f in channel.streams(0):
            tables.append((name, _parquet_table(name, io.BytesIO(f.read()), channel)))
    else:
        files = [p for p in channel.files() if os.path.isfile(p)]
        if not files:
            raise ClientError("channel %s: no data files under %s" % (channel.name, channel.dir))
        if channel.shared and len(files) >= channel.num_hosts:
            files = files[channel.host_rank::channel.num_hosts]
        tables = [(os.path.relpath(p, channel.dir), _parquet_table(os.path.relpath(p, channel.dir), p, channel))
                  for p in files]
    blocks = []
    for name, table in tables:
        if table.num_rows == 0:
            continue
        if table.num_columns < 2:
            raise ClientError("channel %s, file %s: has %d column(s); the label and at least one feature are "
                              "needed" % (channel.name, name, table.num_columns))
        cols = []
        for field, col in zip(table.schema, table.columns):
            try:
                cols.append(np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float32))
            except (TypeError, ValueError):
                raise ClientError("channel %s, file %s: column %r is %s, not numeric"
                                  % (channel.name, name, field.name, field.type)) from None
        m = np.column_stack(cols)
        if blocks and m.shape[1] != blocks[0].shape[1]:
            raise ClientError("channel %s: files have different numbers of columns: %d and %d"
                              % (channel.name, blocks[0].shape[1], m.shape[1]))
        blocks.append(m)
    if not blocks:
        raise ClientError("channel %s: no records" % channel.name)
    m = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    if channel.shared and not channel.is_pipe and len(tables) < channel.num_hosts:
        m = m[channel.host_rank::channel.num_hosts]
    return Batch(m[:, 1:], m[:, 0])


def _to_dmatrix(batch, nthread):
    import xgboost as xgb
    f = batch.features
    if isinstance(f, Csr):
        import scipy.sparse
        f = scipy.sparse.csr_matrix((f.data, f.indices, f.indptr), shape=f.shape)
    return xgb.DMatrix(f, label=batch.labels, weight=batch.weights, qid=batch.qids, nthread=nthread)


def _from_records(channel):
    # several hosts keep every n-th batch: small batches keep the shares even on small data
    channel.content_type = RECORDIO  # the reader registered for recordIO, whichever spelling was given
    batches = list(channel.batches(1024 if channel.shared else 1 << 16, None, label_size=1))
    b = concat(batches)
    if b is None:
        raise ClientError("channel %s: no records" % channel.name)
    if b.labels is None:
        raise ClientError("channel %s: the records have no label" % channel.name)
    return b


def content_type(channel):
    """The channel's content type in its canonical spelling; the image's rules and messages."""
    raw = channel.config.get("ContentType")
    ctype = CANONICAL.get(channel.content_type or LIBSVM)
    if ctype is None:
        raise ClientError("%s is not an accepted ContentType: %s." % (raw, ", ".join(ACCEPTED)))
    if ctype == CSV and channel.params.get("label_size", "1") != "1":
        raise ClientError("%s is not an accepted csv ContentType. Optional parameter label_size must be equal to 1"
                          % raw)
    return ctype


def _read(channel, csv_weights, sources):
    """One channel -> a _Part for this host (all of it, or its share on several hosts)."""
    ctype = content_type(channel)
    if ctype == RECORDIO:
        return _Part(ctype, batch=_from_records(channel))  # channel.batches shards by itself
    if ctype == PARQUET:
        return _Part(ctype, batch=_from_parquet(channel))
    share = None
    if channel.shared:
        files = [] if channel.is_pipe else channel.files()
        if len(files) >= channel.num_hosts:
            share = "files"
        else:
            share = (channel.host_rank, channel.num_hosts)
    src = _Sources(channel, share if isinstance(share, tuple) else None)
    sources.append(src)
    paths = src.paths()
    if share == "files":
        paths = paths[channel.host_rank::channel.num_hosts]
    if channel.log:
        channel.log.info("channel %s: reading %d file(s) as %s", channel.name, len(paths), ctype)
    if ctype == CSV:
        return _Part(ctype, batch=_from_csv(paths, csv_weights, channel.name))
    if _libsvm_looks_plain(paths):
        return _Part(ctype, paths=paths)
    return _Part(ctype, batch=_python_libsvm(paths, channel.name))


def _libsvm_dmatrix(paths, one_based, nthread):
    """xgboost's own multithreaded parser, or None when the Python parser must read the files."""
    import xgboost as xgb
    try:
        dm = xgb.DMatrix(";".join(p for _, p in paths) + "?format=libsvm&indexing_mode=%d" % (1 if one_based else 0),
                         nthread=nthread)
    except xgb.core.XGBoostError:
        return None
    # once any line has `label:weight`, xgboost's parser gives the lines without one weight 0
    # (the guide's default is 1): any zero weight goes to the Python parser, which knows which
    if dm.num_row() > 0 and not (dm.get_weight() == 0).any():
        return dm
    return None


def _dmatrix(parts, one_based, name, nthread):
    """One DMatrix from one or more parts (k-fold reads train and validation as one)."""
    if all(p.paths is not None for p in parts):
        dm = _libsvm_dmatrix([x for p in parts for x in p.paths], one_based, nthread)
        if dm is not None:
            return dm
    batches = [p.as_batch(name) for p in parts]
    if one_based:
        batches = [libsvm.shift_to_zero_based(b) if p.ctype == LIBSVM else b for p, b in zip(parts, batches)]
    if len(batches) > 1 and len({isinstance(b.features, Csr) for b in batches}) > 1:
        batches = [Batch(b.dense(), b.labels, b.weights, b.qids) for b in batches]
    batch = concat(batches)
    if batch is None or len(batch) == 0:
        raise ClientError("channel %s: no records" % name)
    return _to_dmatrix(batch, nthread)


def load_all(train, validation=None, csv_weights=0, nthread=None, combine=False, agree=None):
    """(train DMatrix, validation DMatrix or None, train+validation DMatrix when `combine`).

    agree(has_index, has_zero) -> the same pair for every host (an allreduce), so that all hosts read
    libsvm indices the same way."""
    sources = []
    try:
        parts = {"train": _read(train, csv_weights, sources)}
        if validation is not None:
            parts["validation"] = _read(validation, csv_weights, sources)
        votes = [v for v in (p.index_votes() for p in parts.values()) if v is not None]
        has_index = any(v[0] for v in votes)
        has_zero = any(v[1] for v in votes)
        if agree is not None:
            has_index, has_zero = agree(has_index, has_zero)
        one_based = has_index and not has_zero
        if one_based and train.log:
            train.log.info("libsvm: no feature index is 0, so the indices are 1-based (xgboost's rule): "
                           "index i is feature i-1")
        dtrain = _dmatrix([parts["train"]], one_based, train.name, nthread)
        dval = _dmatrix([parts["validation"]], one_based, validation.name, nthread) if validation else None
        both = None
        if combine:
            both = dtrain if validation is None else \
                _dmatrix([parts["train"], parts["validation"]], one_based, "train+validation", nthread)
        return dtrain, dval, both
    finally:
        for s in sources:
            s.cleanup()


def load(channel, csv_weights=0, nthread=None):
    """One channel as a DMatrix for this host (benchmarks, tools): its own libsvm indexing decision."""
    return load_all(channel, None, csv_weights, nthread)[0]
