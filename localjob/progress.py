"""What the user sees while a job runs (stderr, so stdout stays the Describe*-shaped JSON)."""
import sys
import time


def human_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0


def human_seconds(s):
    s = int(round(s))
    if s < 60:
        return "%ds" % s
    if s < 3600:
        return "%dm%02ds" % divmod(s, 60)
    h, rest = divmod(s, 3600)
    return "%dh%02dm" % (h, rest // 60)


class Terminal:
    def __init__(self, stream=None, quiet=False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._status_shown = False

    def line(self, text):
        if self.quiet:
            return
        if self._status_shown:
            self.stream.write("\r\033[K")
            self._status_shown = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def status(self, text):
        """A progress line: rewritten in place on a terminal, printed as a new line otherwise."""
        if self.quiet:
            return
        if self.tty:
            self.stream.write("\r\033[K" + text)
            self._status_shown = True
            self.stream.flush()
        else:
            self.line(text)

    def end_status(self, text):
        """The last progress line, left on the screen."""
        self.status(text)
        if self._status_shown:
            self.stream.write("\n")
            self.stream.flush()
            self._status_shown = False

    def summary(self, title, rows):
        if self.quiet:
            return
        width = max([len(k) for k, _ in rows] + [0])
        self.line("")
        self.line("=" * 72)
        self.line(title)
        self.line("-" * 72)
        for k, v in rows:
            self.line("%-*s  %s" % (width, k, v))
        self.line("=" * 72)


class TransferMeter:
    """records and bytes done of the total, rate and time left; printed at most every `every` seconds."""

    def __init__(self, terminal, total_records, total_bytes, every=None):
        self.t = terminal
        self.total_records, self.total_bytes = total_records, total_bytes
        self.records = self.bytes = 0
        self.start = time.time()
        self.every = every if every is not None else (0.2 if terminal.tty else 5.0)
        self._last = 0.0

    def add(self, records, nbytes):
        self.records += records
        self.bytes += nbytes
        now = time.time()
        if now - self._last >= self.every:
            self._last = now
            self.t.status(self.text())

    def text(self):
        elapsed = max(time.time() - self.start, 1e-6)
        rate = self.records / elapsed
        frac = self.bytes / float(self.total_bytes) if self.total_bytes else 1.0
        left = (elapsed / frac - elapsed) if frac > 0 else float("nan")
        return ("%d/%d records, %s/%s (%.0f%%), %.0f records/s, %s/s, %s left"
                % (self.records, self.total_records, human_bytes(self.bytes), human_bytes(self.total_bytes),
                   100 * frac, rate, human_bytes(self.bytes / elapsed),
                   human_seconds(left) if left == left else "?"))
