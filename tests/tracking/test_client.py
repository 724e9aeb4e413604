"""Logging from user code: runs, nesting, failures, batching, durability, threads."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import loopml
from loopml.domain import Metric, RunStatus
from loopml.errors import ConflictError, DataError, NotFoundError, StorageError
from loopml.storage.metadata import MetadataStore, open_metadata_store
from loopml.tracking import client
from loopml.tracking.client import Tracker, resolve_project


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty folder `churn` as the current one, no LOOPML_DB; nothing left open after."""
    project = tmp_path / "churn"
    project.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.delenv("LOOPML_DB", raising=False)
    yield project
    leftover = loopml.active_run()
    while leftover is not None:  # a failed test must not leak runs into the next one
        leftover.end("failed", "left active by a test")
        leftover = loopml.active_run()
    assert client._FLUENT.trackers == {} and client._FLUENT.stacks == {}


@pytest.fixture
def reader(folder: Path) -> Iterator[MetadataStore]:
    """A second connection to the folder's store, to see what is durable."""
    store = open_metadata_store(f"sqlite:///{folder / '.loopml' / 'loopml.db'}")
    yield store
    store.close()


def test_start_run_context_records_the_run(folder: Path, reader: MetadataStore) -> None:
    assert loopml.active_run() is None
    with loopml.start_run("train", params={"lr": 0.1}, tags={"team": "risk"}) as run:
        assert loopml.active_run() is run
        loopml.log_metric("loss", 0.5)
        loopml.log_metric("loss", 0.25, step=1)
        loopml.log_metrics({"auc": 0.9, "pr_auc": 0.6}, step=1)
        loopml.log_param("depth", 6)
        loopml.log_params({"model": "lightgbm"})
        loopml.set_tag("note", 7)
        loopml.set_tags({"stage": "dev"})
    assert loopml.active_run() is None and run.ended
    stored = reader.get_run(run.run_id)
    assert stored.status is RunStatus.SUCCEEDED and stored.error is None
    assert dict(stored.params) == {"lr": 0.1, "depth": 6, "model": "lightgbm"}
    assert dict(stored.tags) == {"team": "risk", "note": "7", "stage": "dev"}
    assert reader.get_project("churn").project_id == stored.project_id  # the folder's name
    assert reader.latest_metrics([run.run_id])[run.run_id] == {
        "loss": 0.25,
        "auc": 0.9,
        "pr_auc": 0.6,
    }
    assert run.run.status is RunStatus.SUCCEEDED


def test_nested_runs_get_their_parent(folder: Path, reader: MetadataStore) -> None:
    with loopml.start_run("search") as outer:
        with loopml.start_run("trial-1") as first:
            assert loopml.active_run() is first
        with loopml.start_run("trial-2") as second, loopml.start_run("fold") as fold:
            loopml.log_metric("auc", 0.8)
        assert loopml.active_run() is outer
        other = loopml.start_run("explicit", parent_run_id=first.run_id)
        loopml.end_run()
    parents = {
        r.name: r.parent_run_id for r in reader.list_runs(reader.get_run(outer.run_id).project_id)
    }
    assert parents == {
        "search": None,
        "trial-1": outer.run_id,
        "trial-2": outer.run_id,
        "fold": second.run_id,
        "explicit": first.run_id,
    }
    assert reader.get_metrics(fold.run_id)[0].value == 0.8
    assert reader.get_run(other.run_id).status is RunStatus.SUCCEEDED


def test_failure_marks_the_run_failed_with_the_error(folder: Path, reader: MetadataStore) -> None:
    with pytest.raises(ValueError, match="boom"), loopml.start_run("train") as run:
        loopml.log_metric("loss", 1.0)
        raise ValueError("boom")
    stored = reader.get_run(run.run_id)
    assert stored.status is RunStatus.FAILED
    assert stored.error == "ValueError: boom"
    assert [m.value for m in reader.get_metrics(run.run_id)] == [1.0]  # logged before: kept
    assert loopml.active_run() is None


