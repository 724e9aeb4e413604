"""The search on a Dask cluster: a real LocalCluster (2 worker processes x 1 thread,
started once), SQLite (journal study) and PostgreSQL (Optuna's RDBStorage) stores, a
worker killed mid-trial, a scheduler lost mid-search, a remote cluster with SQLite."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.train.frames import bank_sample, transform_factory, with_models

from loopml.compute import DaskExecutor
from loopml.domain import RunStatus
from loopml.errors import StageError
from loopml.spec import ProjectSpec
from loopml.storage.metadata import open_metadata_store
from loopml.train.search import SearchResult, run_search
from loopml.train.studies import LOST, optuna_schema

ROOT = Path(__file__).resolve().parents[2]
NOISY = {
    "name": "noisy",
    "estimator": "tests.train.custom_models:Noisy",
    "space": {"noise": {"low": 0.0, "high": 1.0}},
}
BOOM = {"name": "boom", "estimator": "tests.train.custom_models:FailsOnSecondFit"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskExecutor]:
    with DaskExecutor("local:2", threads_per_worker=1) as executor:
        yield executor


@pytest.fixture(scope="module")
def bank() -> tuple[pd.DataFrame, ProjectSpec]:
    return bank_sample(1500)


class Tracking:
    """A store at ``url``, a project and a parent run."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.store = open_metadata_store(url)
        self.project_id = self.store.ensure_project("cluster").project_id
        self.parent = self.store.create_run(self.project_id, "train").run_id

    def search(self, frame: pd.DataFrame, spec: ProjectSpec, executor: Any, **kw: Any) -> Any:
        return run_search(
            frame,
            spec,
            make_transform=transform_factory(frame, spec),
            store=self.store,
            project_id=self.project_id,
            parent_run_id=self.parent,
            snapshot_id="snap-1",
            executor=executor,
            store_url=self.url,
            **kw,
        )

    def trials(self) -> list[Any]:
        return self.store.list_runs(self.project_id, name="trial", parent_run_id=self.parent)


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Tracking]:
    tracking = Tracking(f"sqlite:///{tmp_path / 'loopml.db'}")
    yield tracking
    tracking.store.close()


def check_trials(tracking: Tracking, result: SearchResult, trials: int) -> None:
    """Every trial a finished child run with its params, tags and per-fold metrics."""
    runs = {r.run_id: r for r in tracking.trials()}
    assert len(runs) == trials == result.trials_run
    assert sorted(int(r.tags["trial"]) for r in runs.values()) == list(range(trials))
    for row in result.trials:
        run = runs[row["run_id"]]
        assert run.tags["state"] == row["state"] and run.tags["snapshot_id"] == "snap-1"
        assert run.status is (RunStatus.FAILED if row["state"] == "failed" else RunStatus.SUCCEEDED)
        assert run.tags["worker"] in ("0", "1") and row["pid"] != os.getpid()
        folds = [m.step for m in tracking.store.get_metrics(run.run_id, "roc_auc")]
        assert folds == list(range(int(run.tags["folds"])))


def test_a_search_on_the_cluster_with_a_sqlite_store(
    cluster: DaskExecutor, bank: tuple[pd.DataFrame, ProjectSpec], sqlite: Tracking
) -> None:
    frame, spec = bank
    spec = with_models(
        spec,
        candidates=["noisy", "boom"],
        custom=[NOISY, BOOM],
        search={"trials": 10, "folds": 3, "pruning": True},
    )
    progress: list[str] = []
    result = sqlite.search(frame, spec, cluster, progress=lambda m, f: progress.append(m))
    assert result.workers == 2 and result.trials_requested == 10
    assert result.trials_completed >= 1 and result.trials_failed >= 1  # boom's 2nd fold
    check_trials(sqlite, result, 10)
    rows = {row["trial"]: row for row in result.trials}
    assert [rows[i]["algorithm"] for i in (0, 1)] == ["noisy", "boom"]  # defaults first
    assert rows[1]["state"] == "failed" and "user estimator broke" in rows[1]["error"]
    assert {row["worker"] for row in result.trials} == {"0", "1"}  # both workers ran trials
    assert result.algorithm == "noisy" and result.score == max(
        row["value"] for row in result.trials if row["state"] == "complete"
    )
    summary = sqlite.store.latest_metrics([sqlite.parent])[sqlite.parent]
    assert summary["trials_completed"] == result.trials_completed
    assert progress and progress[-1].startswith("10/10 trials")


def test_a_search_on_the_cluster_with_a_postgres_store(
    cluster: DaskExecutor, bank: tuple[pd.DataFrame, ProjectSpec], postgres_url: str
) -> None:
    frame, spec = bank
    spec = with_models(
        spec, candidates=["noisy"], custom=[NOISY], search={"trials": 8, "pruning": True}
    )
    tracking = Tracking(postgres_url)
    schema = optuna_schema(postgres_url)
    engine = sa.create_engine(postgres_url)
    try:
        result = tracking.search(frame, spec, cluster)
        check_trials(tracking, result, 8)
        assert result.trials_completed + result.trials_pruned == 8
        assert {h["trial"] for h in result.history} == set(range(8))
        with engine.connect() as conn:  # Optuna's tables beside the store's, its study gone
            studies = sa.text(f'select count(*) from "{schema}".studies')  # noqa: S608
            assert conn.execute(studies).scalar() == 0
            assert conn.execute(sa.text("select count(*) from alembic_version")).scalar() == 1
    finally:
        tracking.store.close()
        engine.dispose()  # the fixture drops the schema and Optuna's beside it


