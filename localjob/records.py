"""Cut an input object into whole records (SplitType) and pack them into payloads (BatchStrategy)."""
import struct

from localjob.uris import RequestError

_MAGIC = 0xCED7230A
_HEADER = struct.Struct("<II")


def split_lines(data):
    """Line records, each keeping its newline; a missing newline at the end is not a missing record."""
    out = []
    start = 0
    n = len(data)
    while start < n:
        end = data.find(b"\n", start)
        end = n if end < 0 else end + 1
        out.append(data[start:end])
        start = end
    return out


def split_recordio(data, name="input"):
    """RecordIO records as the exact bytes on disk, continuation parts kept with their record."""
    out = []
    pos = start = 0
    n = len(data)
    while pos < n:
        if pos + 8 > n:
            raise RequestError("%s: truncated RecordIO header at byte %d" % (name, pos))
        magic, lrec = _HEADER.unpack_from(data, pos)
        if magic != _MAGIC:
            raise RequestError("%s: bad RecordIO magic at byte %d (SplitType RecordIO needs RecordIO data)"
                               % (name, pos))
        flag, length = lrec >> 29, lrec & ((1 << 29) - 1)
        pos += 8 + length + (4 - length % 4) % 4
        if pos > n:
            raise RequestError("%s: truncated RecordIO record at byte %d" % (name, start))
        if flag in (0, 3):  # a whole record, or the last part of one
            out.append(data[start:pos])
            start = pos
    if start != n:
        raise RequestError("%s: RecordIO multi-part record not terminated" % name)
    return out


def split(data, split_type, name="input"):
    if split_type in (None, "None"):
        return [data] if data else []
    if split_type == "Line":
        return split_lines(data)
    if split_type == "RecordIO":
        return split_recordio(data, name)
    raise RequestError("SplitType %r is not supported locally (None, Line, RecordIO)" % split_type)


def payloads(records, strategy, max_bytes, name="input"):
    """Lists of whole records: one per payload for SINGLE_RECORD, as many as fit for MULTI_RECORD.

    max_bytes 0 means no limit (the platform then streams with chunked encoding).
    """
    batch, size = [], 0
    for i, rec in enumerate(records):
        if max_bytes and len(rec) > max_bytes:
            raise RequestError("%s: record %d is %d bytes, more than MaxPayloadInMB allows (%d bytes)"
                               % (name, i, len(rec), max_bytes))
        if strategy == "SINGLE_RECORD":
            yield [rec]
            continue
        if batch and max_bytes and size + len(rec) > max_bytes:
            yield batch
            batch, size = [], 0
        batch.append(rec)
        size += len(rec)
    if batch:
        yield batch
