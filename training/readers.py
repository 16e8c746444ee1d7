"""Chunked readers from channel streams to Batches, with errors naming file and record or line."""
from formats import csv as csvfmt
from formats import rioproto
from formats.batch import FormatError, concat
from formats.codecs import CSV, RECORDIO
from training import stopping
from training.errors import ClientError

CHUNK = 8 << 20


def _recordio(name, f, feature_dim, channel):
    dec = rioproto.Decoder(feature_dim)
    pending = b""
    while True:
        with stopping.blocking():
            chunk = f.read1(CHUNK)  # what a pipe has now, not a full chunk
        last = not chunk
        buf = pending + chunk if pending else chunk
        if not buf:
            break
        try:
            batch, used = dec.decode(buf, final=last)
        except FormatError as e:
            raise ClientError("channel %s, file %s: %s" % (channel, name, e)) from None
        pending = buf[used:]
        if batch is not None:
            yield batch
        if last:
            break
    if dec.records == 0:
        raise ClientError("channel %s, file %s: no records" % (channel, name))


def _csv(name, f, feature_dim, channel, label_size):
    pending = b""
    line = 1
    while True:
        with stopping.blocking():
            chunk = f.read1(CHUNK)  # what a pipe has now, not a full chunk
        last = not chunk
        buf = pending + chunk if pending else chunk
        if not buf:
            break
        cut = len(buf) if last else buf.rfind(b"\n") + 1
        if cut == 0:
            pending = buf
            continue
        part, pending = buf[:cut], buf[cut:]
        try:
            batch = csvfmt.parse(part, label_size, first_line=line)
        except FormatError as e:
            raise ClientError("channel %s, file %s: %s" % (channel, name, e)) from None
        if len(batch):
            d = batch.features.shape[1]
            if feature_dim is not None and d != feature_dim:
                raise ClientError("channel %s, file %s: line %d: has %d features (after %d label column%s),"
                                  " feature_dim is %d" % (channel, name, line, d, label_size,
                                                          "" if label_size == 1 else "s", feature_dim))
            yield batch
        line += part.count(b"\n")
        if last:
            break


def read(channel, epoch, feature_dim, label_size):
    ctype = channel.content_type or RECORDIO
    try:
        for name, f in channel.streams(epoch):
            if ctype == RECORDIO:
                yield from _recordio(name, f, feature_dim, channel.name)
            elif ctype == CSV:
                yield from _csv(name, f, feature_dim, channel.name, label_size)
            else:
                raise ClientError("channel %s: content type %s cannot be read as records"
                                  % (channel.name, ctype))
    except stopping.Interrupted:
        return  # SIGTERM: the algorithm sees stop_requested() and saves what it has


def rebatch(source, size):
    """Re-cut a stream of Batches into batches of exactly `size` rows (the last may be short)."""
    held, count = [], 0
    for b in source:
        start = 0
        n = len(b)
        while start < n:
            take = min(size - count, n - start)
            held.append(b.slice(start, start + take) if (start or take < n) else b)
            count += take
            start += take
            if count == size:
                yield concat(held)
                held, count = [], 0
    if count:
        yield concat(held)
