"""The CPU cores this process may use: one count for torch threads, book chapters and worker pools."""
from __future__ import annotations

import os


def available_cores() -> int:
    """The cores in this process's affinity mask (not the machine's count, which a container or taskset narrows)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)
