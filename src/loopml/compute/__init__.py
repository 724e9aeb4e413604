"""Compute: where parallel work runs (in this process, local processes, a Dask cluster).

A low-level package: it imports nothing of loopml's stages, so every layer may use it.
"""

from loopml.compute.dask import DaskExecutor, WorkerLost
from loopml.compute.executor import (
    Executor,
    LocalExecutor,
    ProcessExecutor,
    available_cores,
    executor_for,
    limit_threads,
)

__all__ = [
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "ProcessExecutor",
    "available_cores",
    "executor_for",
    "limit_threads",
    "WorkerLost",
]
