"""Micro-batching: concurrent requests share one predict call on one worker thread.

Requests queue on the event loop. A single task takes the first waiting request, waits
``window_s`` (0 by default: no wait) and takes every other waiting request up to
``max_rows`` rows, joins their columns and calls the model once: on the event loop's
own thread for batches of at most ``inline_rows`` rows (a small predict is cheaper than
handing the GIL to another thread and back), on the worker thread otherwise. While the
model works, new requests queue, so under load the batches grow by themselves and an
idle server answers a lone request at once. A request of ``max_rows`` rows or more is a
batch already: it skips the queue and runs on a thread of its own, which may use more
OpenMP/BLAS threads (``big_thread_init``) than the batches do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from loopml.model.bundle import Prediction

Columns = dict[str, np.ndarray]


@dataclass
class _Job:
    columns: Columns
    rows: int
    done: asyncio.Future[Prediction]


class MicroBatcher:
    """Gathers concurrent ``predict`` calls into batches for ``model`` (columns ->
    Prediction). Start it inside the event loop with ``start()``; ``stop()`` finishes the
    queued work first."""

    def __init__(
        self,
        model: Callable[[Columns], Prediction],
        *,
        window_s: float = 0.0,
        max_rows: int = 256,
        name: str = "model",
        thread_init: Callable[[], Any] | None = None,
        inline_rows: int = 0,
        big_thread_init: Callable[[], Any] | None = None,
    ) -> None:
        self.model = model
        self.window_s = window_s
        self.max_rows = max_rows
        self.inline_rows = inline_rows
        self._thread_init = thread_init
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(
            1, thread_name_prefix=f"loopml-{name}", initializer=thread_init
        )
        self._big_executor = ThreadPoolExecutor(
            1, thread_name_prefix=f"loopml-{name}-big", initializer=big_thread_init or thread_init
        )
        self.batches = 0  # predict calls made, for tests and metrics

    def start(self) -> None:
        if self.inline_rows and self._thread_init is not None:
            self._thread_init()  # the event loop's thread runs small batches
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            assert self._queue is not None
            await self._queue.join()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=True)
        self._big_executor.shutdown(wait=True)

    async def predict(self, columns: Columns, rows: int) -> Prediction:
        """The model's prediction for ``rows`` rows of ``columns``, batched with others."""
        if self._queue is None:
            raise RuntimeError("MicroBatcher.start() was not called")
        if rows >= self.max_rows:  # a big request is a batch already
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._big_executor, self.model, columns)
        done: asyncio.Future[Prediction] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(columns, rows, done))
        return await done

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await queue.get()]
            if self.window_s > 0:
                await asyncio.sleep(self.window_s)
            rows = jobs[0].rows
            while not queue.empty() and rows + queue._queue[0].rows <= self.max_rows:  # type: ignore[attr-defined]
                job = queue.get_nowait()
                jobs.append(job)
                rows += job.rows
            try:
                columns = jobs[0].columns if len(jobs) == 1 else _join(jobs)
                if rows <= self.inline_rows:  # cheaper than handing over the GIL
                    result = _call(self.model, columns)
                else:
                    result = await loop.run_in_executor(self._executor, _call, self.model, columns)
                self.batches += 1
                _answer(jobs, result)
            except Exception as exc:  # noqa: BLE001 - each caller gets the model's error
                for job in jobs:
                    if not job.done.done():
                        job.done.set_exception(exc)
            finally:
                for _ in jobs:
                    queue.task_done()


def _call(model: Any, columns: Columns) -> Any:
    """``model(columns)``; a StopIteration it raises becomes a RuntimeError, since a Future
    cannot hold one (its callers would wait forever)."""
    try:
        return model(columns)
    except StopIteration as exc:
        raise RuntimeError(f"the model raised StopIteration {exc!r}") from exc


def _join(jobs: list[_Job]) -> Columns:
    names = jobs[0].columns.keys()
    return {name: np.concatenate([job.columns[name] for job in jobs]) for name in names}


def _answer(jobs: list[_Job], result: Prediction) -> None:
    start = 0
    for job in jobs:
        stop = start + job.rows
        probabilities = None if result.probabilities is None else result.probabilities[start:stop]
        if not job.done.done():
            job.done.set_result(Prediction(result.predictions[start:stop], probabilities))
        start = stop
