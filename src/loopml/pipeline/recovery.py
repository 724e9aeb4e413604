"""Finding runs whose process died (killed, crashed, power lost) and marking them failed."""

from __future__ import annotations

import contextlib
import os
import socket

from loopml.domain import Run, RunStatus
from loopml.errors import ConflictError, NotFoundError
from loopml.processes import process_alive
from loopml.storage.metadata.protocols import MetadataStore

_MAX_RUNNING = 100_000


def recover_dead_runs(store: MetadataStore, project_id: str) -> list[Run]:
    """Mark failed every running run of ``project_id`` on this host whose process is gone.

    A run records the pid and host of the process that started it. When no process with
    that pid is alive on this host, or the pid now belongs to a process started after the
    run (the pid was reused), the run can never finish: it is set to failed with the error
    ``process <pid> on <host> died while running step '<name>' (killed?)``. A pipeline's
    parent run names the step that was running when it died. Runs of other hosts are left
    alone, as their processes cannot be seen from here. Safe to call from several processes
    at once: a run another caller already finished is skipped.

    Returns:
        The runs it marked failed, as stored afterwards.
    """
    host = socket.gethostname()
    me = os.getpid()
    running = store.list_runs(project_id, status=RunStatus.RUNNING, limit=_MAX_RUNNING)
    dead = [
        run
        for run in running
        if run.host == host
        and run.pid is not None
        and run.pid != me
        and not process_alive(run.pid, started_by=run.started_at)
    ]
    dead_children: dict[str, str] = {
        run.parent_run_id: run.name for run in dead if run.parent_run_id is not None
    }
    recovered: list[Run] = []
    for run in sorted(dead, key=lambda r: r.parent_run_id is None):  # children first
        step = dead_children.get(run.run_id, run.name)
        error = f"process {run.pid} on {run.host} died while running step '{step}' (killed?)"
        with contextlib.suppress(ConflictError, NotFoundError):  # another process won
            recovered.append(store.finish_run(run.run_id, RunStatus.FAILED, error=error))
    return recovered
