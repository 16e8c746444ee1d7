"""Fast path for sparse recordIO-protobuf records (the official client's write_spmatrix_to_sparse_tensor
layout): one Python walk per record finds where the packed values and keys lie, then numpy gathers
and decodes all of them at once (keys are varints, decoded vectorised)."""
import numpy as np

from formats.batch import Batch, Csr

import struct

_F32_TENSOR, _F64_TENSOR, _I32_TENSOR = 0x12, 0x1A, 0x3A  # Value's tensor fields, length-delimited
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")


def _varint(buf, pos):
    b = buf[pos]
    if b < 0x80:
        return b, pos + 1
    result, shift = b & 0x7F, 7
    while True:
        pos += 1
        b = buf[pos]
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos + 1
        shift += 7


def _tensor(buf, pos):
    """(kind, values start, values end, keys start, keys end, dim) of the map entry at pos, or None.
    One-byte lengths are read inline: this runs once per record and is most of the decoding time."""
    if buf[pos] != 0x0A:  # map key string
        return None
    pos += 2 + buf[pos + 1]
    if buf[pos] != 0x12:  # map value: Value
        return None
    ln = buf[pos + 1]
    pos = pos + 2 if ln < 0x80 else _varint(buf, pos + 1)[1]
    kind = buf[pos]
    if kind != _F32_TENSOR and kind != _F64_TENSOR and kind != _I32_TENSOR:
        return None
    ln = buf[pos + 1]
    if ln < 0x80:
        pos += 2
    else:
        ln, pos = _varint(buf, pos + 1)
    tend = pos + ln
    vs = ve = ks = ke = dim = -1
    while pos < tend:
        tag = buf[pos]
        ln = buf[pos + 1]
        if ln < 0x80:
            pos += 2
        else:
            ln, pos = _varint(buf, pos + 1)
        if tag == 0x0A:
            vs, ve = pos, pos + ln
        elif tag == 0x12:
            ks, ke = pos, pos + ln
        elif tag == 0x1A:
            dim = _varint(buf, pos)[0] if ln else -1
        else:
            return None
        pos += ln
    return kind, vs, ve, ks, ke, dim


def _gather(u8, starts, lens):
    """Concatenate the byte ranges [starts[i], starts[i]+lens[i]) of u8."""
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, np.uint8)
    offs = np.cumsum(lens) - lens
    idx = np.repeat(starts - offs, lens) + np.arange(total)
    return u8[idx]


def _decode_varints(b):
    """Every varint in b, vectorised; returns (values int64, terminator flags)."""
    term = b < 0x80
    gid = np.cumsum(term) - term
    first = np.flatnonzero(np.concatenate(([True], term[:-1])))
    shift = np.arange(len(b)) - first[gid]
    vals = np.bincount(gid, weights=(b & 0x7F).astype(np.float64) * np.exp2(7.0 * shift))
    return vals.astype(np.int64), term


def decode(big, starts, lengths, feature_dim=None):
    """Batch of the sparse float records at big[starts[i]:starts[i]+lengths[i]], or None when any
    record is outside this layout (the caller then uses the protobuf parser)."""
    n = len(starts)
    big = bytes(big)  # indexing bytes is faster than indexing a memoryview
    u8 = np.frombuffer(big, dtype=np.uint8)
    vstart = np.empty(n, np.int64)
    vlen = np.empty(n, np.int64)
    kstart = np.empty(n, np.int64)
    klen = np.empty(n, np.int64)
    labels = np.zeros(n, np.float32)
    labelled = 0
    kinds = set()
    width = feature_dim or 0
    for i in range(n):
        pos = starts[i]
        end = pos + lengths[i]
        feat = None
        while pos < end:
            tag = big[pos]
            ln = big[pos + 1]
            if ln < 0x80:
                pos += 2
            else:
                ln, pos = _varint(big, pos + 1)
            if tag == 0x0A and feat is None:
                feat = _tensor(big, pos)
                if feat is None or feat[3] < 0:
                    return None
            elif tag == 0x12:
                lab = _tensor(big, pos)
                if lab is None or lab[3] >= 0 or lab[2] <= lab[1]:
                    return None
                if lab[0] == _F32_TENSOR:
                    labels[i] = _F32.unpack_from(big, lab[1])[0]
                elif lab[0] == _F64_TENSOR:
                    labels[i] = _F64.unpack_from(big, lab[1])[0]
                else:
                    v = _varint(big, lab[1])[0]
                    labels[i] = v - (1 << 64) if v >= 1 << 63 else v
                labelled += 1
            else:
                return None
            pos += ln
        if pos != end or feat is None:
            return None
        kind, vs, ve, ks, ke, dim = feat
        if kind == _I32_TENSOR:
            return None
        kinds.add(kind)
        vstart[i], vlen[i], kstart[i], klen[i] = vs, ve - vs, ks, ke - ks
        if dim > width:
            if feature_dim is not None:
                return None  # the generic path reports the mismatch
            width = dim
    if len(kinds) != 1:
        return None
    itemsize = 4 if kinds.pop() == _F32_TENSOR else 8
    data = _gather(u8, vstart, vlen).view("<f4" if itemsize == 4 else "<f8").astype(np.float32)
    keys, term = _decode_varints(_gather(u8, kstart, klen))
    counts = vlen // itemsize
    if len(keys) != len(data):
        return None
    # keys per record must equal values per record
    key_ends = np.cumsum(klen)
    per_rec = np.diff(np.concatenate(([0], np.cumsum(term)[key_ends - 1]))) if len(term) else np.zeros(n, np.int64)
    if not np.array_equal(per_rec, counts):
        return None
    if len(keys) and (keys.max() >= width if width else False):
        return None
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    if labelled not in (0, n):
        return None
    if not width and len(keys):
        width = int(keys.max()) + 1
    return Batch(Csr(data, keys, indptr, (n, width)), labels if labelled else None)
