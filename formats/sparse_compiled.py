"""The sparse recordIO-protobuf fast path compiled with numba: recordIO framing and the Record walk of
sparse_records in one pass over the bytes, for images that carry numba (it is an algorithm extra).

An algorithm opts in with warm() (compiling the walk, or loading it from numba's cache, takes seconds
the first time: that belongs before a job's timed epochs or a server's first request, not inside
them); until then rioproto keeps its numpy path. It reads float32 sparse features (the official client's write_spmatrix_to_sparse_tensor layout for
float32 matrices) with float32, float64 or int32 labels. It stops before the first record it does not
read this way, and the caller decodes that one with the general parser, which also names what is
wrong in a bad record. Same Batch, same values, bit for bit, as sparse_records.decode.
"""
import numba
import numpy as np

from formats import recordio
from formats.batch import Batch, Csr
from formats.record_pb import Record

_MAGIC = 0xCED7230A
_F32_TENSOR, _F64_TENSOR, _I32_TENSOR = 0x12, 0x1A, 0x3A


@numba.njit(nogil=True, cache=True)
def _varint(u8, pos, end):
    """(value, next position); (-1, end + 1) when the varint runs past end (a corrupt record: the
    caller stops, and the general parser says what is wrong)."""
    result = np.int64(0)
    shift = 0
    while pos < end and shift < 64:
        b = u8[pos]
        result |= np.int64(b & 0x7F) << shift
        pos += 1
        if b < 0x80:
            return result, pos
        shift += 7
    return np.int64(-1), end + 1


@numba.njit(nogil=True, cache=True)
def _u32(u8, pos):
    return (np.uint32(u8[pos]) | (np.uint32(u8[pos + 1]) << 8) | (np.uint32(u8[pos + 2]) << 16)
            | (np.uint32(u8[pos + 3]) << 24))


@numba.njit(nogil=True, cache=True)
def _tensor(u8, pos, end):
    """(kind, values start, values end, keys start, keys end, dim) of the map entry at pos; kind -1
    when it is not a tensor entry this path reads."""
    bad = (-1, 0, 0, -1, -1, -1)
    if pos + 2 > end or u8[pos] != 0x0A:  # map key string
        return bad
    pos += 2 + u8[pos + 1]
    if pos + 2 > end or u8[pos] != 0x12:  # map value: Value
        return bad
    ln, pos = _varint(u8, pos + 1, end)
    if ln < 0 or pos >= end:
        return bad
    kind = u8[pos]
    if kind != _F32_TENSOR and kind != _F64_TENSOR and kind != _I32_TENSOR:
        return bad
    ln, pos = _varint(u8, pos + 1, end)
    tend = pos + ln
    if ln < 0 or tend > end:
        return bad
    vs = ve = 0
    ks = ke = dim = -1
    while pos < tend:
        tag = u8[pos]
        ln, pos = _varint(u8, pos + 1, tend)
        if ln < 0 or pos + ln > tend:
            return bad
        if tag == 0x0A:
            vs, ve = pos, pos + ln
        elif tag == 0x12:
            ks, ke = pos, pos + ln
        elif tag == 0x1A:
            dim = _varint(u8, pos, pos + ln)[0] if ln else -1
        else:
            return bad
        pos += ln
    return kind, vs, ve, ks, ke, dim


