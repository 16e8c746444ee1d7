"""FinalMetricDataList: the algorithm's declared metric regexes over the job's log, last match wins."""
import re


def definitions(declaration):
    """[(name, compiled regex)] from an algorithm.yaml's `metrics` list: the given regex, or the one the
    runtime derives from the metric's parts (channel, metric, kind, per_epoch)."""
    out = []
    for m in (declaration or {}).get("metrics") or []:
        regex = m.get("regex")
        if not regex:
            from contract.declaration import metric_regex
            regex = metric_regex(m)
        out.append((m["name"], re.compile(regex)))
    return out


def service_line(line):
    # the service's log pipeline (syslog escaping) shows a tab as #011; metric regexes are written for that
    return line.replace("\t", "#011")


class MetricCollector:
    def __init__(self, defs):
        self.defs = defs
        self.final = {}  # name -> (value, timestamp)

    def feed(self, line, timestamp):
        """Returns True when the line carried a declared metric."""
        line = service_line(line)
        hit = False
        for name, rx in self.defs:
            for m in rx.finditer(line):
                try:
                    value = float(m.group(1))
                except (IndexError, ValueError):
                    continue
                if value != value or value in (float("inf"), float("-inf")):
                    continue  # the service drops values it cannot store
                self.final[name] = (value, timestamp)
                hit = True
        return hit

    def final_metric_data_list(self, fmt_time):
        return [{"MetricName": name, "Value": value, "Timestamp": fmt_time(ts)}
                for name, (value, ts) in sorted(self.final.items())]
