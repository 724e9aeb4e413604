"""Executors: run one function over a list of items, in this process, in worker processes
or on a Dask cluster (``loopml.compute.dask``).

The contract (kept by every executor):

- ``map(fn, items)`` calls ``fn(item)`` once per item and returns the results in the order
  of ``items``; the first exception raised by a call is raised by ``map`` (after the
  calls already running have ended). ``items`` may be an iterator: the local and Dask
  executors take each item when a worker is free (an iterator that stops early ends
  the map early), the process pool reads them all first.
- ``fn`` and the items must pickle (a module-level function, plain data) for any
  executor but ``LocalExecutor``; results must pickle too.
- ``workers`` calls run at the same time at most; each may use ``threads_per_worker``
  BLAS/OpenMP threads, and executors limit them so: workers x threads never exceeds the
  cores given (oversubscribed OpenMP code, gradient boosting above all, runs many times
  slower). Code that sets thread counts itself (``n_jobs``, ``num_threads``) should read
  ``threads_per_worker``.
- ``imap(fn, items)`` makes the same calls but yields each result, in the order of
  ``items``, as soon as it and those before it are done; at most a few more calls than
  ``workers`` are running or waiting for their turn, so whoever consumes holds a bounded
  number of results (batch scoring writes a file's scored parts as they come). The first
  exception by item order is raised after the results before it.
- ``close()`` releases what the executor holds (a cluster it started, a client); the
  local executors hold nothing between calls.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Protocol, TypeVar

from threadpoolctl import threadpool_limits

from loopml.errors import SpecError

T = TypeVar("T")
R = TypeVar("R")
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


class Executor(Protocol):
    """Runs ``fn`` over items with ``workers`` calls at a time (see the module docstring)."""

    @property
    def workers(self) -> int: ...

    @property
    def threads_per_worker(self) -> int: ...

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]: ...

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]: ...

    def close(self) -> None: ...


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask, else the CPU count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def limit_threads(threads: int) -> None:
    """Limit this process to ``threads`` BLAS/OpenMP threads: the environment variables
    that libraries read when they load, and threadpoolctl for those already loaded."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    threadpool_limits(limits=threads)


class LocalExecutor:
    """Runs the calls one after another in this process, with ``threads`` threads each
    (default: every available core). Nothing needs to pickle. The limit applies to the
    thread pools loaded when ``map`` starts: import the libraries first."""

    def __init__(self, threads: int | None = None) -> None:
        self._threads = max(1, threads or available_cores())

    @property
    def workers(self) -> int:
        return 1

    @property
    def threads_per_worker(self) -> int:
        return self._threads

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        with threadpool_limits(limits=self._threads):
            return [fn(item) for item in items]

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Each call's result as it ends (one call at a time, here)."""
        with threadpool_limits(limits=self._threads):
            for item in items:
                yield fn(item)

    def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"LocalExecutor(threads={self._threads})"


class ProcessExecutor:
    """Runs the calls in ``workers`` fresh processes on this machine.

    Processes are started with ``context`` (``spawn`` by default, or ``forkserver``: both
    safe with threads and OpenMP, unlike ``fork``) and each limits itself to
    ``threads_per_worker`` threads (default: available cores // workers, at least 1)
    before running anything. A pool lives for one ``map`` call.
    """

    def __init__(
        self, workers: int, *, threads_per_worker: int | None = None, context: str = "spawn"
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        if context not in ("spawn", "forkserver"):
            raise ValueError(f"context must be 'spawn' or 'forkserver', got {context!r}")
        self._workers = workers
        self._threads = max(1, threads_per_worker or available_cores() // workers)
        self._context = context

    @property
    def workers(self) -> int:
        return self._workers

    @property
    def threads_per_worker(self) -> int:
        return self._threads

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        items = list(items)
        if not items:
            return []
        with ProcessPoolExecutor(
            max_workers=min(self._workers, len(items)),
            mp_context=multiprocessing.get_context(self._context),
            initializer=limit_threads,
            initargs=(self._threads,),
        ) as pool:
            return list(pool.map(fn, items))

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """The results in order as they come, from one pool; twice ``workers`` calls are
        submitted at most beyond the last result taken."""
        pending = iter(items)
        window: deque[Future[R]] = deque()
        with ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context(self._context),
            initializer=limit_threads,
            initargs=(self._threads,),
        ) as pool:
            try:
                for item in itertools.islice(pending, 2 * self._workers):
                    window.append(pool.submit(fn, item))
                while window:
                    result = window.popleft().result()
                    for item in itertools.islice(pending, 1):
                        window.append(pool.submit(fn, item))
                    yield result
            finally:  # an error or a consumer that stops: start nothing more
                for future in window:
                    future.cancel()

    def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"ProcessExecutor(workers={self._workers}, threads={self._threads})"


def executor_for(
    workers: int | str,
    *,
    threads_per_worker: int | None = None,
    cluster: str | None = None,
) -> Executor:
    """The executor for a ``workers`` setting and a ``cluster`` setting.

    Without a cluster: 1 runs in this process, N > 1 in N local processes. With a cluster
    (``local``, ``local:N``, ``tcp://host:port``; see ``loopml.compute.dask``) the calls
    run on a Dask cluster: ``local`` starts ``workers`` worker processes here (``local:N``:
    N), a scheduler's address uses every thread of its workers and ``workers`` is not
    used. A ``workers`` text of a cluster's form is taken as the cluster.

    Raises:
        SpecError: a cluster of another form, or ``workers`` that is not a positive
            number of processes.
    """
    if isinstance(workers, str):
        text = workers.strip()
        if text.startswith(("tcp://", "local")):
            cluster, workers = text, 1
        elif not text.isdigit():
            raise SpecError(
                f"workers: '{workers}' is neither a number of processes nor a Dask cluster "
                "(local, local:N, tcp://host:port)"
            )
        else:
            workers = int(text)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SpecError(f"workers: need a number of processes of at least 1, got {workers!r}")
    if cluster:
        from loopml.compute.dask import DaskExecutor

        return DaskExecutor(cluster, workers=workers, threads_per_worker=threads_per_worker)
    if workers == 1:
        return LocalExecutor(threads_per_worker)
    return ProcessExecutor(workers, threads_per_worker=threads_per_worker)
