"""fastText's progress report, rewritten into the service's lines.

fastText (C++) writes `\\rProgress: 42.1% words/sec/thread: 123456 lr: 0.028 avg.loss: 1.9 ETA: ...`
to file descriptor 2 about ten times a second. While it trains, fd 2 is a pipe read by a thread that
turns those into `##### Alpha: 0.0289  Progress: 42.10%  Million Words/sec: 0.25 #####` every
`step` percent, and passes anything else fastText says (vocabulary sizes, errors) to the log.
"""
import contextlib
import os
import re
import threading
import time

_PROGRESS = re.compile(rb"Progress:\s*([\d.]+)%\s*words/sec/thread:\s*([\d.]+)\s*lr:\s*([-+\w.]+)")


class Report:
    def __init__(self):
        self.words_per_sec = 0.0   # all threads, last reading
        self.seconds = 0.0
        self.lines = []            # fastText's non-progress output


@contextlib.contextmanager
def translated(log, threads, start=0.0, span=1.0, step=5.0):
    """Capture fd 2 during the block; progress p of this run is reported as start + span * p."""
    report = Report()
    read_fd, write_fd = os.pipe()
    saved = os.dup(2)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    state = {"next": 0.0, "final": False}

    def emit(fraction, wst, lr):
        fraction = min(fraction, 1.0)  # threads overshoot the last token count a little (100.1 %)
        overall = 100.0 * (start + span * fraction)
        report.words_per_sec = wst * threads
        final = fraction >= 1.0
        if (overall + 1e-9 >= state["next"] and not final) or (final and not state["final"]):
            state["final"] = state["final"] or final
            log.info("##### Alpha: %.4f  Progress: %.2f%%  Million Words/sec: %.2f #####",
                     max(lr, 0.0), overall, wst * threads / 1e6)
            state["next"] = (int(overall // step) + 1) * step

    def handle(segment):
        m = _PROGRESS.search(segment)
        if m:
            try:
                emit(float(m.group(1)) / 100.0, float(m.group(2)), float(m.group(3)))
            except ValueError:
                pass
        elif segment.strip():
            text = segment.decode("utf-8", "replace").strip()
            report.lines.append(text)
            log.info("fastText: %s", text)

    def pump():
        pending = b""
        while True:
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            pending += chunk
            parts = re.split(rb"[\r\n]", pending)
            pending = parts.pop()
            for p in parts:
                handle(p)
        if pending:
            handle(pending)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    t0 = time.time()
    try:
        yield report
    finally:
        report.seconds = time.time() - t0
        os.dup2(saved, 2)  # closes the pipe's last write end: the reader sees the end
        os.close(saved)
        reader.join(10)
        os.close(read_fd)
