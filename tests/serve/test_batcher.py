"""Concurrent requests share predict calls, each caller gets its own rows back."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from loopml.model.bundle import Prediction
from loopml.serve.batcher import MicroBatcher


def doubling_model(calls: list[int], threads: set[str]):
    def model(columns: dict[str, np.ndarray]) -> Prediction:
        calls.append(len(columns["x"]))
        threads.add(threading.current_thread().name)
        time.sleep(0.002)  # long enough for others to queue meanwhile
        return Prediction(columns["x"] * 2, columns["x"] / 100)

    return model


def test_concurrent_requests_are_scored_together_in_order() -> None:
    calls: list[int] = []
    threads: set[str] = set()

    async def scenario() -> list[Prediction]:
        batcher = MicroBatcher(doubling_model(calls, threads), max_rows=64, inline_rows=0)
        batcher.start()
        sizes = [1 + i % 3 for i in range(60)]
        starts = np.cumsum([0, *sizes[:-1]])
        jobs = [
            batcher.predict({"x": np.arange(s, s + n, dtype=float)}, n)
            for s, n in zip(starts, sizes, strict=True)
        ]
        results = await asyncio.gather(*jobs)
        await batcher.stop()
        for s, n, result in zip(starts, sizes, results, strict=True):
            np.testing.assert_array_equal(result.predictions, np.arange(s, s + n) * 2.0)
            np.testing.assert_array_equal(result.probabilities, np.arange(s, s + n) / 100)
        return results

    asyncio.run(scenario())
    assert sum(calls) == sum(1 + i % 3 for i in range(60))
    assert len(calls) < 10 and max(calls) <= 64  # 60 requests, a handful of predict calls
    assert all(name.startswith("loopml-") for name in threads)  # on the worker thread


def test_a_model_error_reaches_every_caller_of_the_batch() -> None:
    def broken(columns: dict[str, np.ndarray]) -> Prediction:
        raise ValueError("bad batch")

    async def scenario() -> None:
        batcher = MicroBatcher(broken, inline_rows=64)
        batcher.start()
        jobs = [batcher.predict({"x": np.ones(1)}, 1) for _ in range(5)]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        assert all(isinstance(r, ValueError) for r in results)
        ok = MicroBatcher(doubling_model([], set()), inline_rows=64)  # still usable after
        ok.start()
        assert (await ok.predict({"x": np.ones(2)}, 2)).predictions.tolist() == [2.0, 2.0]
        await ok.stop()
        await batcher.stop()

    asyncio.run(scenario())
    with pytest.raises(RuntimeError, match="start"):
        asyncio.run(MicroBatcher(broken).predict({"x": np.ones(1)}, 1))


@pytest.mark.parametrize("inline_rows", [0, 64])
def test_a_model_raising_stop_iteration_fails_its_callers_instead_of_hanging(
    inline_rows: int,
) -> None:
    def empty(columns: dict[str, np.ndarray]) -> Prediction:
        return next(iter({}))  # what an empty column dict does deep inside a model

    async def scenario() -> list[object]:
        batcher = MicroBatcher(empty, inline_rows=inline_rows)
        batcher.start()
        jobs = [batcher.predict({"x": np.ones(1)}, 1) for _ in range(3)]
        results = await asyncio.wait_for(asyncio.gather(*jobs, return_exceptions=True), 10)
        await batcher.stop()
        return results

    results = asyncio.run(scenario())
    assert all(isinstance(r, RuntimeError) and "StopIteration" in str(r) for r in results)


def test_a_big_request_runs_with_the_batch_threads() -> None:
    """Small batches keep ``model_threads`` OpenMP threads; a request of ``max_rows`` rows
    or more runs on its own thread with ``batch_threads`` of them."""
    import sklearn.ensemble  # noqa: F401 - loads scikit-learn's OpenMP runtime
    from threadpoolctl import threadpool_info

    from loopml.serve.app import _thread_limit

    seen: list[tuple[int, int]] = []

    def model(columns: dict[str, np.ndarray]) -> Prediction:
        openmp = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp"]
        seen.append((len(columns["x"]), openmp[0]))
        return Prediction(columns["x"], None)

    async def scenario() -> None:
        batcher = MicroBatcher(
            model,
            max_rows=8,
            thread_init=_thread_limit(1),
            big_thread_init=_thread_limit(2),
        )
        batcher.start()
        await batcher.predict({"x": np.ones(3)}, 3)
        await batcher.predict({"x": np.ones(20)}, 20)
        await batcher.stop()

    asyncio.run(scenario())
    assert seen == [(3, 1), (20, 2)]