def test_end_run_with_a_status_and_twice(folder: Path, reader: MetadataStore) -> None:
    run = loopml.start_run("manual")
    loopml.end_run("failed", "gave up")
    assert run.end() == reader.get_run(run.run_id)  # a second end returns the stored run
    stored = reader.get_run(run.run_id)
    assert (stored.status, stored.error) == (RunStatus.FAILED, "gave up")
    loopml.end_run()  # no active run: nothing to do


def test_100000_values_all_present_after_the_run_ends(folder: Path, reader: MetadataStore) -> None:
    with loopml.start_run("train") as run:
        for step in range(100_000):
            loopml.log_metric("loss", step / 100_000, step=step)
    assert reader.latest_metrics([run.run_id])[run.run_id] == {"loss": 0.99999}
    values = reader.get_metrics(run.run_id, "loss")
    assert len(values) == 100_000
    assert [m.step for m in values[:3]] == [0, 1, 2] and values[-1].step == 99_999


def test_values_are_buffered_and_durable_once_the_run_ends(folder: Path) -> None:
    store = open_metadata_store(f"sqlite:///{folder / 'runs.db'}")
    tracker = Tracker(store, store.ensure_project("p"), flush_interval=3600, flush_size=10**9)
    run = tracker.start_run("train")
    for step in range(1_000):
        run.log_metric("loss", 1.0, step=step)
    run.log_param("lr", 0.5)
    assert store.get_metrics(run.run_id) == []  # logging did no I/O
    assert dict(store.get_run(run.run_id).params) == {}
    run.end()  # no explicit flush
    assert len(store.get_metrics(run.run_id)) == 1_000
    assert store.get_run(run.run_id).params == {"lr": 0.5}
    tracker.close()
    store.close()


def test_background_thread_flushes_when_the_buffer_fills(folder: Path) -> None:
    store = open_metadata_store(f"sqlite:///{folder / 'runs.db'}")
    tracker = Tracker(store, store.ensure_project("p"), flush_interval=3600, flush_size=50)
    with tracker.start_run("train") as run:
        for step in range(50):
            run.log_metric("loss", 1.0, step=step)
        deadline = time.monotonic() + 5
        while len(store.get_metrics(run.run_id)) < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(store.get_metrics(run.run_id)) == 50
        run.set_tag("state", "half")
        run.flush()  # params and tags too
        assert store.get_run(run.run_id).tags == {"state": "half"}
    tracker.close()
    tracker.close()  # idempotent
    with pytest.raises(ConflictError, match="closed"):
        tracker.start_run("late")
    store.close()


def test_a_second_thread_logs_into_the_same_run(folder: Path, reader: MetadataStore) -> None:
    children: list[Any] = []

    def work() -> None:
        for step in range(5_000):
            loopml.log_metric("from_thread", 1.0, step=step)
        with loopml.start_run("in-thread") as child:  # a child of the main thread's run
            children.append(child)
            loopml.log_metric("child", 2.0)

    with loopml.start_run("train") as run:
        worker = threading.Thread(target=work)
        worker.start()
        for step in range(5_000):
            loopml.log_metric("from_main", 1.0, step=step)
        worker.join()
    by_key: dict[str, int] = {}
    for metric in reader.get_metrics(run.run_id):
        by_key[metric.key] = by_key.get(metric.key, 0) + 1
    assert by_key == {"from_main": 5_000, "from_thread": 5_000}
    (child,) = children
    assert reader.get_run(child.run_id).parent_run_id == run.run_id
    assert [m.value for m in reader.get_metrics(child.run_id)] == [2.0]


