"""A pipeline killed mid-step is marked failed by the next runner and leaves nothing behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from loopml.domain import RunStatus
from loopml.pipeline import Runner, Step, StepContext, recover_dead_runs
from loopml.processes import process_alive
from loopml.storage.artifacts import LocalArtifactStore
from loopml.storage.metadata import MetadataStore

# The child runs prepare, then "slow", which streams a model through put_file from a pipe
# that never closes: the artifact store has written its first MiB to a .part file when the
# test kills the process.
CHILD = textwrap.dedent(
    """
    import os, sys, threading, time
    from loopml.pipeline import Runner, Step
    from loopml.storage.artifacts import LocalArtifactStore
    from loopml.storage.metadata import open_metadata_store

    db_url, artifacts_dir, fifo = sys.argv[1:4]
    store = open_metadata_store(db_url)
    artifacts = LocalArtifactStore(artifacts_dir)
    project_id = store.ensure_project("churn").project_id

    def feed():
        with open(fifo, "wb") as pipe:
            pipe.write(b"m" * (1 << 20) + b"tail")
            pipe.flush()
            time.sleep(600)

    def prepare(ctx):
        return {"numbers": [1, 2, 3]}

    def slow(ctx, numbers):
        os.mkfifo(fifo)
        threading.Thread(target=feed, daemon=True).start()
        ref = ctx.artifacts.put_file(fifo)  # blocks after the first chunk
        return {"model": ref.digest}

    Runner(store, artifacts, project_id, code_version="1").run(
        [
            Step("prepare", prepare, outputs={"numbers": "json"}),
            Step("slow", slow, inputs=("numbers",), outputs={"model": "json"}),
        ]
    )
    """
)


def _prepare(ctx: StepContext) -> dict[str, Any]:
    return {"numbers": [1, 2, 3]}


def _fast(ctx: StepContext, numbers: list[int]) -> dict[str, Any]:
    return {"model": "quick"}


def _wait_for(condition: Any, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            pytest.fail(f"the child exited ({proc.returncode}) before {what}:\n{out}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX pipes and SIGKILL")
def test_a_killed_pipeline_is_marked_failed_and_its_partial_write_swept(
    store: MetadataStore,
    artifacts: LocalArtifactStore,
    project_id: str,
    db_url: str,
    tmp_path: Path,
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url, str(artifacts.root), str(tmp_path / "fifo")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    tmp_dir = artifacts.root / "tmp"

    def slow_is_writing() -> bool:
        running = store.list_runs(project_id, name="slow", status=RunStatus.RUNNING)
        parts = list(tmp_dir.glob(f"{proc.pid}-*.part")) if tmp_dir.exists() else []
        return bool(running) and any(p.stat().st_size >= 1 << 20 for p in parts)

    try:
        _wait_for(slow_is_writing, proc, "the slow step to write its partial artifact")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()

    killed = store.list_runs(project_id, name="slow")[0]
    assert killed.status is RunStatus.RUNNING  # nobody knows yet
    assert list(tmp_dir.glob("*.part"))

    runner = Runner(store, artifacts, project_id, code_version="1")
    result = runner.run(
        [
            Step("prepare", _prepare, outputs={"numbers": "json"}),
            Step("slow", _fast, inputs=("numbers",), outputs={"model": "json"}),
        ]
    )

    died = f"process {proc.pid} on {socket.gethostname()} died while running step 'slow' (killed?)"
    killed = store.get_run(killed.run_id)
    assert killed.status is RunStatus.FAILED
    assert killed.error == died
    assert killed.outputs == {} and store.list_artifacts(killed.run_id) == []
    old_parent = store.get_run(killed.parent_run_id or "")
    assert old_parent.status is RunStatus.FAILED and old_parent.error == died

    assert list(tmp_dir.iterdir()) == []  # the .part file was swept
    made = {str(artifacts.path(d)) for d in result.outputs.values()}
    on_disk = {str(p) for p in (artifacts.root / "sha256").rglob("*") if p.is_file()}
    assert on_disk == made  # nothing of the killed write is visible

    assert {r.step: r.run.status for r in result.steps} == {
        "prepare": RunStatus.REUSED,
        "slow": RunStatus.SUCCEEDED,
    }
    assert recover_dead_runs(store, project_id) == []  # nothing left to recover


def test_runs_of_live_processes_are_left_alone(store: MetadataStore, project_id: str) -> None:
    mine = store.create_run(project_id, "train")
    assert recover_dead_runs(store, project_id) == []
    assert store.get_run(mine.run_id).status is RunStatus.RUNNING


def test_process_alive() -> None:
    assert process_alive(os.getpid())
    assert not process_alive(0)

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process_alive(proc.pid):
        time.sleep(0.02)  # exited but not reaped: a zombie counts as dead
    assert not process_alive(proc.pid)
    proc.wait()
    assert not process_alive(proc.pid)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_reused_pid_is_not_mistaken_for_the_runs_process() -> None:
    now = datetime.now(UTC)
    assert process_alive(os.getpid(), started_by=now)
    assert not process_alive(os.getpid(), started_by=now - timedelta(days=3650))
