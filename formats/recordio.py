"""MXNet/dmlc RecordIO framing: magic, 29-bit length + 3-bit continuation flag, 4-byte padding.

A payload containing the magic word at a 4-byte boundary is written as several parts (flags 1, 2, 3)
with the magic removed at each cut; reading joins the parts and puts the magic back.
"""
import struct

import numpy as np

from formats.batch import FormatError

MAGIC = 0xCED7230A
MAGIC_BYTES = struct.pack("<I", MAGIC)
_HEADER = struct.Struct("<II")
_LEN_MASK = (1 << 29) - 1


def _pad(n):
    return (4 - n % 4) % 4


def encode(payload: bytes) -> bytes:
    """Frame one record, splitting it where the payload holds the magic word (as dmlc does)."""
    cuts = []
    if len(payload) >= 4:
        words = np.frombuffer(payload, dtype="<u4", count=len(payload) // 4)
        cuts = (np.flatnonzero(words == MAGIC) * 4).tolist()
    if not cuts:
        return _HEADER.pack(MAGIC, len(payload)) + payload + b"\0" * _pad(len(payload))
    out, start = [], 0
    for i, cut in enumerate(cuts):
        part = payload[start:cut]
        flag = 1 if i == 0 else 2
        out.append(_HEADER.pack(MAGIC, (flag << 29) | len(part)) + part + b"\0" * _pad(len(part)))
        start = cut + 4
    part = payload[start:]
    out.append(_HEADER.pack(MAGIC, (3 << 29) | len(part)) + part + b"\0" * _pad(len(part)))
    return b"".join(out)


def encode_all(payloads) -> bytes:
    return b"".join(encode(p) for p in payloads)


def split(buf, final=True, first_index=0):
    """Split a buffer into record payloads (bytes).

    Returns (payloads, consumed): with final=False a trailing incomplete record is left for the caller
    to prepend to the next chunk. Errors name the record by its index in the stream.
    """
    mv = memoryview(buf)
    n = len(mv)
    pos = consumed = 0
    out = []
    parts = None
    unpack = _HEADER.unpack_from
    while pos + 8 <= n:
        magic, lrec = unpack(mv, pos)
        index = first_index + len(out)
        if magic != MAGIC:
            raise FormatError("record %d: bad RecordIO magic number at byte %d (not recordIO-protobuf data?)"
                              % (index, pos))
        flag, length = lrec >> 29, lrec & _LEN_MASK
        end = pos + 8 + length
        if end > n:
            break
        part = bytes(mv[pos + 8:end])
        pos = end + _pad(length)
        if flag == 0 or flag == 1:
            if parts is not None:
                raise FormatError("record %d: multi-part record not terminated" % index)
            if flag == 0:
                out.append(part)
            else:
                parts = [part]
        elif flag in (2, 3):
            if parts is None:
                raise FormatError("record %d: continuation part without a start" % index)
            parts.append(part)
            if flag == 3:
                out.append(MAGIC_BYTES.join(parts))
                parts = None
        else:
            raise FormatError("record %d: bad RecordIO continuation flag %d" % (index, flag))
        if parts is None:
            consumed = min(pos, n)
    if final and consumed < n:
        raise FormatError("record %d: truncated RecordIO record (%d trailing bytes)"
                          % (first_index + len(out), n - consumed))
    return out, consumed


def spans(buf, first_index=0):
    """(starts, lengths, consumed) of the complete single-part records at the front of buf, stopping
    before any multi-part record (the caller hands those to split()). No payload is copied."""
    mv = memoryview(buf)
    n = len(mv)
    pos = 0
    starts, lens = [], []
    unpack = _HEADER.unpack_from
    while pos + 8 <= n:
        magic, lrec = unpack(mv, pos)
        if magic != MAGIC:
            raise FormatError("record %d: bad RecordIO magic number at byte %d (not recordIO-protobuf data?)"
                              % (first_index + len(starts), pos))
        if lrec >> 29:
            break
        end = pos + 8 + lrec
        if end > n:
            break
        starts.append(pos + 8)
        lens.append(lrec)
        pos = end + (-lrec) % 4
    return starts, lens, min(pos, n)
