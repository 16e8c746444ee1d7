"""One error taxonomy for every layer: whose fault it was decides the failure file and the HTTP status.

- ClientError: the user's data, hyperparameters, channels or request. Training writes `ClientError: ...`
  to the failure file; serving answers with `status` (400 unless the raiser chose another 4xx).
- AlgorithmError: ours. `AlgorithmError: ...`, HTTP 500.
- PlatformError: the environment the platform promised is not there (a host that never resolves, a
  missing mount). `PlatformError: ...`, HTTP 500.
"""


class ClientError(Exception):
    status = 400

    def __init__(self, message="", status=None):
        super().__init__(message)
        if status is not None:
            if not 400 <= int(status) < 500:
                raise ValueError("a client error's status is a 4xx, not %r" % status)
            self.status = int(status)

    @property
    def message(self):
        return str(self)


class ConfigError(ClientError):
    """A configuration file the user supplied (hyperparameters, channels) is wrong."""


class AlgorithmError(Exception):
    pass


class PlatformError(Exception):
    pass


def failure_kind(exc):
    """The failure file's prefix for an exception: ClientError, PlatformError or AlgorithmError."""
    if isinstance(exc, ClientError):
        return "ClientError"
    if isinstance(exc, PlatformError):
        return "PlatformError"
    return "AlgorithmError"
