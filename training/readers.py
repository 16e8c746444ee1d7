"""Chunked readers from channel streams to Batches, with errors naming file and record or line."""
import queue
import threading

from formats import csv as csvfmt
from formats import rioproto
from formats.batch import FormatError, concat
from formats.codecs import CSV, RECORDIO
from training import stopping
from training.errors import ClientError

CHUNK = 8 << 20


class _Buffer:
    """One reusable read buffer: the unused tail (part of a record or line) moves to the front and
    new data is read in behind it, so whole chunks are never copied."""

    def __init__(self, f):
        self.f = f
        self.buf = bytearray(CHUNK)
        self.pending = 0

    def fill(self):
        """(view of pending + new data, last) or None when nothing is left."""
        if self.pending == len(self.buf):
            self.buf.extend(bytes(len(self.buf)))  # a record longer than the buffer
        with stopping.blocking():
            n = self.f.readinto1(memoryview(self.buf)[self.pending:])  # what a pipe has now
        total = self.pending + n
        if total == 0:
            return None
        self.total = total
        return memoryview(self.buf)[:total], n == 0

    def consume(self, used):
        self.pending = self.total - used
        self.buf[:self.pending] = self.buf[used:self.total]


def _recordio(name, f, feature_dim, channel):
    dec = rioproto.Decoder(feature_dim)
    buf = _Buffer(f)
    while True:
        got = buf.fill()
        if got is None:
            break
        view, last = got
        try:
            batch, used = dec.decode(view, final=last)
        except FormatError as e:
            raise ClientError("channel %s, file %s: %s" % (channel, name, e)) from None
        buf.consume(used)
        if batch is not None:
            yield batch
        if last:
            break
    if dec.records == 0:
        raise ClientError("channel %s, file %s: no records" % (channel, name))


def _csv(name, f, feature_dim, channel, label_size):
    line = 1
    buf = _Buffer(f)
    while True:
        got = buf.fill()
        if got is None:
            break
        view, last = got
        data = bytes(view)
        cut = len(data) if last else data.rfind(b"\n") + 1
        buf.consume(cut)
        if cut == 0:
            continue
        part = data if cut == len(data) else data[:cut]
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


READERS = {
    RECORDIO: lambda name, f, channel, feature_dim, label_size: _recordio(name, f, feature_dim, channel.name),
    CSV: lambda name, f, channel, feature_dim, label_size: _csv(name, f, feature_dim, channel.name, label_size),
}


def register(mime, reader):
    """Add a record reader: reader(display_name, binary_file, channel, feature_dim, label_size) yields
    formats.Batch objects and raises ClientError naming the file and record or line."""
    READERS[mime] = reader


def read(channel, epoch, feature_dim, label_size):
    ctype = channel.content_type or RECORDIO
    reader = READERS.get(ctype)
    if reader is None:
        raise ClientError("channel %s: content type %s cannot be read as records" % (channel.name, ctype))
    try:
        for name, f in channel.streams(epoch):
            yield from reader(name, f, channel, feature_dim, label_size)
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


_DONE = object()


def prefetch(batches, depth=4):
    """Decode the next batches in a thread while the algorithm computes on this one (numpy and MXNet
    release the GIL). SIGTERM is seen by the consumer between batches; the reader thread is a daemon."""
    q = queue.Queue(depth)

    def produce():
        try:
            for b in batches:
                q.put(b)
            q.put(_DONE)
        except BaseException as e:  # handed to the consumer, raised there
            q.put(e)

    threading.Thread(target=produce, name="prefetch", daemon=True).start()
    while True:
        try:
            item = q.get(timeout=0.2)
        except queue.Empty:
            if stopping.requested():
                return
            continue
        if item is _DONE:
            return
        if isinstance(item, BaseException):
            raise item
        yield item
