"""Whether a process on this host is still alive: used to find work a dead process left."""

from __future__ import annotations

import os
from datetime import datetime

_CLOCK_SLACK_S = 2.0  # boot time is known to the second only


def process_alive(pid: int, *, started_by: datetime | None = None) -> bool:
    """Whether process ``pid`` runs on this host (not a zombie) and began by ``started_by``.

    Without ``/proc`` (macOS, Windows) only the existence of the pid is checked.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists but belongs to another user
        pass
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except FileNotFoundError:
        return not os.path.isdir("/proc/self")  # no /proc at all: trust os.kill
    except OSError:
        return True
    # Fields after the command name, which is in parentheses and may hold anything.
    fields = stat[stat.rfind(b")") + 2 :].split()
    if fields[0] in (b"Z", b"X"):  # a zombie has exited; only its exit status remains
        return False
    if started_by is not None:
        began = _process_start(int(fields[19]))
        if began is not None and began > started_by.timestamp() + _CLOCK_SLACK_S:
            return False  # the pid was reused by a younger process
    return True


def _process_start(ticks_after_boot: int) -> float | None:
    """A process's start time (seconds since the epoch) from its ``/proc`` start ticks."""
    try:
        with open("/proc/stat", "rb") as fh:
            for line in fh:
                if line.startswith(b"btime "):
                    boot = float(line.split()[1])
                    return boot + ticks_after_boot / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None
    return None
