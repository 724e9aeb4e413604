"""The search on several workers: local worker processes, or the tasks of a Dask cluster.

- ``process_search``: each of the ``ProcessExecutor``'s processes runs its share of the
  trials against one study in a journal file (a pool lives for one ``map``).
- ``cluster_search``: each trial is one task on the cluster (``DaskExecutor``): the
  cluster balances the load, and a worker that dies costs the trial it was running, not
  the search. The study is in storage every worker reaches (``studies``): Optuna's
  RDBStorage beside a PostgreSQL store, or a journal file when the workers run here.
  Each task is a numbered slot of the budget, handed out as workers free up until
  the time budget is spent: a task run again after its worker died
  finds its slot's trial still running, ends it failed and runs no other, so the search
  runs exactly ``trials`` trials; trials still running after the map (their worker lost
  for good: ``WorkerLost``) end failed too, and the slots whose tasks Dask gave up on
  before they started run in another map (up to ``ROUNDS`` in all). A lost scheduler
  raises StageError.

Each worker opens its own metadata store connection from ``store_url``; the parent
reports progress every ``POLL_SECONDS`` while they work.
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from loopml.compute.dask import DaskExecutor, WorkerLost
from loopml.compute.executor import Executor
from loopml.domain import RunStatus
from loopml.storage.metadata.protocols import RunStore
from loopml.train.search import (
    POLL_SECONDS,
    TRIAL_RUN,
    Direction,
    _enqueue_defaults,
    _optimize,
    _Problem,
    _pruner,
    _sampler,
)
from loopml.train.studies import (
    StudyStorage,
    close_storage,
    fail_lost_run,
    fail_lost_trials,
    shared_storage,
)

Report = Callable[[optuna.Study], None]
RUNNING = optuna.trial.TrialState.RUNNING
ROUNDS = 3  # maps of the budget's slots at most: the first, and again after lost workers


@dataclass(frozen=True)
class _WorkerTask:
    problem: _Problem
    worker: int
    n_trials: int
    deadline: float | None
    study_name: str
    journal_path: str
    store_url: str


@dataclass(frozen=True)
class _ClusterTask:
    """What every trial task of a cluster search shares (sent to the cluster once)."""

    problem: _Problem
    study_name: str
    storage: StudyStorage
    store_url: str
    deadline: float | None


def process_search(
    problem: _Problem,
    direction: Direction,
    executor: Executor,
    workers: int,
    deadline: float | None,
    folder: str,
    store_url: str,
    report: Report,
) -> optuna.Study:
    """Run the search in the executor's processes, each its share of the trials."""
    journal = str(Path(folder) / "study.journal")
    storage = StudyStorage("journal", journal)
    name = f"search-{uuid.uuid4().hex[:12]}"
    study = _create_study(storage.open(), name, direction, problem)
    trials = problem.setup.models.search.trials
    tasks = [
        _WorkerTask(
            problem=problem,
            worker=i,
            n_trials=trials // workers + (1 if i < trials % workers else 0),
            deadline=deadline,
            study_name=name,
            journal_path=journal,
            store_url=store_url,
        )
        for i in range(workers)
    ]
    _poll(executor, _search_worker, tasks, study, report)
    return optuna.load_study(study_name=name, storage=storage.open())


def cluster_search(
    problem: _Problem,
    direction: Direction,
    executor: Executor,
    deadline: float | None,
    folder: str,
    store: RunStore,
    store_url: str,
    report: Report,
) -> optuna.Study:
    """Run each trial as one task of the cluster; returns an in-memory copy of the
    study (the shared one is deleted).

    Raises StageError for a SQLite store on a remote cluster and for a lost scheduler
    (the trials it was running end failed first)."""
    here = isinstance(executor, DaskExecutor) and executor.is_local
    storage = shared_storage(store_url, folder, workers_here=here)
    name = f"search-{uuid.uuid4().hex[:12]}"
    optuna_storage = storage.open(create=True)
    try:
        study = _create_study(optuna_storage, name, direction, problem)
        task = _ClusterTask(problem, name, storage, store_url, deadline)
        run = functools.partial(_cluster_trial, task)
        slots: Iterable[int] = _slots(range(problem.setup.models.search.trials), deadline)
        try:
            for _ in range(ROUNDS):
                try:
                    _poll(executor, run, slots, study, report)
                    break
                except WorkerLost:  # its trial is failed below; the slots it took, run again
                    slots = _slots(_unused(study, problem), deadline)
        finally:
            _fail_leftovers(study, optuna_storage, store, problem)
        return _in_memory(study, direction)
    finally:
        close_storage(optuna_storage)
        storage.drop(name)


