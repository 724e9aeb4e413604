"""Log runs, parameters, tags and metrics from user code, batched off the caller's path.

Two ways in. The module-level API keeps a stack of active runs per thread and finds the
store by itself (as the CLI: ``LOOPML_DB``, else ``store`` in loopml.toml or loopml.yaml,
else ``.loopml/loopml.db`` in the current folder)::

    import loopml

    with loopml.start_run("train", params={"lr": 0.1}):
        for epoch in range(100):
            loopml.log_metric("loss", 1 / (epoch + 1), step=epoch)
        with loopml.start_run("fold-1"):        # nested: a child of "train"
            loopml.log_metrics({"roc_auc": 0.91, "pr_auc": 0.62})
    # every value is in the store here; the run is marked succeeded (failed, with the
    # error, when the block raises)

A ``Tracker`` does the same on a store and project you pass (a search logging its trials)::

    tracker = Tracker(store, project)
    with tracker.start_run("trial", parent_run_id=search_id, params=params) as trial:
        trial.log_metric("roc_auc", 0.87)
    tracker.close()

``log_metric`` appends to an in-memory buffer (no I/O, a lock and a list append); a
background thread writes the buffer every ``flush_interval`` seconds, or as soon as it
holds ``flush_size`` values, with one ``store.log_metrics`` call per run per flush, in the
order the values were logged. Ending a run (``end_run``, leaving the ``with`` block, or the
interpreter exiting) writes what is buffered first, so every value is durable once the run
has ended. Parameters and tags given while the run is active are written when it ends or
on ``flush()``. Everything here is thread-safe.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from loopml.config import SPEC_FILE, load_settings
from loopml.domain import ArtifactRef, Metric, Project, Run, RunStatus
from loopml.errors import ConflictError, DataError, LoopMLError, NotFoundError, SpecError
from loopml.storage.artifacts.protocols import ArtifactStore
from loopml.storage.metadata.protocols import ArtifactIndex, ProjectStore, RunStore

FLUSH_INTERVAL_S = 0.5
FLUSH_SIZE = 5_000

# One buffered value: run id, key, value, step, time.time() when logged.
_Entry = tuple[str, str, float, int, float]


class TrackingStore(RunStore, ProjectStore, ArtifactIndex, Protocol):
    """What a Tracker needs of the metadata store: runs, metrics, projects, artifacts."""


class ActiveRun:
    """A run being logged: a context manager that ends it (succeeded, or failed on error).

    Created by ``Tracker.start_run`` or ``loopml.start_run``; ``run_id`` and ``name`` say
    which run. Logging after the run ended raises ConflictError.
    """

    def __init__(self, tracker: Tracker, run: Run) -> None:
        self.run_id = run.run_id
        self.name = run.name
        self.parent_run_id = run.parent_run_id
        self.tracker = tracker
        self._lock = threading.Lock()
        self._params: dict[str, Any] = {}
        self._tags: dict[str, str] = {}
        self._outputs: dict[str, str] = {}
        self._ended = False
        self._on_end: list[Callable[[ActiveRun], None]] = []

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def run(self) -> Run:
        """The run as stored now (buffered params and tags are not in it until a flush)."""
        return self.tracker.store.get_run(self.run_id)

    def log_metric(self, key: str, value: float, step: int = 0) -> None:
        """Buffer one value of metric ``key`` at ``step`` (O(1), no I/O).

        Raises DataError when ``value`` is not a number, ConflictError once the run ended.
        """
        if self._ended:
            raise self._ended_error("log metrics")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise DataError(f"metric '{key}' must be a number, not {value!r}") from None
        self.tracker._append((self.run_id, key, number, int(step), time.time()))

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        """Buffer one value of each metric in ``metrics`` at ``step``."""
        for key, value in metrics.items():
            self.log_metric(key, value, step)

    def log_param(self, key: str, value: Any) -> None:
        """Set parameter ``key`` (JSON-serialisable); written at run end or on ``flush()``."""
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Set several parameters; written at run end or on ``flush()``."""
        if self._ended:
            raise self._ended_error("log params")
        with self._lock:
            self._params.update(params)

    def set_tag(self, key: str, value: Any) -> None:
        """Set tag ``key`` to ``str(value)``; written at run end or on ``flush()``."""
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set several tags (values become strings); written at run end or on ``flush()``."""
        if self._ended:
            raise self._ended_error("set tags")
        with self._lock:
            self._tags.update({str(k): str(v) for k, v in tags.items()})

    def log_artifact(self, path: str | Path, name: str | None = None) -> ArtifactRef:
        """Store the file at ``path`` in the project's artifact store (by its sha256) and
        name it on this run as output ``name`` (default: the file's name; a second file
        under the same name replaces the first). The bytes are stored at once; the run
        lists its outputs once it has ended (`loopml show RUN`).

        Raises DataError when ``path`` is not a file, ConflictError once the run ended.
        """
        from loopml.tracking.artifacts import store_run_file

        if self._ended:
            raise self._ended_error("log artifacts")
        artifacts = self.tracker.artifacts
        chosen, ref = store_run_file(artifacts, self.tracker.store, self.run_id, path, name)
        with self._lock:
            self._outputs[chosen] = ref.digest
        return ref

    def flush(self) -> None:
        """Write every buffered value, parameter and tag now."""
        self.tracker.flush()
        self._write_params_and_tags()

    def end(self, status: RunStatus | str = RunStatus.SUCCEEDED, error: str | None = None) -> Run:
        """Write what is buffered, then mark the run ``status`` (with ``error``).

        Ending a run twice returns the stored run. Raises StorageError when the store
        fails (the run is then marked failed if that is still possible).
        """
        status = RunStatus(status)
        with self._lock:
            already, self._ended = self._ended, True
        if already:
            return self.run
        try:
            return self.tracker._end(self, status, error)
        finally:
            for callback in self._on_end:
                callback(self)

    def _write_params_and_tags(self) -> None:
        with self._lock:
            params, self._params = self._params, {}
            tags, self._tags = self._tags, {}
        store = self.tracker.store
        if params:
            store.set_params(self.run_id, params)
        if tags:
            store.set_tags(self.run_id, tags)

    def _ended_error(self, action: str) -> ConflictError:
        return ConflictError(
            f"Cannot {action}: run '{self.run_id}' ({self.name}) has ended. Start a new run "
            "with `loopml.start_run()`."
        )

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.end(RunStatus.SUCCEEDED)
        else:
            self.end(RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}")

    def __repr__(self) -> str:
        state = "ended" if self._ended else "active"
        return f"ActiveRun({self.run_id!r}, name={self.name!r}, {state})"


class Tracker:
    """Logs runs into one project of a metadata store, buffering metric values.

    ``flush_interval`` (seconds) and ``flush_size`` (values) say when the background
    thread writes the buffer. The thread runs only while a run is active. ``close()``
    ends the runs still active (succeeded), writes everything and closes the store when
    ``owns_store``; it also happens when the interpreter exits. ``artifacts_uri`` is the
    artifact store that ``log_artifact`` writes to (opened on first use, with fsspec's
    ``storage_options``).

    Example::

        from loopml.storage.metadata import open_metadata_store
        store = open_metadata_store("sqlite:///runs.db")
        tracker = Tracker(store, store.ensure_project("churn"))
        with tracker.start_run("train", params={"lr": 0.1}) as run:
            run.log_metric("loss", 0.3, step=1)
        tracker.close()
    """

    def __init__(
        self,
        store: TrackingStore,
        project: Project,
        *,
        flush_interval: float = FLUSH_INTERVAL_S,
        flush_size: int = FLUSH_SIZE,
        owns_store: bool = False,
        artifacts_uri: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        if flush_interval <= 0 or flush_size < 1:
            raise ValueError("flush_interval must be > 0 and flush_size >= 1")
        self.store = store
        self.project = project
        self.flush_interval = flush_interval
        self.flush_size = flush_size
        self.owns_store = owns_store
        self.artifacts_uri = artifacts_uri
        self.storage_options = dict(storage_options or {})
        self._artifacts: ArtifactStore | None = None
        self._lock = threading.Lock()  # the buffer, the active runs, the thread
        self._flush_lock = threading.Lock()  # one writer at a time: values stay in order
        self._buffer: list[_Entry] = []
        self._active: dict[str, ActiveRun] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._closing = False
        self._closed = False
        self._pid = os.getpid()
        atexit.register(self.close)

    @classmethod
    def open(cls, project_dir: str | Path = ".", *, project: str | None = None) -> Tracker:
        """A Tracker on the store of ``project_dir`` (see ``resolve_project``).

        Raises StorageError when the store cannot be opened, SpecError for an unreadable
        ``loopml.yaml``.
        """
        from loopml.storage.metadata import open_metadata_store

        db_url, name = resolve_project(project_dir, project)
        store = open_metadata_store(db_url)
        try:
            found = store.ensure_project(name)
        except BaseException:
            store.close()
            raise
        settings = load_settings(project_dir)
        return cls(
            store,
            found,
            owns_store=True,
            artifacts_uri=settings.artifacts_uri,
            storage_options=settings.storage_options,
        )

    @property
    def artifacts(self) -> ArtifactStore:
        """The artifact store runs log files to; ConflictError when none was given."""
        if self._artifacts is None:
            if self.artifacts_uri is None:
                raise ConflictError(
                    "This Tracker has no artifact store: pass artifacts_uri= or use "
                    "Tracker.open() to log artifacts."
                )
            from loopml.storage.artifacts import open_artifact_store

            self._artifacts = open_artifact_store(self.artifacts_uri, self.storage_options)
        return self._artifacts

    def start_run(
        self,
        name: str = "run",
        *,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
    ) -> ActiveRun:
        """Create a running run (a child of ``parent_run_id`` when given) and return it.

        Raises NotFoundError for an unknown parent, ConflictError after ``close()``.
        """
        if self._closing:
            raise ConflictError("This Tracker is closed: open a new one to start runs.")
        run = self.store.create_run(
            self.project.project_id,
            name,
            params=params,
            tags={str(k): str(v) for k, v in (tags or {}).items()},
            parent_run_id=parent_run_id,
        )
        active = ActiveRun(self, run)
        with self._lock:
            self._active[run.run_id] = active
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._flush_loop, name="loopml-tracking-flush", daemon=True
                )
                self._thread.start()
        return active

    def active_runs(self) -> list[ActiveRun]:
        """The runs started here and not yet ended, oldest first."""
        with self._lock:
            return list(self._active.values())

    def flush(self) -> None:
        """Write every buffered metric value now (in the caller's thread).

        Raises StorageError (or NotFoundError for a deleted run) when the store refuses;
        the values stay buffered for the next try.
        """
        with self._flush_lock:
            with self._lock:
                batch, self._buffer = self._buffer, []
            self._write(batch)
            self._error = None

    def close(self) -> None:
        """End the runs still active (succeeded), write everything, stop; idempotent.

        Does nothing in a forked child: the runs belong to the parent process.
        """
        if os.getpid() != self._pid:
            return
        with self._lock:
            if self._closing:
                return
            self._closing = True
        for active in self.active_runs():
            with contextlib.suppress(LoopMLError):  # the store failed: nothing more to do
                active.end(RunStatus.SUCCEEDED)
        with contextlib.suppress(LoopMLError):
            self.flush()  # values logged by another thread while their run ended
        self._closed = True
        atexit.unregister(self.close)
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        if self.owns_store:
            closer = getattr(self.store, "close", None)
            if closer is not None:
                closer()

    # -- internals -------------------------------------------------------------------

    def _append(self, entry: _Entry) -> None:
        with self._lock:
            buffer = self._buffer
            buffer.append(entry)
            size = len(buffer)
        if size == self.flush_size:
            self._wake.set()

    def _end(self, active: ActiveRun, status: RunStatus, error: str | None) -> Run:
        try:
            self.flush()
            active._write_params_and_tags()
        except LoopMLError as exc:
            with contextlib.suppress(LoopMLError):
                self.store.finish_run(
                    active.run_id, RunStatus.FAILED, error=f"logging failed: {exc}"
                )
            raise
        finally:
            with self._lock:
                self._active.pop(active.run_id, None)
        with active._lock:
            outputs = dict(active._outputs) or None
        return self.store.finish_run(active.run_id, status, error=error, outputs=outputs)

    def _write(self, batch: list[_Entry]) -> None:
        """Write ``batch`` with one log_metrics call per run; unwritten values go back."""
        if not batch:
            return
        by_run: dict[str, list[Metric]] = {}
        stamp = datetime.fromtimestamp
        for run_id, key, value, step, logged_at in batch:
            metric = Metric(key, value, step, stamp(logged_at, UTC))
            by_run.setdefault(run_id, []).append(metric)
        written: set[str] = set()
        try:
            for run_id, metrics in by_run.items():
                self.store.log_metrics(run_id, metrics)
                written.add(run_id)
        except BaseException:
            rest = [entry for entry in batch if entry[0] not in written]
            with self._lock:
                self._buffer[:0] = rest
            raise

    def _flush_loop(self) -> None:
        while True:
            if len(self._buffer) < self.flush_size:
                self._wake.wait(self.flush_interval * (4 if self._error else 1))
            self._wake.clear()
            try:
                self.flush()
            except Exception as exc:  # noqa: BLE001 - kept; the next flush in end() raises
                self._error = exc
            with self._lock:
                if self._closed or (not self._active and not self._buffer):
                    self._thread = None
                    return


def resolve_project(project_dir: str | Path = ".", project: str | None = None) -> tuple[str, str]:
    """The database URL and project name that runs logged from ``project_dir`` go to.

    The database is the CLI's (``LOOPML_DB``, else ``store`` in loopml.toml or
    loopml.yaml, else ``<project_dir>/.loopml/loopml.db``). The project is
    ``project`` when given, else the ``name`` in ``loopml.yaml`` (the same project as
    `loopml run`), else the folder's name. Raises SpecError for an unreadable spec.
    """
    settings = load_settings(project_dir)
    if project:
        return settings.db_url, project
    spec_path = settings.project_dir / SPEC_FILE
    if spec_path.is_file():
        import yaml

        try:
            document = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise SpecError(f"{spec_path}: cannot read the project name: {exc}") from exc
        name = document.get("name") if isinstance(document, dict) else None
        if not isinstance(name, str) or not name:
            raise SpecError(f"{spec_path}: 'name' must name the project (a string)")
        return settings.db_url, name
    return settings.db_url, settings.project_dir.name or "default"


# -- the module-level API ------------------------------------------------------------


class _Fluent:
    """State of the module-level API: the open trackers, each thread's active runs.

    One per process (like ``logging``'s root logger): the module-level functions need a
    place to find "the current run". A thread that started no run of its own logs into
    the innermost active run of the main thread, so worker threads add to the run that
    started them. A tracker is opened by the first run of a project and closed when its
    last run ends. A forked child starts with no active run.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.trackers: dict[tuple[str, str], Tracker] = {}
        self.stacks: dict[int, list[ActiveRun]] = {}

    def forget_after_fork(self) -> None:
        """In a forked child: no active runs (the parent's are the parent's to end)."""
        self.lock = threading.RLock()
        self.trackers = {}
        self.stacks = {}

    def current(self) -> ActiveRun | None:
        stack = self.stacks.get(threading.get_ident())
        if not stack:
            stack = self.stacks.get(threading.main_thread().ident or 0)
            if not stack:
                return None
        try:
            return stack[-1]
        except IndexError:  # emptied by another thread just now
            return None

    def start(
        self,
        name: str,
        project: str | None,
        params: Mapping[str, Any] | None,
        tags: Mapping[str, Any] | None,
        parent_run_id: str | None,
    ) -> ActiveRun:
        with self.lock:
            parent = self.current()
            if parent is not None and project in (None, parent.tracker.project.name):
                tracker = parent.tracker
                parent_run_id = parent_run_id or parent.run_id
            else:
                tracker = self._tracker(project)
            try:
                active = tracker.start_run(
                    name, params=params, tags=tags, parent_run_id=parent_run_id
                )
            except BaseException:
                self._release(tracker)
                raise
            active._on_end.append(self._ended)
            self.stacks.setdefault(threading.get_ident(), []).append(active)
            return active

    def _tracker(self, project: str | None) -> Tracker:
        key = resolve_project(".", project)
        tracker = self.trackers.get(key)
        if tracker is None or tracker._closing:
            tracker = Tracker.open(".", project=key[1])
            self.trackers[key] = tracker
        return tracker

    def _ended(self, active: ActiveRun) -> None:
        with self.lock:
            for ident, stack in list(self.stacks.items()):
                if active in stack:
                    stack.remove(active)
                if not stack:
                    del self.stacks[ident]
            self._release(active.tracker)

    def _release(self, tracker: Tracker) -> None:
        if tracker.active_runs():
            return
        for key, open_tracker in list(self.trackers.items()):
            if open_tracker is tracker:
                del self.trackers[key]
                tracker.close()


_FLUENT = _Fluent()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_FLUENT.forget_after_fork)


