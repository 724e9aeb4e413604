"""The Dask executor: the calls run as tasks on a Dask distributed cluster.

``DaskExecutor("local")`` starts a ``LocalCluster`` of worker processes on this machine
and closes it with the executor; ``DaskExecutor("tcp://host:8786")`` connects to a
running scheduler (started with ``dask scheduler``, workers with ``dask worker``) and
closes only its client. It keeps the ``Executor`` contract (see ``executor``), with
these engine-specific points:

- a worker thread runs one call at a time: ``workers`` is the number of threads of all
  the cluster's workers (``local``: one per worker process); each call first limits
  itself to ``threads_per_worker`` BLAS/OpenMP threads (``local``: available cores //
  workers, also set in each worker's environment before it starts; a remote cluster:
  1 unless given, so size each worker's ``--nthreads`` to its cores);
- ``fn`` is sent to the cluster once per ``map`` (as the result of a task that the
  cluster can compute again), not once per item, so a ``functools.partial`` holding a
  large argument costs one transfer per worker;
- the calls are submitted a few more than the cluster's threads at a time, and ``items``
  may be an iterator, read as workers free up; ``imap`` submits the next call only
  while fewer than twice the cluster's threads are running or waiting to be yielded;
- a worker that dies while running a call: Dask runs the call again elsewhere (up to
  ``distributed.scheduler.allowed-failures`` times; then the other calls still run and
  ``map`` raises ``WorkerLost``);
- a scheduler that cannot be reached within ``connect_timeout_s``, or that is lost
  during ``map``, raises ``StageError`` naming its address.

``distributed`` is imported when the executor first connects.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError
from typing import Any, TypeVar

from loopml.compute.executor import THREAD_VARIABLES, available_cores, limit_threads
from loopml.errors import SpecError, StageError

T = TypeVar("T")
R = TypeVar("R")
LOCAL = "local"
CONNECT_TIMEOUT_S = 5.0
_LOCAL_FORM = re.compile(r"^local(?::(\d+))?$")
_REMOTE_FORM = re.compile(r"^tcp://[^/\s:]+:\d+$")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
_END = object()


class WorkerLost(StageError):
    """A worker of the cluster died while running a call, every time it was tried."""


def check_cluster_address(address: str) -> str:
    """``address`` stripped when it is ``local``, ``local:N`` (N >= 1) or
    ``tcp://host:port``.

    Raises:
        SpecError: any other text, naming the accepted forms.
    """
    text = address.strip()
    local = _LOCAL_FORM.match(text)
    if (local and (local.group(1) is None or int(local.group(1)) >= 1)) or _REMOTE_FORM.match(text):
        return text
    raise SpecError(
        f"cluster: '{address}' is not a Dask cluster address; use 'local' (a LocalCluster "
        "here), 'local:N' (N worker processes) or a scheduler's tcp://host:port"
    )


def is_loopback(address: str) -> bool:
    """Whether the cluster runs on this machine: ``local`` or a scheduler on loopback."""
    text = check_cluster_address(address)
    if text.startswith(LOCAL):
        return True
    host = text.removeprefix("tcp://").rsplit(":", 1)[0]
    return host in LOOPBACK_HOSTS


class DaskExecutor:
    """Runs the calls as tasks on a Dask cluster (see the module docstring).

    Args:
        address: ``local`` (a LocalCluster of ``workers`` processes), ``local:N`` (N
            processes) or ``tcp://host:port`` (a running scheduler).
        workers: the worker processes of a ``local`` cluster (default: available cores,
            or N of ``local:N``); not used for a remote cluster.
        threads_per_worker: BLAS/OpenMP threads of each call (``local``: available cores
            // workers; remote: 1).
        connect_timeout_s: how long to wait for the scheduler (and a first worker).

    The cluster is started (or connected to) on first use and released by ``close``
    (or ``with``). Raises SpecError for an address of another form.
    """

    def __init__(
        self,
        address: str = LOCAL,
        *,
        workers: int | None = None,
        threads_per_worker: int | None = None,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self.address = check_cluster_address(address)
        local = _LOCAL_FORM.match(self.address)
        self._local = local is not None
        count = int(local.group(1)) if local and local.group(1) else workers
        if count is not None and count < 1:
            raise ValueError(f"workers must be at least 1, got {count}")
        self._n_local = max(1, count or available_cores())
        default = available_cores() // self._n_local if self._local else 1
        self._threads = max(1, threads_per_worker or default)
        self._timeout = connect_timeout_s
        self._cluster: Any = None
        self._client: Any = None

    @property
    def workers(self) -> int:
        """Calls that run at once: ``local``: its processes; remote: the threads of the
        workers now connected to the scheduler (connects first)."""
        if self._local:
            return self._n_local
        info = self.client().scheduler_info(n_workers=-1)
        return max(1, sum(w.get("nthreads", 1) for w in info["workers"].values()))

    @property
    def threads_per_worker(self) -> int:
        return self._threads

    @property
    def is_local(self) -> bool:
        """Whether the cluster's workers run on this machine (``local`` or loopback)."""
        return is_loopback(self.address)

    def client(self) -> Any:
        """The ``distributed.Client``: the cluster is started or connected to first.

        Raises StageError when the scheduler does not answer within the timeout or has
        no worker."""
        if self._client is None:
            self._client = self._start_local() if self._local else self._connect()
        return self._client

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """See the module docstring; ``items`` may be an iterator: the next item is
        taken when a worker thread is free (so an iterator that stops ends the map)."""
        pending = iter(items)
        first = next(pending, _END)
        if first is _END:
            return []
        with self._calls(fn) as run:
            run.all(itertools.chain([first], pending))
        return run.results()

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``map``'s calls, each result yielded in item order as soon as it and those
        before it are done (see the module docstring); the first error by item order
        is raised after the results before it."""
        pending = iter(items)
        first = next(pending, _END)
        if first is _END:
            return
        with self._calls(fn) as run:
            yield from run.ordered(itertools.chain([first], pending))

    @contextlib.contextmanager
    def _calls(self, fn: Callable[[Any], Any]) -> Iterator[_Calls]:
        """The calls of one ``map``/``imap`` with ``fn`` sent once; a lost connection
        raises StageError, and a call's error is raised once they have ended."""
        client = self.client()
        run = _Calls(client, self._threads, 2 * self.workers)
        try:
            run.shared = _send(client, fn)
            yield run
        except _connection_errors() as exc:
            raise self._lost(exc) from exc
        finally:
            run.release()
        if run.error is not None:
            raise self._task_error(run.error)

    def close(self) -> None:
        """Close the client, and the LocalCluster this executor started."""
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        if client is not None:
            _quietly(client.close)
        if cluster is not None:
            _quietly(cluster.close)

    def __enter__(self) -> DaskExecutor:
        self.client()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        workers = self._n_local if self._local else "cluster"
        return f"DaskExecutor({self.address!r}, workers={workers}, threads={self._threads})"

    # --- connecting -------------------------------------------------------------------

    def _start_local(self) -> Any:
        from distributed import Client, LocalCluster

        env = {name: str(self._threads) for name in THREAD_VARIABLES}
        self._cluster = LocalCluster(
            n_workers=self._n_local,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",  # scheduler and workers on loopback only
            dashboard_address="127.0.0.1:0",  # its HTTP routes: a free loopback port, not :8787
            silence_logs=logging.ERROR,
            env=env,
        )
        return Client(self._cluster, timeout=self._timeout)

    def _connect(self) -> Any:
        from distributed import Client

        try:
            client = Client(self.address, timeout=self._timeout)
        except (OSError, TimeoutError) as exc:
            raise StageError(
                f"cannot reach the Dask scheduler at {self.address} within "
                f"{self._timeout:g} s ({exc}); start it with `dask scheduler` (and workers "
                f"with `dask worker {self.address}`), or unset LOOPML_CLUSTER",
                step="train",
            ) from None
        try:
            client.wait_for_workers(1, timeout=self._timeout)
        except (OSError, TimeoutError):
            _quietly(client.close)
            raise StageError(
                f"the Dask scheduler at {self.address} has no worker; start some with "
                f"`dask worker {self.address} --nthreads 1`",
                step="train",
            ) from None
        return client

    # --- errors -----------------------------------------------------------------------

    def _task_error(self, error: BaseException) -> BaseException:
        from distributed.scheduler import KilledWorker

        if isinstance(error, KilledWorker):
            return WorkerLost(
                f"a worker of the Dask cluster at {self.address} died each time it ran a "
                f"call ({error}); see the workers' logs (memory, a crash in native code)",
                step="train",
            )
        return error

    def _lost(self, exc: BaseException) -> StageError:
        self.close()
        return StageError(
            f"lost the Dask scheduler at {self.address} ({type(exc).__name__}: {exc}); the "
            "calls still running there are lost. Check the scheduler and run again",
            step="train",
        )


class _Calls:
    """The calls of one ``map``: submitted a few at a time (``ahead``), each result
    fetched and released as soon as its call ends, so that a worker dying later does
    not make Dask run a finished call again to recompute it."""

    def __init__(self, client: Any, threads: int, ahead: int) -> None:
        self.client = client
        self.threads = threads
        self.ahead = ahead
        self.shared: Any = None  # the future of ``fn``
        self.error: BaseException | None = None  # the first call's error, by item order
        self._index: dict[str, int] = {}
        self._results: dict[int, Any] = {}
        self._errors: dict[int, BaseException] = {}
        self._held: list[Any] = []

    def _submit(self, item: Any, done: Any) -> None:
        """Submit the call for ``item`` (numbered in submission order) to ``done``."""
        future = self.client.submit(_call, self.shared, item, self.threads, pure=False)
        self._index[future.key] = len(self._index)
        self._held.append(future)
        done.add(future)

    def all(self, items: Iterator[Any]) -> None:
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        done = as_completed()

        def submit() -> bool:
            item = next(items, _END)
            if item is _END:
                return False
            self._submit(item, done)
            return True

        feeding = all(submit() for _ in range(self.ahead))
        for future in done:
            index = self._index[future.key]
            if future.status == "cancelled":
                raise CancelledError(f"call {index} was cancelled")
            if future.status == "error":
                self._errors[index] = error = future.exception()
                if not isinstance(error, KilledWorker):
                    feeding = False  # a call raised: let those running end, start no more
            else:
                self._results[index] = future.result()
                future.release()
            if feeding:
                feeding = submit()
        if self._errors:
            self.error = self._errors[min(self._errors)]

    def ordered(self, items: Iterator[Any]) -> Iterator[Any]:
        """The results in item order as they come; a call is submitted only while fewer
        than ``ahead`` are running or held for their turn. At the first error (by item
        order) nothing more is yielded or submitted; ``error`` holds it after."""
        from distributed import as_completed

        done = as_completed()
        held: dict[int, Any] = {}
        yielded = 0
        feeding = True

        def fill() -> bool:
            while len(self._index) - yielded < self.ahead:
                item = next(items, _END)
                if item is _END:
                    return False
                self._submit(item, done)
            return True

        feeding = fill()
        for future in done:
            index = self._index[future.key]
            if future.status == "cancelled":
                raise CancelledError(f"call {index} was cancelled")
            if future.status == "error":
                self._errors[index] = future.exception()
                feeding = False  # let the calls running end, start no more
            else:
                held[index] = future.result()
                future.release()
            while yielded in held and yielded not in self._errors:
                yield held.pop(yielded)
                yielded += 1
            if feeding:
                feeding = fill()
        if self._errors:
            self.error = self._errors[min(self._errors)]

    def results(self) -> list[Any]:
        return [self._results[i] for i in range(len(self._index))]

    def release(self) -> None:
        for future in [*self._held, self.shared]:
            if future is not None:
                _quietly(future.release)


def _connection_errors() -> tuple[type[BaseException], ...]:
    """What a lost (or closed) scheduler raises in the client."""
    from distributed.comm import CommClosedError

    return (CancelledError, CommClosedError, TimeoutError, OSError)


def _send(client: Any, fn: Callable[[Any], Any]) -> Any:
    """``fn`` as the result of a task: each worker fetches it once, and the scheduler
    can compute it again when the workers that held it die (scattered data could not
    be). The scheduler keeps it pickled, so it need not import ``fn``'s module."""
    import cloudpickle
    import dask

    payload = cloudpickle.dumps(fn)
    with dask.config.set({"distributed.admin.large-graph-warning-threshold": "64GiB"}):
        return client.submit(_loads, payload, pure=False)  # sent once, on purpose


def _loads(payload: bytes) -> Any:
    import cloudpickle

    return cloudpickle.loads(payload)


def _call(fn: Callable[[Any], Any], item: Any, threads: int) -> Any:
    """On a worker: limit the BLAS/OpenMP threads, then run the call."""
    limit_threads(threads)
    return fn(item)


def _quietly(close: Callable[[], Any]) -> None:
    """Close something that may already be gone (after a lost connection)."""
    with contextlib.suppress(Exception):
        close()
