"""Timing of whole processes for the benchmarks that run each contender as a command (a fresh interpreter,
as a user runs it): wall time, and CPU time beside it."""

from __future__ import annotations

import subprocess
import time

CPU_SECONDS: list[float] = []  # CPU time (user + system) of each timed process, in order


def timed(cmd: list[str], env: dict) -> float:
    """Wall seconds of one process; its CPU seconds are appended to CPU_SECONDS (on a shared machine the
    CPU time moves less with other load than the wall time, though it counts threads waiting busily)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SECONDS.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    if proc.returncode:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return wall
