"""SIGTERM handling. The platform sends SIGTERM, then SIGKILL 120 s later: the algorithm gets a flag to
check between mini-batches, and a read blocked on a pipe whose writer is still open is interrupted
(Python would otherwise retry the read after the signal and never return)."""
import signal


class Interrupted(BaseException):
    """Raised out of a blocking channel read once a stop was requested."""


_state = {"stop": False, "blocking": 0}


def _on_term(signum, frame):
    _state["stop"] = True
    if _state["blocking"]:
        raise Interrupted()


def install(log):
    def handler(signum, frame):
        log.info("SIGTERM received: finishing with the model trained so far")
        _on_term(signum, frame)
    signal.signal(signal.SIGTERM, handler)


def requested():
    return _state["stop"]


class blocking:
    """Marks a read that may block forever; SIGTERM inside it raises Interrupted."""

    def __enter__(self):
        if _state["stop"]:
            raise Interrupted()
        _state["blocking"] += 1

    def __exit__(self, *exc):
        _state["blocking"] -= 1
        return False
