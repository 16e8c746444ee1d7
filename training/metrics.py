"""Metric lines in the exact shapes the service's MetricDefinitions regexes read."""
import logging


class Metrics:
    def __init__(self, host, log=None):
        self.host = host
        self.log = log or logging.getLogger("training")

    def _emit(self, line):
        self.log.info(line)

    def quality(self, channel, name, value, kind="loss", epoch=None):
        ep = "" if epoch is None else "epoch=%s, " % epoch
        self._emit("#quality_metric: host=%s, %s%s %s <%s>=%s" % (self.host, ep, channel, name, kind,
                                                                    _num(value)))

    def progress(self, fraction):
        self._emit("#progress_metric: host=%s, completed %.1f %% of epochs" % (self.host, 100.0 * fraction))

    def throughput(self, channel, records_per_second):
        self._emit("#throughput_metric: host=%s, %s throughput=%.1f records/second"
                   % (self.host, channel, records_per_second))


def _num(v):
    return repr(float(v))
