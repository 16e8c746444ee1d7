"""SIGTERM handling. The platform sends SIGTERM, then SIGKILL 120 s later: the algorithm gets a flag to
check between mini-batches, and a read blocked on a pipe whose writer is still open is interrupted
(Python would otherwise retry the read after the signal and never return)."""
import signal
import threading


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
    """Marks a read that may block forever; SIGTERM inside it raises Interrupted. Only the main thread
    (where Python runs signal handlers) counts: reader threads are polled by their consumer instead."""

    def __enter__(self):
        self.main = threading.current_thread() is threading.main_thread()
        if self.main:
            if _state["stop"]:
                raise Interrupted()
            _state["blocking"] += 1

    def __exit__(self, *exc):
        if self.main:
            _state["blocking"] -= 1
        return False