def _create_study(
    storage: optuna.storages.BaseStorage, name: str, direction: Direction, problem: _Problem
) -> optuna.Study:
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction=direction,
        sampler=_sampler(problem.setup.seed),
        pruner=_pruner(problem.pruning),
    )
    _enqueue_defaults(study, problem, problem.setup.models.search.trials)
    return study


def _slots(slots: Iterable[int], deadline: float | None) -> Iterator[int]:
    """The budget's slots, taken as workers free up, until the time budget is spent
    (slot 0 always: like a search in one process, at least one trial starts)."""
    for slot in slots:
        if slot > 0 and deadline is not None and time.time() >= deadline:
            return
        yield slot


def _unused(study: optuna.Study, problem: _Problem) -> list[int]:
    """The budget's slots without a trial (their tasks were lost with a worker before
    they started: Dask gives up on every task a dying worker held)."""
    taken = {t.user_attrs.get("slot") for t in study.get_trials(deepcopy=False)}
    return [i for i in range(problem.setup.models.search.trials) if i not in taken]


def _poll(
    executor: Executor,
    fn: Callable[[Any], Any],
    items: Iterable[Any],
    study: optuna.Study,
    report: Report,
) -> list[Any]:
    """``executor.map(fn, items)``, reporting progress every ``POLL_SECONDS`` and once
    at the end."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as waiter:
        future = waiter.submit(executor.map, fn, items)
        while not concurrent.futures.wait([future], timeout=POLL_SECONDS).done:
            report(study)
        results = future.result()
    report(study)
    return results


def _search_worker(task: _WorkerTask) -> dict[str, int]:
    """One worker process: open the store and the shared study, run its share of trials."""
    from loopml.storage.metadata import open_metadata_store

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    problem = task.problem
    store = open_metadata_store(task.store_url)
    try:
        study = optuna.load_study(
            study_name=task.study_name,
            storage=StudyStorage("journal", task.journal_path).open(),
            sampler=_sampler(problem.setup.seed + task.worker + 1),
            pruner=_pruner(problem.pruning),
        )
        _optimize(study, problem, store, task.worker, task.n_trials, task.deadline, [])
    finally:
        store.close()
    return {"worker": task.worker, "pid": os.getpid()}


def _cluster_trial(task: _ClusterTask, slot: int) -> dict[str, Any]:
    """One task on a cluster worker: the trial of budget slot ``slot``. None when the
    time budget is spent, or when the slot already has a trial (Dask runs a task again
    when its worker died: before it ended, or after, while its result was still held
    there); that trial, if still running, ends failed."""
    from loopml.storage.metadata import open_metadata_store

    if slot > 0 and task.deadline is not None and time.time() >= task.deadline:
        return {"slot": slot, "ran": False}
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    problem = task.problem
    storage = task.storage.open()
    store = open_metadata_store(task.store_url)
    try:
        study = optuna.load_study(
            study_name=task.study_name,
            storage=storage,
            sampler=_sampler(problem.setup.seed + slot + 1),
            pruner=_pruner(problem.pruning),
        )
        mine = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get("slot") == slot]
        if mine:  # run again after its worker died: the slot's trial ran there
            lost = [t for t in mine if t.state is RUNNING]
            fail_lost_trials(storage, lost, store)
            return {"slot": slot, "lost": [t.number for t in lost]}
        deadline = None if slot == 0 else task.deadline
        _optimize(study, problem, store, _worker_name(), 1, deadline, [], slot=slot)
    finally:
        store.close()
        close_storage(storage)
    return {"slot": slot, "pid": os.getpid()}


def _worker_name() -> str:
    """The name of the Dask worker running this task (its pid outside a worker)."""
    try:
        from distributed import get_worker

        return str(get_worker().name)
    except (ImportError, ValueError):
        return str(os.getpid())


def _fail_leftovers(
    study: optuna.Study,
    storage: optuna.storages.BaseStorage,
    store: RunStore,
    problem: _Problem,
) -> None:
    """End failed what lost workers left running: trials, and their child runs."""
    fail_lost_trials(storage, study.get_trials(deepcopy=False, states=(RUNNING,)), store)
    if not problem.parent_run_id:
        return
    left = store.list_runs(
        problem.project_id,
        name=TRIAL_RUN,
        status=RunStatus.RUNNING,
        parent_run_id=problem.parent_run_id,
        limit=10_000,
    )
    for run in left:
        fail_lost_run(store, run.run_id)


def _in_memory(study: optuna.Study, direction: Direction) -> optuna.Study:
    """A copy of the study's finished trials that outlives its storage."""
    copy = optuna.create_study(direction=direction)
    copy.add_trials(t for t in study.get_trials(deepcopy=False) if t.state.is_finished())
    return copy
