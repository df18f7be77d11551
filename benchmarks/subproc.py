"""Wait for a benchmark's child process with a deadline, keeping its resource usage (wait4)."""

from __future__ import annotations

import os
import subprocess
import time


def wait_with_deadline(proc: subprocess.Popen[str], timeout: float) -> tuple[int, os.struct_rusage] | None:
    """The child's exit code and rusage (ru_maxrss: its peak RSS), or None when it ran past `timeout`
    seconds and was killed."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            return os.waitstatus_to_exitcode(status), usage
        if time.monotonic() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            return None
        time.sleep(0.05)
