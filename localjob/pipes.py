"""Pipe mode: keep creating <channel>_<epoch> FIFOs and streaming the channel's objects into them.

The platform offers epoch after epoch until the job ends; the algorithm decides how many it reads.
"""
import errno
import fcntl
import gzip
import os
import struct
import threading
import time

CHUNK = 1 << 20
_MAGIC = struct.pack("<I", 0xCED7230A)


def _recordio_wrap(payload):
    """One dmlc RecordIO record holding an object, the way RecordWrapperType=RecordIO delivers it.

    The magic word cannot appear at a 4-byte boundary inside a record, so the payload is cut there into
    continuation parts (flags 1, 2, 3), exactly as dmlc's writer does.
    """
    def part(flag, chunk):
        pad = b"\0" * ((4 - len(chunk) % 4) % 4)
        return _MAGIC + struct.pack("<I", (flag << 29) | len(chunk)) + chunk + pad
    cuts = [i for i in range(0, len(payload) - 3, 4) if payload[i:i + 4] == _MAGIC]
    if not cuts:
        return part(0, payload)
    out, start = [], 0
    for n, cut in enumerate(cuts):
        out.append(part(1 if n == 0 else 2, payload[start:cut]))
        start = cut + 4
    out.append(part(3, payload[start:]))
    return b"".join(out)


class ChannelFeeder(threading.Thread):
    def __init__(self, data_dir, name, objects, compression="None", wrapper="None", stop=None,
                 bytes_per_second=None):
        super().__init__(name="pipe-%s" % name, daemon=True)
        self.data_dir, self.channel, self.objects = data_dir, name, objects
        self.compression, self.wrapper = compression, wrapper
        self.stop_event = stop or threading.Event()
        self.rate = bytes_per_second  # None: as fast as the reader takes it
        self.epochs_done = 0
        self.bytes_sent = 0
        self.error = None

    def run(self):
        epoch = 0
        try:
            while not self.stop_event.is_set():
                path = os.path.join(self.data_dir, "%s_%d" % (self.channel, epoch))
                if not os.path.exists(path):
                    os.mkfifo(path, 0o666)
                fd = self._open_writer(path)
                if fd is None:
                    return
                try:
                    self._stream(fd)
                except BrokenPipeError:
                    pass  # the reader closed early: that epoch is over for it
                finally:
                    os.close(fd)
                    try:
                        os.unlink(path)  # a reader reopening it would wait forever
                    except OSError:
                        pass
                self.epochs_done += 1
                epoch += 1
        except Exception as e:  # reported by the runner as the job's failure
            self.error = "channel %s: pipe feeder failed: %s: %s" % (self.channel, type(e).__name__, e)

    def _open_writer(self, path):
        # O_NONBLOCK open fails with ENXIO until a reader opens the FIFO; polling lets a stop end the wait.
        while not self.stop_event.is_set():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as e:
                if e.errno in (errno.ENXIO, errno.EINTR):
                    time.sleep(0.05)
                    continue
                raise
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
            fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
            return fd
        return None

    def _chunks(self, src):
        opener = gzip.open if self.compression == "Gzip" else open
        with opener(src, "rb") as f:
            if self.wrapper == "RecordIO":
                yield _recordio_wrap(f.read())
                return
            while True:
                chunk = f.read(CHUNK if self.rate is None else max(1, min(CHUNK, int(self.rate / 10) or 1)))
                if not chunk:
                    return
                yield chunk

    def _stream(self, fd):
        for src, _key in self.objects:
            for chunk in self._chunks(src):
                view = memoryview(chunk)
                while view:
                    if self.stop_event.is_set():
                        return
                    n = os.write(fd, view)
                    view = view[n:]
                    self.bytes_sent += n
                    if self.rate:
                        time.sleep(n / float(self.rate))
