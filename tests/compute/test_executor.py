"""Executors: in this process, in worker processes with limited threads, and the factory."""

from __future__ import annotations

import os

import numpy  # noqa: F401 - a BLAS loaded before the limits, as in real use
import pytest
from tests.compute import workers

from loopml.compute import (
    LocalExecutor,
    ProcessExecutor,
    available_cores,
    executor_for,
)
from loopml.errors import SpecError


def test_local_executor_runs_in_this_process_in_order() -> None:
    executor = LocalExecutor()
    assert executor.workers == 1 and executor.threads_per_worker == available_cores()
    assert executor.map(workers.square, [3, 1, 2]) == [9, 1, 4]
    assert executor.map(lambda x: x + 1, []) == []  # nothing needs to pickle
    one = LocalExecutor(threads=1)
    (info,) = one.map(workers.describe, [None])
    assert info["pid"] == os.getpid() and info["threads"] == [1]


def test_process_executor_limits_threads_in_each_worker() -> None:
    executor = ProcessExecutor(2, threads_per_worker=1)
    assert (executor.workers, executor.threads_per_worker) == (2, 1)
    assert executor.map(workers.square, list(range(6))) == [0, 1, 4, 9, 16, 25]
    infos = executor.map(workers.describe, [0, 1])
    assert all(i["pid"] != os.getpid() for i in infos)
    assert all(i["omp"] == "1" and i["threads"] == [1] for i in infos)
    assert ProcessExecutor(2).threads_per_worker == max(1, available_cores() // 2)
    assert executor.map(workers.square, []) == []


def test_an_exception_in_a_worker_is_raised_by_map() -> None:
    with pytest.raises(ValueError, match="three is not allowed"):
        ProcessExecutor(2, threads_per_worker=1).map(workers.fail_on_three, [1, 2, 3])


class Counted:
    """Items handed out one by one, counting how many were taken."""

    def __init__(self, n: int) -> None:
        self.taken = 0
        self.n = n

    def __iter__(self):
        for i in range(self.n):
            self.taken += 1
            yield i


@pytest.mark.parametrize("executor", [LocalExecutor(1), ProcessExecutor(2, threads_per_worker=1)])
def test_imap_yields_in_order_taking_a_few_items_ahead(executor) -> None:
    items = Counted(20)
    results = executor.imap(workers.square, items)
    assert next(results) == 0
    assert items.taken <= 1 + 2 * executor.workers  # not the 20: bounded ahead
    assert list(results) == [i * i for i in range(1, 20)]
    assert items.taken == 20
    with pytest.raises(ValueError, match="three is not allowed"):
        got = []
        for value in executor.imap(workers.fail_on_three, [1, 2, 3, 4]):
            got.append(value)
    assert got == [1, 2]  # the results before the error, in order
    assert list(executor.imap(workers.square, [])) == []


def test_invalid_process_executors_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ProcessExecutor(0)
    with pytest.raises(ValueError, match="'spawn' or 'forkserver'"):
        ProcessExecutor(2, context="fork")


def test_executor_for_maps_settings_to_executors() -> None:
    assert isinstance(executor_for(1), LocalExecutor)
    two = executor_for(2)
    assert isinstance(two, ProcessExecutor) and two.workers == 2
    assert executor_for("3", threads_per_worker=1).workers == 3
    with pytest.raises(SpecError, match="nor a Dask cluster"):
        executor_for("ray://head:10001")
    for bad in (0, -1, "many", True):
        with pytest.raises(SpecError, match="workers"):
            executor_for(bad)  # type: ignore[arg-type]