@numba.njit(nogil=True, cache=True)
def _walk(u8, pos, end, feature_dim, indptr, keys, vbits, labels, bits):
    """Records from u8[pos:end] into indptr/keys/vbits(float32 bits)/labels. Returns (records, non-zeros,
    bytes consumed from pos, records with a label, widest dim)."""
    start = pos
    n = nnz = labelled = 0
    width = 0
    # a label's bytes become its float through these views of one 8-byte scratch word
    bits32, as_f32, as_f64 = bits.view(np.uint32), bits.view(np.float32), bits.view(np.float64)
    indptr[0] = 0
    while pos + 8 <= end and n < labels.shape[0]:
        if _u32(u8, pos) != _MAGIC:
            break
        lrec = _u32(u8, pos + 4)
        if lrec >> 29:
            break  # a multi-part record: the general reader joins its parts
        rs = pos + 8
        re = rs + np.int64(lrec)
        if re > end:
            break
        q = rs
        fk = -1
        fvs = fve = fks = fke = fdim = 0
        lk = -1
        lvs = lve = 0
        ok = True
        while q < re:
            tag = u8[q]
            ln, q = _varint(u8, q + 1, re)
            if ln < 0 or q + ln > re:
                ok = False
                break
            if tag == 0x0A and fk < 0:
                fk, fvs, fve, fks, fke, fdim = _tensor(u8, q, q + ln)
                if fks < 0 and fve == fvs and fdim > 0:
                    fks = fke = fvs  # an all-zero sparse row: a shape, no keys, no values
                if fk != _F32_TENSOR or fks < 0:
                    ok = False
                    break
            elif tag == 0x12 and lk < 0:
                lk, lvs, lve, a, b, c = _tensor(u8, q, q + ln)
                if lk < 0 or a >= 0 or lve <= lvs:
                    ok = False
                    break
            else:
                ok = False
                break
            q += ln
        if not ok or q != re or fk < 0:
            break
        count = (fve - fvs) // 4
        if (fve - fvs) % 4 or nnz + count > keys.shape[0]:
            break
        kq = fks
        got = 0
        while kq < fke and got < count:
            key, kq = _varint(u8, kq, fke)
            if key < 0:
                break
            keys[nnz + got] = key
            got += 1
        if kq != fke or got != count:
            break
        if feature_dim > 0:
            if fdim > feature_dim:
                break
            bad = False
            for i in range(count):
                if keys[nnz + i] >= feature_dim:
                    bad = True
            if bad:
                break
        for i in range(count):
            vbits[nnz + i] = _u32(u8, fvs + 4 * i)
        if (lk == _F32_TENSOR and lve - lvs < 4) or (lk == _F64_TENSOR and lve - lvs < 8):
            break
        if lk == _F32_TENSOR:
            bits32[0] = _u32(u8, lvs)
            labels[n] = as_f32[0]
        elif lk == _F64_TENSOR:
            bits[0] = np.uint64(_u32(u8, lvs)) | (np.uint64(_u32(u8, lvs + 4)) << np.uint64(32))
            labels[n] = np.float32(as_f64[0])
        elif lk == _I32_TENSOR:
            v, after = _varint(u8, lvs, lve)
            if after > lve:
                break
            labels[n] = np.float32(v)  # a negative one is ten bytes: int64 wraps it right
        if lk >= 0:
            labelled += 1
        if fdim > width:
            width = fdim
        nnz += count
        n += 1
        indptr[n] = nnz
        pos = re + ((-np.int64(lrec)) % 4)
    return n, nnz, min(pos, end) - start, labelled, width


def decode_window(buf, pos, window, feature_dim=None):
    """(Batch, bytes used) of the records this path reads at the front of buf[pos:pos+window], or None
    when the first record there is not one of them."""
    end = min(len(buf), pos + window)
    u8 = np.frombuffer(buf, np.uint8)
    size = end - pos
    max_records = size // 12 + 1
    max_nnz = size // 5 + 1
    indptr = np.empty(max_records + 1, np.int64)
    keys = np.empty(max_nnz, np.int64)
    vbits = np.empty(max_nnz, np.uint32)
    labels = np.empty(max_records, np.float32)
    n, nnz, used, labelled, width = _walk(u8, pos, end, feature_dim or 0, indptr, keys, vbits, labels,
                                          np.empty(1, np.uint64))
    if n == 0 or labelled not in (0, n):
        return None
    if feature_dim:
        width = feature_dim
    elif nnz:
        width = max(width, int(keys[:nnz].max()) + 1)
    features = Csr(vbits[:nnz].view(np.float32), keys[:nnz], indptr[:n + 1], (n, width))
    return Batch(features, labels[:n] if labelled else None), used


_warm = False


def ready():
    return _warm


def warm():
    """Compile the walk (or load it from numba's cache) on one record, and turn this path on."""
    global _warm
    if not _warm:
        rec = Record()
        t = rec.features["values"].float32_tensor
        t.values.append(1.0)
        t.keys.append(1)
        t.shape.append(2)
        rec.label["values"].float32_tensor.values.append(1.0)
        data = recordio.encode(rec.SerializeToString())
        assert decode_window(data, 0, len(data), 2) is not None
        _warm = True
