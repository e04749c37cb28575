"""How many CPUs this process may use (its affinity mask, not the machine's count: containers
and ``taskset`` give a process fewer cores than ``os.cpu_count()`` reports)."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
