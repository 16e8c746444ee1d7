"""Several hosts: xgboost's own collective. The first host runs the tracker; every host is one worker.

xgboost 2.1's RabitTracker ignores the port it is given and listens on a random one, so the first host
also answers on the agreed port with the tracker's real port (a one-line rendezvous).
"""
import contextlib
import os
import socket
import threading
import time

from training.distributed import resolve

TRACKER_PORT_ENV = "SAGEMAKER_XGBOOST_TRACKER_PORT"  # tests pick a free port
DEFAULT_TRACKER_PORT = 9099
# A fresh cluster's hosts come up over minutes; data loading counts against this too.
TRACKER_TIMEOUT_S = 1800


class _PortAnnouncer:
    def __init__(self, port, tracker_port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", port))
        self.sock.listen(64)
        self.answer = b"%d\n" % tracker_port
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            with conn:
                conn.sendall(self.answer)

    def close(self):
        self.sock.close()


def _tracker_port(root, port, timeout=TRACKER_TIMEOUT_S):
    deadline = time.time() + timeout
    while True:
        try:
            with socket.create_connection((root, port), timeout=10) as conn:
                data = conn.makefile("rb").readline()
            return int(data)
        except (OSError, ValueError):
            if time.time() > deadline:
                raise
            time.sleep(0.5)


@contextlib.contextmanager
def communicator(job):
    """Run the body as one worker of the job's collective; a no-op on one host."""
    if len(job.hosts) < 2:
        yield
        return
    import xgboost as xgb
    from xgboost import collective
    from xgboost.tracker import RabitTracker

    port = int(os.environ.get(TRACKER_PORT_ENV, DEFAULT_TRACKER_PORT))
    root = resolve(job.hosts[0])
    tracker = announcer = None
    if job.is_master:
        # listen on every interface: the name other hosts use may not be a local address here
        tracker = RabitTracker(n_workers=len(job.hosts), host_ip="0.0.0.0", port=port, sortby="task",
                               timeout=TRACKER_TIMEOUT_S)
        tracker.start()
        real = int(tracker.worker_args()["dmlc_tracker_port"])
        announcer = _PortAnnouncer(port, real)
        job.log.info("xgboost tracker on port %d (announced on %d) for %d hosts", real, port, len(job.hosts))
    real = _tracker_port(root, port)
    args = {"dmlc_tracker_uri": root, "dmlc_tracker_port": real, "dmlc_task_id": str(job.host_rank),
            "dmlc_timeout": TRACKER_TIMEOUT_S}
    job.log.info("joining the xgboost collective at %s:%d as task %d", root, real, job.host_rank)
    failed = False
    try:
        with collective.CommunicatorContext(**args):
            job.log.info("collective up: rank %d of %d", collective.get_rank(), collective.get_world_size())
            yield
    except BaseException:
        failed = True  # the other workers may never finish: do not wait on the tracker for long
        raise
    finally:
        if announcer is not None:
            announcer.close()
        if tracker is not None:
            try:
                tracker.wait_for(timeout=60 if failed else None)
            except (ValueError, xgb.core.XGBoostError) as e:
                job.log.warning("tracker did not shut down cleanly: %s", e)
            tracker.free()
