"""The test helpers' train process: a wait that times out takes the whole process group with it."""
import os
import subprocess
import time

import pytest

from helpers import TrainProcess


def test_timed_out_wait_kills_the_process_group(tmp_path):
    pidfile = tmp_path / "child.pid"
    # a leader whose child (as a kvstore server would be) outlives a kill of the leader alone
    p = TrainProcess(["sh", "-c", 'sleep 300 & echo $! > "$0"; wait', str(pidfile)], stdout=subprocess.PIPE)
    deadline = time.time() + 10
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.time() < deadline:
        time.sleep(0.05)
    child = int(pidfile.read_text())
    with pytest.raises(subprocess.TimeoutExpired):
        p.communicate(timeout=0.5)
    p.wait(timeout=10)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        with open("/proc/%d/stat" % child) as f:  # a zombie waiting for its reaper is gone too
            if f.read().split(") ")[1].startswith("Z"):
                return
        time.sleep(0.05)
    raise AssertionError("the leader's child %d outlived the timed-out wait" % child)