def start_run(
    name: str = "run",
    *,
    project: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    parent_run_id: str | None = None,
) -> ActiveRun:
    """Start a run and make it this thread's active run; use it as a context manager.

    The store is the CLI's (``LOOPML_DB``, else loopml.toml or loopml.yaml, else
    ``.loopml/loopml.db`` in the current folder); the
    project is ``project``, else the ``name`` of ``./loopml.yaml``, else the folder's name.
    A run started while another is active becomes its child (unless ``parent_run_id``
    names another parent, or ``project`` another project). Leaving the ``with`` block
    ends it: succeeded, or failed with the exception's text::

        with loopml.start_run("train", params={"lr": 0.1}) as run:
            loopml.log_metric("loss", 0.25, step=3)
        print(run.run_id)

    Raises StorageError when the store cannot be opened, NotFoundError for an unknown
    ``parent_run_id``.
    """
    return _FLUENT.start(name, project, params, tags, parent_run_id)


def active_run() -> ActiveRun | None:
    """This thread's innermost active run (else the main thread's), or None."""
    return _FLUENT.current()


def _require_active() -> ActiveRun:
    active = _FLUENT.current()
    if active is None:
        raise NotFoundError("No active run to log into: start one with `with loopml.start_run():`.")
    return active


def log_metric(key: str, value: float, step: int = 0) -> None:
    """Buffer one metric value in the active run (no I/O; see the module docstring).

    ``loopml.log_metric("loss", 0.31, step=7)``. Raises NotFoundError without an active
    run, DataError when ``value`` is not a number.
    """
    active = _FLUENT.current()
    if active is None:
        active = _require_active()
    active.log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int = 0) -> None:
    """Buffer one value of each metric in the active run: ``log_metrics({"auc": 0.9})``."""
    _require_active().log_metrics(metrics, step)


