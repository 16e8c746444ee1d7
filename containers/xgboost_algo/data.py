"""A channel -> one xgboost.DMatrix, read in one pass (xgboost needs all the data in memory).

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

from formats import FormatError
from formats import csv as csvfmt
from formats import libsvm
from formats.batch import Csr, concat
from formats.codecs import CSV, LIBSVM, RECORDIO
from training.errors import ClientError

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
    """Parse libsvm in Python: a precise error, or the data the C++ parser could not read."""
    batches = []
    for name, path in paths:
        with open(path, "rb") as f:
            body = f.read()
        try:
            b = libsvm.parse(body, has_label=True)
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


def _from_csv(paths, csv_weights, channel, nthread):
    import xgboost as xgb
    skip = 2 if csv_weights else 1  # label, then the weight
    blocks = []
    for name, path in paths:
        try:
            cols = csvfmt.read_columns(path)
        except FormatError as e:
            raise ClientError("channel %s, file %s: %s" % (channel, name, e)) from None
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
    return xgb.DMatrix(cols[skip:].T, label=cols[0], weight=cols[1] if csv_weights else None,
                       nthread=nthread)


def _from_text(ctype, paths, csv_weights, channel, nthread):
    import xgboost as xgb
    if ctype == CSV:
        return _from_csv(paths, csv_weights, channel, nthread)
    if _libsvm_looks_plain(paths):
        try:
            dm = xgb.DMatrix(";".join(p for _, p in paths) + "?format=libsvm", nthread=nthread)
        except xgb.core.XGBoostError:
            dm = None
        # once any line has `label:weight`, xgboost's parser gives the lines without one weight 0
        # (the guide's default is 1): any zero weight goes to the Python parser, which knows which
        if dm is not None and dm.num_row() > 0 and not (dm.get_weight() == 0).any():
            return dm
    return _to_dmatrix(_python_libsvm(paths, channel), nthread)


def _to_dmatrix(batch, nthread):
    import xgboost as xgb
    f = batch.features
    if isinstance(f, Csr):
        import scipy.sparse
        f = scipy.sparse.csr_matrix((f.data, f.indices, f.indptr), shape=f.shape)
    return xgb.DMatrix(f, label=batch.labels, weight=batch.weights, qid=batch.qids, nthread=nthread)


def _from_records(channel, csv_weights, nthread):
    # several hosts keep every n-th batch: small batches keep the shares even on small data
    batches = list(channel.batches(1024 if channel.shared else 1 << 16, None, label_size=1))
    b = concat(batches)
    if b is None:
        raise ClientError("channel %s: no records" % channel.name)
    if b.labels is None:
        raise ClientError("channel %s: the records have no label" % channel.name)
    return _to_dmatrix(b, nthread)


def load(channel, csv_weights=0, nthread=None):
    """The channel as a DMatrix for this host: all of it, or its share on several hosts."""
    ctype = channel.content_type or LIBSVM
    if ctype == RECORDIO:
        return _from_records(channel, csv_weights, nthread)  # channel.batches shards by itself
    if ctype not in (CSV, LIBSVM):
        raise ClientError("channel %s: content type %s is not supported" % (channel.name, ctype))
    share = None
    if channel.shared:
        files = [] if channel.is_pipe else channel.files()
        if len(files) >= channel.num_hosts:
            share = "files"
        else:
            share = (channel.host_rank, channel.num_hosts)
    sources = _Sources(channel, share if isinstance(share, tuple) else None)
    try:
        paths = sources.paths()
        if share == "files":
            paths = paths[channel.host_rank::channel.num_hosts]
        if channel.log:
            channel.log.info("channel %s: reading %d file(s) as %s", channel.name, len(paths), ctype)
        return _from_text(ctype, paths, csv_weights, channel.name, nthread)
    finally:
        sources.cleanup()
