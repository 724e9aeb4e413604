"""The Dask executor on a real LocalCluster (2 worker processes x 1 thread, started once)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator

import numpy  # noqa: F401 - a BLAS loaded before the limits, as in real use
import pytest
from tests.compute import workers

from loopml.compute import DaskExecutor, WorkerLost, executor_for
from loopml.compute.dask import check_cluster_address, is_loopback
from loopml.errors import SpecError, StageError


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskExecutor]:
    with DaskExecutor("local:2", threads_per_worker=1) as executor:
        yield executor


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_map_keeps_the_order_in_worker_processes(cluster: DaskExecutor) -> None:
    assert (cluster.workers, cluster.threads_per_worker) == (2, 1)
    assert cluster.map(workers.square, list(range(8))) == [x * x for x in range(8)]
    assert cluster.map(workers.square, []) == []
    assert cluster.map(lambda x: x + 1, [1, 2]) == [2, 3]  # sent by value (cloudpickle)


def test_each_call_is_limited_to_its_threads(cluster: DaskExecutor) -> None:
    infos = cluster.map(workers.describe, list(range(4)))
    assert all(i["pid"] != os.getpid() for i in infos)
    assert all(i["omp"] == "1" and i["threads"] == [1] for i in infos)


def test_the_first_exception_of_a_call_is_raised(cluster: DaskExecutor) -> None:
    with pytest.raises(ValueError, match="three is not allowed"):
        cluster.map(workers.fail_on_three, [1, 2, 3, 4])
    assert cluster.map(workers.square, [5]) == [25]  # the cluster goes on


def test_imap_yields_in_order_submitting_a_few_calls_ahead(cluster: DaskExecutor) -> None:
    taken = []

    def items():
        for i in range(12):
            taken.append(i)
            yield i

    results = cluster.imap(workers.square, items())
    assert next(results) == 0
    assert len(taken) <= 1 + 2 * cluster.workers  # not the 12: bounded ahead
    assert list(results) == [i * i for i in range(1, 12)]
    got = []
    with pytest.raises(ValueError, match="three is not allowed"):
        for value in cluster.imap(workers.fail_on_three, [1, 2, 3, 4, 5]):
            got.append(value)
    assert got == [1, 2]
    assert list(cluster.imap(workers.square, [])) == []


def test_a_call_that_kills_every_worker_it_runs_on_raises_worker_lost(
    cluster: DaskExecutor,
) -> None:
    scheduler = cluster._cluster.scheduler  # the LocalCluster's, in this process
    allowed = scheduler.allowed_failures
    scheduler.allowed_failures = 0  # no second try (3 by default)
    try:
        with pytest.raises(WorkerLost, match="died each time it ran a call") as caught:
            cluster.map(workers.kill_on_one, [0, 1, 2])
    finally:
        scheduler.allowed_failures = allowed
    assert isinstance(caught.value, StageError) and cluster.address in str(caught.value)
    assert cluster.map(workers.square, [3, 4]) == [9, 16]  # its nanny started a new worker


def test_an_unreachable_scheduler_fails_fast() -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    executor = DaskExecutor(address, connect_timeout_s=1)
    assert executor.is_local and executor.threads_per_worker == 1
    started = time.perf_counter()
    with pytest.raises(StageError, match="cannot reach the Dask scheduler") as caught:
        executor.map(workers.square, [1])
    assert time.perf_counter() - started < 10
    assert address in str(caught.value) and "dask scheduler" in str(caught.value)
    executor.close()


def test_cluster_settings_pick_the_dask_executor() -> None:
    local = executor_for(2, cluster="local")
    assert isinstance(local, DaskExecutor) and local.workers == 2
    assert executor_for(1, cluster="local:3").workers == 3  # N of local:N wins
    remote = executor_for("tcp://head:8786")
    assert isinstance(remote, DaskExecutor) and not remote.is_local
    assert remote.address == "tcp://head:8786"
    assert DaskExecutor("local:2").threads_per_worker >= 1  # nothing started yet
    assert is_loopback("tcp://localhost:8786") and is_loopback("local")
    assert check_cluster_address(" local:4 ") == "local:4"
    for bad in ("ray://head:10001", "local:0", "tcp://head", "head:8786", "locally"):
        with pytest.raises(SpecError, match="not a Dask cluster address"):
            check_cluster_address(bad)
    with pytest.raises(SpecError, match="Dask cluster"):
        executor_for("ray://head:10001")