def log_param(key: str, value: Any) -> None:
    """Set a parameter of the active run: ``log_param("lr", 0.1)``."""
    _require_active().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    """Set parameters of the active run: ``log_params({"lr": 0.1, "depth": 6})``."""
    _require_active().log_params(params)


def set_tag(key: str, value: Any) -> None:
    """Set a tag of the active run: ``set_tag("state", "pruned")``."""
    _require_active().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set tags of the active run."""
    _require_active().set_tags(tags)


def log_artifact(path: str | Path, name: str | None = None) -> ArtifactRef:
    """Store a file in the project's artifact store, content-addressed, and record it on
    the active run as output ``name`` (default: the file's name)::

        with loopml.start_run("experiment"):
            loopml.log_artifact("confusion.png")

    Returns the stored file's sha256 and size. Raises NotFoundError without an active
    run, DataError when ``path`` is not a file.
    """
    return _require_active().log_artifact(path, name)


def flush() -> None:
    """Write everything buffered for the active run now (values, params, tags)."""
    _require_active().flush()


def end_run(status: RunStatus | str = RunStatus.SUCCEEDED, error: str | None = None) -> None:
    """End the active run: write what is buffered, then mark it ``status``.

    ``loopml.end_run()`` marks it succeeded, ``loopml.end_run("failed", "why")`` failed.
    Without an active run it does nothing.
    """
    active = _FLUENT.current()
    if active is not None:
        active.end(status, error)