def test_misuse_is_refused_clearly(folder: Path) -> None:
    with pytest.raises(NotFoundError, match="No active run.*start_run"):
        loopml.log_metric("loss", 1.0)
    with pytest.raises(NotFoundError, match="No active run"):
        loopml.log_param("lr", 1)
    run = loopml.start_run()
    with pytest.raises(DataError, match="metric 'loss' must be a number, not 'high'"):
        loopml.log_metric("loss", "high")  # type: ignore[arg-type]
    loopml.end_run()
    for action in (
        lambda: run.log_metric("loss", 1.0),
        lambda: run.log_params({"a": 1}),
        lambda: run.set_tags({"a": 1}),
    ):
        with pytest.raises(ConflictError, match="has ended"):
            action()
    with pytest.raises(NotFoundError, match="No run has id"):
        loopml.start_run("orphan", parent_run_id="f" * 32)
    with pytest.raises(ValueError, match="flush_interval"):
        Tracker(None, None, flush_interval=0)  # type: ignore[arg-type]


def test_project_comes_from_the_spec_the_argument_or_loopml_db(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_project(folder) == (f"sqlite:///{folder / '.loopml' / 'loopml.db'}", "churn")
    (folder / "loopml.yaml").write_text("name: bank\nproblem: {}\n")
    assert resolve_project(folder)[1] == "bank"
    assert resolve_project(folder, "other")[1] == "other"
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    monkeypatch.setenv("LOOPML_DB", url)
    with loopml.start_run("x", project="team") as run:
        pass
    store = open_metadata_store(url)
    assert store.get_run(run.run_id).project_id == store.get_project("team").project_id
    store.close()
    (folder / "loopml.yaml").write_text("- not a mapping\n")
    with pytest.raises(Exception, match="'name' must name the project"):
        resolve_project(folder)


class FlakyStore:
    """A store whose log_metrics fails the first ``failures`` times."""

    def __init__(self, store: MetadataStore, failures: int) -> None:
        self._store = store
        self.failures = failures

    def log_metrics(self, run_id: str, metrics: list[Metric]) -> None:
        if self.failures:
            self.failures -= 1
            raise StorageError("the database went away")
        self._store.log_metrics(run_id, metrics)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_failed_flush_keeps_the_values_for_the_next(folder: Path) -> None:
    real = open_metadata_store(f"sqlite:///{folder / 'runs.db'}")
    store = FlakyStore(real, failures=1)
    tracker = Tracker(store, real.ensure_project("p"), flush_interval=3600, flush_size=10**9)  # type: ignore[arg-type]
    run = tracker.start_run("train")
    run.log_metric("loss", 1.0)
    with pytest.raises(StorageError, match="went away"):
        tracker.flush()
    run.log_metric("loss", 2.0, step=1)
    run.end()
    assert [m.value for m in real.get_metrics(run.run_id)] == [1.0, 2.0]  # in logging order

    store.failures = 5
    broken = tracker.start_run("broken")
    broken.log_metric("loss", 1.0)
    with pytest.raises(StorageError):
        broken.end()
    stored = real.get_run(broken.run_id)
    assert stored.status is RunStatus.FAILED and "logging failed" in (stored.error or "")
    store.failures = 0
    tracker.close()
    real.close()


def test_values_are_durable_when_the_script_forgets_to_end_its_run(folder: Path) -> None:
    script = (
        "import loopml\n"
        "run = loopml.start_run('script')\n"
        "for i in range(20_000):\n"
        "    loopml.log_metric('loss', 1.0, step=i)\n"
        "print(run.run_id)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=folder, capture_output=True, text=True, check=True
    )
    store = open_metadata_store(f"sqlite:///{folder / '.loopml' / 'loopml.db'}")
    run_id = done.stdout.strip()
    assert store.get_run(run_id).status is RunStatus.SUCCEEDED
    assert len(store.get_metrics(run_id)) == 20_000
    store.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_log_into_or_end_the_parents_run(
    folder: Path, reader: MetadataStore
) -> None:
    with loopml.start_run("parent") as run:
        loopml.log_metric("before_fork", 1.0)
        with warnings.catch_warnings():  # 3.12+ warns about forking a threaded process
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: no active run, and exiting ends nothing of the parent
            code = 0 if loopml.active_run() is None else 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert loopml.active_run() is run
        loopml.log_metric("after_fork", 2.0)
    assert reader.latest_metrics([run.run_id])[run.run_id] == {
        "before_fork": 1.0,
        "after_fork": 2.0,
    }
