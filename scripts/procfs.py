#!/usr/bin/env python3
# Why: what the measurement scripts (request_cost.py, load_tls.py) read about a process from /proc, in one place.
"""Process counters from /proc, shared by the benchmark scripts."""

from __future__ import annotations

from pathlib import Path


def cpu_ns(pid: int) -> int:
    """The on-CPU time of the process's threads so far (/proc/PID/task/*/schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that just ended
    return total
