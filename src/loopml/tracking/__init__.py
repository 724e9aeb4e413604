"""Tracking: log runs from user code, find them by their metrics, compare them.

Usable without a project spec; imports only storage, domain, config and errors (plotly
for the comparison charts). ``client`` logs (batched), ``query`` finds, ``compare`` and
``charts`` put runs side by side. See ``client`` for examples.
"""

from __future__ import annotations

from loopml.tracking.client import (
    ActiveRun,
    Tracker,
    active_run,
    end_run,
    flush,
    log_artifact,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    resolve_project,
    set_tag,
    set_tags,
    start_run,
)
from loopml.tracking.query import RunTable, parse_condition, search_runs

__all__ = [
    "ActiveRun",
    "RunTable",
    "Tracker",
    "active_run",
    "end_run",
    "flush",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "parse_condition",
    "resolve_project",
    "search_runs",
    "set_tag",
    "set_tags",
    "start_run",
]
