"""time_freq: the service's spelling (M, W, D, H, min and multiples such as 5min) -> what pandas 2.2+ and
GluonTS expect. Shared by training and serving."""
import re
import warnings

from contract.errors import ClientError

# unit -> (Period alias for `start`, offset alias for time features and lags). pandas >= 2.2 renamed
# the offsets: H -> h, M -> ME, T -> min, Y/A -> YE; Periods keep M and Y.
_UNITS = {
    "M": ("M", "ME"),
    "W": ("W", "W"),
    "D": ("D", "D"),
    "H": ("h", "h"),
    "min": ("min", "min"),
    "T": ("min", "min"),
    "Y": ("Y", "YE"),  # later service documentation lists Y (yearly); the 2018 guide does not
}

_PATTERN = re.compile(r"^\s*(\d*)\s*(M|W|D|H|h|min|T|Y)\s*$")


class Frequency:
    def __init__(self, text):
        m = _PATTERN.match(str(text))
        if not m or (m.group(1) and int(m.group(1)) < 1):
            raise ClientError("hyperparameter time_freq: %r is not a supported frequency; use M, W, D, H or min, "
                              "optionally with a multiple such as 5min" % (text,))
        unit = "H" if m.group(2) == "h" else m.group(2)
        n = m.group(1) if m.group(1) and int(m.group(1)) > 1 else ""
        self.text = str(text).strip()
        self.period = n + _UNITS[unit][0]
        self.offset = n + _UNITS[unit][1]

    def time_features(self):
        from gluonts.time_feature import time_features_from_frequency_str
        return time_features_from_frequency_str(self.offset)

    def lags(self):
        from gluonts.time_feature import get_lags_for_frequency
        return get_lags_for_frequency(self.offset)

    def __repr__(self):
        return "Frequency(%s -> period %s, offset %s)" % (self.text, self.period, self.offset)


def period(start, freq, where):
    """A record's `start` as a pandas Period of the series' frequency, or ClientError naming the record."""
    import pandas as pd
    if start is None or (isinstance(start, str) and not start.strip()):
        raise ClientError("%s: `start` is missing" % where)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ts = pd.Timestamp(start)
            if ts is pd.NaT:
                raise ValueError("NaT")
            if ts.tzinfo is not None:
                ts = ts.tz_localize(None)
            return pd.Period(ts, freq=freq.period)
    except (ValueError, TypeError, OverflowError) as e:
        raise ClientError("%s: `start` %r is not a time stamp (YYYY-MM-DD HH:MM:SS): %s" % (where, start, e)) from None
