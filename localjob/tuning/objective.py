"""The objective metric of one training job, read from its hosts' logs as they grow.

The service reads metrics from the log stream with the metric's regex (the log pipeline shows a tab as
#011) and, for tuning, takes "the last-reported objective metric from all instances". Each value a host
reports is also one step of that host's learning curve, which Auto early stopping compares across jobs.
"""
import math
import os
import re
import time

from localjob.metrics import service_line


class LogTail:
    """New complete lines of a file that another thread is writing."""

    def __init__(self, path):
        self.path = path
        self._f = None
        self._rest = ""

    def lines(self):
        if self._f is None:
            if not os.path.exists(self.path):
                return []
            self._f = open(self.path, "r", errors="replace")
        chunk = self._f.read()
        if not chunk:
            return []
        text = self._rest + chunk
        parts = text.split("\n")
        self._rest = parts.pop()
        return parts

    def close(self):
        """Whatever is left, even without its newline (the log is complete)."""
        rest = self.lines()
        if self._rest:
            rest.append(self._rest)
            self._rest = ""
        if self._f is not None:
            self._f.close()
            self._f = None
        return rest


class ObjectiveReader:
    def __init__(self, regex, log_paths):
        """log_paths: {host: path}, the first host's curve being the one early stopping looks at."""
        self.rx = re.compile(regex)
        self.tails = [(host, LogTail(path)) for host, path in log_paths.items()]
        self.curves = {host: [] for host in log_paths}
        self.last = None  # (value, host, arrival)

    def _feed(self, host, line, now):
        new = 0
        for m in self.rx.finditer(service_line(line)):
            try:
                v = float(m.group(1))
            except (IndexError, TypeError, ValueError):
                continue
            if math.isnan(v) or math.isinf(v):
                continue  # the service drops values it cannot store
            self.curves[host].append(v)
            self.last = (v, host, now)
            new += 1
        return new

    def poll(self, final=False):
        """Read what the logs gained; returns how many values the first host's curve gained."""
        now = time.time()
        gained = 0
        for i, (host, tail) in enumerate(self.tails):
            for line in (tail.close() if final else tail.lines()):
                n = self._feed(host, line, now)
                if i == 0:
                    gained += n
        return gained

    @property
    def curve(self):
        return self.curves[self.tails[0][0]] if self.tails else []

    @property
    def final(self):
        return self.last[0] if self.last else None
