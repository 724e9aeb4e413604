"""Runs (one per pipeline step, trial or user run) and their metrics."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class RunStatus(enum.StrEnum):
    """Lifecycle of a run. ``reused`` means a cached result of an earlier run was taken."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REUSED = "reused"

    @property
    def finished(self) -> bool:
        return self is not RunStatus.RUNNING


@dataclass(frozen=True)
class Metric:
    """One value of a metric at a step (epoch, fold, window); ``timestamp`` is UTC."""

    key: str
    value: float
    step: int = 0
    timestamp: datetime | None = None


@dataclass(frozen=True)
class Run:
    """A recorded unit of work.

    ``outputs`` maps each output name of a pipeline step to its artifact digest;
    ``cache_key`` fingerprints the step's inputs so that an unchanged step can be reused;
    ``pid`` and ``host`` find runs whose process died.
    """

    run_id: str
    project_id: str
    name: str
    status: RunStatus
    started_at: datetime
    ended_at: datetime | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None
    code_version: str = ""
    parent_run_id: str | None = None
    cache_key: str | None = None
    pid: int | None = None
    host: str | None = None

    @property
    def duration_s(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()