@pytest.mark.parametrize("retries", [3, 0], ids=["task-run-again", "killed-worker"])
def test_a_worker_killed_mid_trial_fails_that_trial_and_the_search_goes_on(
    cluster: DaskExecutor,
    bank: tuple[pd.DataFrame, ProjectSpec],
    sqlite: Tracking,
    tmp_path: Path,
    retries: int,
) -> None:
    """Dask runs the task again (its slot's trial is found running and failed), or,
    out of retries, gives up on it (KilledWorker: the trial is failed after the map)."""
    marker = tmp_path / "kill-the-next-fit"
    marker.touch()
    killer = {
        "name": "killer",
        "estimator": "tests.train.cluster_models:KillsItsWorker",
        "params": {"marker": str(marker)},
    }
    frame, spec = bank
    spec = with_models(
        spec,
        candidates=["linear", "killer"],
        custom=[killer],
        search={"trials": 6, "folds": 2, "pruning": False},
    )
    scheduler = cluster._cluster.scheduler  # the LocalCluster's, in this process
    allowed, scheduler.allowed_failures = scheduler.allowed_failures, retries
    try:
        result = sqlite.search(frame, spec, cluster)
    finally:
        scheduler.allowed_failures = allowed
    assert not marker.exists()  # one fit killed its worker
    assert result.trials_run == 6 and result.trials_failed == 1
    assert result.trials_completed == 5
    (lost,) = [row for row in result.trials if row["state"] == "failed"]
    assert lost["algorithm"] == "killer" and lost["error"] == LOST
    run = sqlite.store.get_run(lost["run_id"])
    assert run.status is RunStatus.FAILED and run.error == LOST
    assert run.tags["state"] == "failed" and run.tags["folds"] == "0"
    assert all(r.status is not RunStatus.RUNNING for r in sqlite.trials())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_lost_scheduler_stops_the_search_with_a_clear_error(
    bank: tuple[pd.DataFrame, ProjectSpec], sqlite: Tracking
) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    quiet: dict[str, Any] = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    dask = [sys.executable, "-m", "distributed.cli"]
    port = address.rsplit(":", 1)[1]
    scheduler = subprocess.Popen(
        [*dask[:2], "distributed.cli.dask_scheduler", "--port", port, "--no-dashboard"], **quiet
    )
    worker = subprocess.Popen(
        [*dask[:2], "distributed.cli.dask_worker", address, "--nthreads", "1", "--no-dashboard"],
        **quiet,
    )
    slow = {"name": "slow", "estimator": "tests.train.cluster_models:Slow"}
    frame, spec = bank
    spec = with_models(spec, candidates=["slow"], custom=[slow], search={"trials": 20, "folds": 2})

    def kill_when_a_trial_runs() -> None:
        deadline = time.time() + 60
        while not sqlite.trials() and time.time() < deadline:
            time.sleep(0.2)
        scheduler.kill()

    killer = threading.Thread(target=kill_when_a_trial_runs, daemon=True)
    try:
        with DaskExecutor(address, connect_timeout_s=30) as executor:
            assert executor.workers == 1 and executor.is_local
            killer.start()
            started = time.perf_counter()
            with pytest.raises(StageError, match="lost the Dask scheduler") as caught:
                sqlite.search(frame, spec, executor)
            assert time.perf_counter() - started < 30
        assert address in str(caught.value)
    finally:
        for process in (scheduler, worker):
            process.kill()
            process.wait(timeout=30)
    assert 1 <= len(sqlite.trials()) < 20


def test_a_remote_cluster_cannot_use_a_sqlite_store(
    bank: tuple[pd.DataFrame, ProjectSpec], sqlite: Tracking
) -> None:
    frame, spec = bank
    spec = with_models(spec, candidates=["linear"], search={"trials": 2})
    started = time.perf_counter()
    with pytest.raises(StageError, match="needs a metadata store its workers reach"):
        sqlite.search(frame, spec, DaskExecutor("tcp://10.0.0.1:8786"))
    with pytest.raises(StageError, match="LOOPML_DB to a PostgreSQL store"):
        sqlite.search(frame, spec, None, cluster="tcp://10.0.0.1:8786")  # the setting
    assert time.perf_counter() - started < 2  # refused before connecting


def test_the_time_budget_stops_handing_out_trials(
    cluster: DaskExecutor, bank: tuple[pd.DataFrame, ProjectSpec], sqlite: Tracking
) -> None:
    frame, spec = bank
    spec = with_models(
        spec, candidates=["linear"], search={"trials": 10_000, "timeout_s": 1.5, "folds": 2}
    )
    started = time.perf_counter()
    result = sqlite.search(frame, spec, cluster)
    assert time.perf_counter() - started < 15
    assert 1 <= result.trials_run < 200 and result.stop_reason == "time_budget"
    assert len(sqlite.trials()) == result.trials_run
