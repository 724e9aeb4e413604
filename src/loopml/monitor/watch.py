"""One monitoring check of a served model, and the loop that repeats it.

``check_traffic`` bins the training reference (features and the model's own outputs on
it), reads the prediction log chunk by chunk into windows and judges them. ``repeat``
calls a check every ``every_s`` seconds until SIGINT or SIGTERM.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from loopml.distributions.columns import ColumnReference, ColumnWindow
from loopml.distributions.measure import build_references, column_orders, column_types
from loopml.domain import Schema
from loopml.monitor.checks import MonitorOutcome, Scorer, judge
from loopml.monitor.traffic import scan_log
from loopml.spec.monitoring import MonitorSpec


@dataclass(frozen=True)
class TrafficCheck:
    """The judged windows, with the bins the report draws."""

    outcome: MonitorOutcome
    references: Mapping[str, ColumnReference]
    latest: Mapping[str, ColumnWindow] | None


def check_traffic(
    reference: pd.DataFrame,
    signature: Schema,
    log: Iterable[pd.DataFrame],
    spec: MonitorSpec,
    *,
    version: int,
    outputs: Mapping[str, str] | None = None,
    feedback: Mapping[str, Any] | None = None,
    metric: str = "",
    holdout: float | None = None,
    greater_is_better: bool = True,
    scorer: Scorer | None = None,
) -> TrafficCheck:
    """Judge the log of ``version`` against ``reference``.

    Args:
        reference: the training rows, with the model's outputs on them as extra columns.
        signature: the model's inputs; its numeric, categorical and boolean columns
            are measured.
        log: the prediction log as DataFrames, in any order.
        spec: the monitor section of the project spec.
        version: the model version whose rows are judged (others feed operations).
        outputs: output columns to measure too, ``{"probability": "numeric"}``.
        feedback: true values by prediction id.
        metric, holdout, greater_is_better, scorer: the live metric and its hold-out value.

    Raises:
        DataError: a feature missing from the reference or the log, or text in a
            numeric column (the message names the column and the side).
    """
    types = {**column_types(reference, signature), **(outputs or {})}
    references = build_references(reference, types, column_orders(signature))
    scan = scan_log(log, references, spec.window, version=version, feedback=feedback)
    outcome = judge(
        scan, references, spec, version=version, metric=metric, holdout=holdout,
        greater_is_better=greater_is_better, scorer=scorer,
    )  # fmt: skip
    latest = scan.windows[-1].columns if scan.windows else None
    return TrafficCheck(outcome, references, latest)


def repeat(
    check: Callable[[], Any],
    every_s: float,
    *,
    on_result: Callable[[Any], None],
    on_error: Callable[[Exception], None],
    stop: threading.Event | None = None,
    handle_signals: bool = True,
) -> int:
    """Run ``check`` now and every ``every_s`` seconds until stopped; returns the count.

    SIGINT and SIGTERM (when ``handle_signals``, from the main thread) set ``stop``, so
    a check in progress finishes and the loop ends cleanly. A failing check is handed
    to ``on_error`` and the loop goes on.
    """
    stop = stop or threading.Event()
    previous = {}
    if handle_signals and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    runs = 0
    try:
        while not stop.is_set():
            try:
                on_result(check())
            except Exception as exc:  # noqa: BLE001 - reported, and the loop goes on
                on_error(exc)
            runs += 1
            stop.wait(every_s)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return runs
