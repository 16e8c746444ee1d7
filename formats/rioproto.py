"""recordIO-protobuf records <-> Batch.

Dense data written by the official client has the same byte layout in every record, apart from the
numbers themselves. The fast path learns that layout from one record and decodes whole runs of records
with numpy slicing; everything else (sparse, mixed, odd records) goes through the protobuf parser.
"""
import struct

import numpy as np

from formats import recordio, sparse_records

try:  # compiled, where numba is installed (an algorithm extra) and the algorithm turned it on
    from formats import sparse_compiled
except ImportError:
    sparse_compiled = None
from formats.batch import Batch, Csr, FormatError, concat
from formats.record_pb import Record

_TENSOR_FIELDS = {2: "<f4", 3: "<f8"}  # Value oneof field number -> packed dtype (int32 is varint)


def _varint(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def _fields(buf, start, end):
    """Yield (field_number, wire_type, value_start, value_end) of one message's fields."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        wt = key & 7
        if wt == 2:
            ln, pos = _varint(buf, pos)
            yield key >> 3, wt, pos, pos + ln
            pos += ln
        elif wt == 0:
            v0 = pos
            _, pos = _varint(buf, pos)
            yield key >> 3, wt, v0, pos
        elif wt == 5:
            yield key >> 3, wt, pos, pos + 4
            pos += 4
        elif wt == 1:
            yield key >> 3, wt, pos, pos + 8
            pos += 8
        else:
            raise ValueError("unsupported wire type")


def _tensor_values(buf, start, end):
    """In a map entry, locate the dense packed values: (dtype, start, end) or None."""
    value = [(s, e) for f, wt, s, e in _fields(buf, start, end) if f == 2 and wt == 2]
    if len(value) != 1:
        return None
    inner = list(_fields(buf, *value[0]))
    if len(inner) != 1 or inner[0][0] not in (2, 3, 7):
        return None
    kind = inner[0][0]
    tensor = list(_fields(buf, inner[0][2], inner[0][3]))
    if len(tensor) != 1 or tensor[0][0] != 1 or tensor[0][1] != 2:
        return None  # keys or shape present: sparse or shaped, not for the fast path
    s, e = tensor[0][2], tensor[0][3]
    if kind == 7:
        return ("varint1", s, e) if e - s == 1 else None
    return _TENSOR_FIELDS[kind], s, e


class _Template:
    """The byte layout shared by a run of dense records."""

    def __init__(self, payload):
        self.length = len(payload)
        self.payload = np.frombuffer(payload, dtype=np.uint8)
        self.features = self.label = None
        for f, wt, s, e in _fields(payload, 0, len(payload)):
            if f in (1, 2) and wt == 2:
                loc = _tensor_values(payload, s, e)
                if loc is None:
                    raise ValueError("not a plain dense tensor")
                if f == 1:
                    if self.features is not None:
                        raise ValueError("several feature tensors")
                    self.features = loc
                else:
                    if self.label is not None:
                        raise ValueError("several label tensors")
                    self.label = loc
            else:
                raise ValueError("uid/metadata vary between records")
        if self.features is None or self.features[0] == "varint1":
            raise ValueError("no dense float features")
        holes = sorted(loc[1:] for loc in (self.features, self.label) if loc is not None)
        self.fixed = []
        pos = 0
        for s, e in holes:
            if s > pos:
                self.fixed.append((pos, s))
            pos = e
        if pos < self.length:
            self.fixed.append((pos, self.length))
        self.dim = (self.features[2] - self.features[1]) // np.dtype(self.features[0]).itemsize
        self.stride = 8 + self.length + (-self.length) % 4
        self.header = np.frombuffer(struct.pack("<II", recordio.MAGIC, self.length), dtype=np.uint8)

    def run(self, buf, pos):
        """Decode the longest run of records matching this layout from buf[pos:]."""
        m = (len(buf) - pos) // self.stride
        if m == 0:
            return None, 0
        rows = np.frombuffer(buf, dtype=np.uint8, count=m * self.stride, offset=pos).reshape(m, self.stride)
        ok = (rows[:, :8] == self.header).all(axis=1)
        for a, b in self.fixed:
            ok &= (rows[:, 8 + a:8 + b] == self.payload[a:b]).all(axis=1)
        k = m if ok.all() else int(np.argmin(ok))
        if k == 0:
            return None, 0
        dt, s, e = self.features
        feats = np.array(rows[:k, 8 + s:8 + e]).view(dt).astype(np.float32, copy=False)  # a copy: buf is reused
        labels = None
        if self.label is not None:
            dt, s, e = self.label
            if dt == "varint1":
                labels = rows[:k, 8 + s].astype(np.float32)
            else:
                labels = np.array(rows[:k, 8 + s:8 + s + np.dtype(dt).itemsize]).view(dt)
                labels = labels.astype(np.float32).reshape(k)
        return Batch(feats.reshape(k, self.dim), labels), k * self.stride


def _tensor_of(value):
    kind = value.WhichOneof("value")
    if kind is None or kind == "bytes":
        return None
    return getattr(value, kind)


def _pick(mapping, what, index):
    if "values" in mapping:
        return mapping["values"]
    if len(mapping) == 1:
        return next(iter(mapping.values()))
    raise FormatError("record %d: %s map has keys %s and no 'values'" % (index, what, sorted(mapping)))


def decode_records(payloads, feature_dim=None, first_index=0):
    """Decode record payloads one by one with the protobuf parser."""
    n = len(payloads)
    dense_rows, keys_l, vals_l, lens = [], [], [], []
    labels = np.zeros(n, dtype=np.float32)
    has_label = False
    sparse = False
    width = feature_dim or 0
    rec = Record()
    for i, p in enumerate(payloads):
        index = first_index + i
        try:
            rec.ParseFromString(p)
        except Exception as e:  # protobuf's DecodeError and friends
            raise FormatError("record %d: not a valid protobuf Record (%s)" % (index, e)) from None
        if not rec.features:
            raise FormatError("record %d: has no features" % index)
        t = _tensor_of(_pick(rec.features, "features", index))
        if t is None:
            raise FormatError("record %d: features are not a numeric tensor" % index)
        values = np.array(t.values, dtype=np.float32)
        # sparse: keys; or a shape and no values at all, an all-zero row as the client's sparse writer
        # writes it (protobuf leaves out the empty keys)
        if len(t.keys) or (len(t.shape) and not len(values)):
            sparse = True
            keys = np.array(t.keys, dtype=np.int64)
            if len(keys) != len(values):
                raise FormatError("record %d: %d keys but %d values" % (index, len(keys), len(values)))
            dim = int(t.shape[0]) if len(t.shape) else (int(keys.max()) + 1 if len(keys) else 0)
            if feature_dim is not None and (dim != feature_dim or (len(keys) and keys.max() >= feature_dim)):
                raise FormatError("record %d: sparse tensor of dimension %d, feature_dim is %d"
                                  % (index, max(dim, int(keys.max()) + 1 if len(keys) else 0), feature_dim))
        else:
            dim = len(values)
            if feature_dim is not None and dim != feature_dim:
                raise FormatError("record %d: has %d features, feature_dim is %d" % (index, dim, feature_dim))
            keys = None
        width = max(width, dim)
        dense_rows.append(values)
        keys_l.append(keys)
        lens.append(len(values))
        if rec.label:
            lt = _tensor_of(_pick(rec.label, "label", index))
            if lt is not None and len(lt.values):
                labels[i] = lt.values[0]
                has_label = True
    if not n:
        return None
    labels = labels if has_label else None
    if not sparse:
        if len(set(lens)) > 1:
            raise FormatError("records %d-%d: dense records of different lengths %s"
                              % (first_index, first_index + n - 1, sorted(set(lens))[:5]))
        return Batch(np.vstack(dense_rows) if n else np.zeros((0, width), np.float32), labels)
    indices = [k if k is not None else np.arange(len(v)) for k, v in zip(keys_l, dense_rows)]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=indptr[1:])
    return Batch(Csr(np.concatenate(dense_rows), np.concatenate(indices), indptr, (n, width)), labels)


class Decoder:
    """Incremental decoder: feed chunks, get Batches; remembers the dense layout across chunks."""

    def __init__(self, feature_dim=None):
        self.feature_dim = feature_dim
        self.template = None
        self.records = 0

    def _learn(self, payload):
        try:
            t = _Template(payload)
        except (ValueError, IndexError):
            return None
        if self.feature_dim is not None and t.dim != self.feature_dim:
            return None  # let the generic path raise the precise error
        return t

    def _sparse(self, buf, pos, window=1 << 20):
        """The sparse fast path over up to `window` bytes of single-part records, or None."""
        if sparse_compiled is not None and sparse_compiled.ready():
            got = sparse_compiled.decode_window(buf, pos, window, self.feature_dim)
            if got is not None:
                return got
        view = memoryview(buf)[pos:pos + window]
        starts, lengths, used = recordio.spans(view, self.records)
        if not starts:
            return None
        batch = sparse_records.decode(view, starts, lengths, self.feature_dim)
        return None if batch is None else (batch, used)

    def _generic(self, buf, pos):
        """Complete records of a stretch (about 64 KB, at least one record) for the protobuf parser."""
        window = memoryview(buf)[pos:pos + (1 << 16)]
        payloads, used = recordio.split(window, final=False, first_index=self.records)
        if not payloads and len(window) < len(buf) - pos:  # one record longer than the stretch
            payloads, used = recordio.split(memoryview(buf)[pos:], final=False, first_index=self.records)
        return payloads, used

    def decode(self, buf, final=True):
        """Decode complete records of buf; returns (Batch or None, bytes consumed)."""
        pieces = []
        pos = 0
        n = len(buf)
        while pos < n:
            fast = self.template.run(buf, pos) if self.template is not None else self._sparse(buf, pos)
            if fast and fast[1]:
                batch, used = fast
            else:
                # The protobuf parser for a stretch, then try (or learn) the dense layout again.
                payloads, used = self._generic(buf, pos)
                if not payloads:
                    break
                batch = decode_records(payloads, self.feature_dim, self.records)
                self.template = self._learn(payloads[-1])
            pieces.append(batch)
            self.records += len(batch)
            pos += used
        if final and pos < n:
            recordio.split(memoryview(buf)[pos:], final=True, first_index=self.records)  # says what is wrong
        return concat(pieces), pos


def decode(buf, feature_dim=None):
    """Decode a whole recordIO-protobuf payload into one Batch."""
    batch, _ = Decoder(feature_dim).decode(buf, final=True)
    if batch is None:
        raise FormatError("no records in recordIO-protobuf data")
    return batch


# ---- writing ---------------------------------------------------------------------------------------

def encode_outputs(outputs, n):
    """Predictions (name -> per-record array) as one Record per record, values in the label map."""
    payloads = []
    cols = [(name, np.asarray(v, dtype=np.float32).reshape(n, -1)) for name, v in outputs.items()]
    rec = Record()
    for i in range(n):
        rec.Clear()
        for name, col in cols:
            rec.label[name].float32_tensor.values.extend(col[i].tolist())
        payloads.append(rec.SerializeToString())
    return recordio.encode_all(payloads)


def encode_dense(features, labels=None):
    """Dense float32 rows as recordIO-protobuf (the official client's layout)."""
    rec = Record()
    payloads = []
    for i in range(len(features)):
        rec.Clear()
        rec.features["values"].float32_tensor.values.extend(np.asarray(features[i], np.float32).tolist())
        if labels is not None:
            rec.label["values"].float32_tensor.values.append(float(labels[i]))
        payloads.append(rec.SerializeToString())
    return recordio.encode_all(payloads)
