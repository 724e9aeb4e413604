"""Functions run by worker processes in the executor tests (imported by path there)."""

from __future__ import annotations

import os
from typing import Any


def square(x: int) -> int:
    return x * x


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three is not allowed")
    return x


def describe(_: Any) -> dict[str, Any]:
    """This process's pid, its OMP_NUM_THREADS and the thread limits threadpoolctl sees."""
    import numpy  # noqa: F401 - loads a BLAS for threadpoolctl to report
    from threadpoolctl import threadpool_info

    return {
        "pid": os.getpid(),
        "omp": os.environ.get("OMP_NUM_THREADS"),
        "threads": sorted({lib["num_threads"] for lib in threadpool_info()}),
    }


def kill_on_one(x: int) -> int:
    """Kills the worker process that runs it for ``x == 1`` (a worker lost mid-call)."""
    if x == 1:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    return x
