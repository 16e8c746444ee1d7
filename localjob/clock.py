"""Timestamps in the shape the API's JSON responses carry them."""
import datetime


def iso(ts):
    if ts is None:
        return None
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat(timespec="milliseconds")


def job_suffix(ts):
    # the SDK names jobs <base>-YYYY-MM-DD-HH-MM-SS-mmm
    d = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return d.strftime("%Y-%m-%d-%H-%M-%S-") + "%03d" % (d.microsecond // 1000)
