"""Judge each window of traffic: drift, data quality, live performance, operations.

The latest window decides the alerts (what is wrong now); the earlier ones make the
time series of the report and the staleness figures (how long the model stayed good,
and which features drifted first).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import pandas as pd

from loopml.distributions.columns import (
    CategoricalWindow,
    ColumnReference,
    NumericReference,
    NumericWindow,
)
from loopml.distributions.measure import measure
from loopml.domain import FeatureDrift
from loopml.monitor.traffic import LogScan, WindowState, window_start
from loopml.spec.monitoring import MonitorSpec

# (truth, logged outputs) -> the live value of the primary metric, or None
Scorer = Callable[[pd.DataFrame], float | None]


@dataclass(frozen=True)
class QualityIssue:
    """A data-quality finding of one column in one window; ``alert`` when its share is
    past the limit (a finding below it, such as one new category, is shown, not alerted)."""

    column: str
    kind: str  # missing | new_category | out_of_range
    share: float
    limit: float
    message: str
    alert: bool = True


@dataclass(frozen=True)
class Performance:
    """The live primary metric of a window, from the rows that got feedback."""

    metric: str
    value: float | None
    holdout: float | None
    rows: int
    alert: bool
    message: str = ""


@dataclass(frozen=True)
class OperationsSummary:
    """Latency percentiles (ms), error rate and throughput (rows/s) of one version."""

    version: int
    rows: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    error_rate: float
    throughput: float
    alert: bool


@dataclass(frozen=True)
class WindowSummary:
    """One window, judged."""

    index: int
    start: datetime | None
    first_at: datetime | None
    last_at: datetime | None
    rows: int
    drift: tuple[FeatureDrift, ...]
    quality: tuple[QualityIssue, ...]
    performance: Performance | None
    operations: tuple[OperationsSummary, ...]
    note: str = ""

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.drift if f.drifted]

    def signals(self, version: int) -> dict[str, list[str]]:
        """What alerts in this window, by signal, with the evidence as short strings."""
        found: dict[str, list[str]] = {}
        if self.drifted_features:
            found["drift"] = [_evidence(f) for f in self.drift if f.drifted]
        alerting = [i.message for i in self.quality if i.alert]
        if alerting:
            found["quality"] = alerting
        if self.performance is not None and self.performance.alert:
            found["performance"] = [self.performance.message]
        ops = [o for o in self.operations if o.version == version and o.alert]
        if ops:
            found["operations"] = [
                f"p95 {o.p95_ms:.1f} ms, error rate {o.error_rate:.2%}" for o in ops
            ]
        return found


def _evidence(feature: FeatureDrift) -> str:
    """``cut (chisquare 1.2e-09): 'Premium' 25% -> 41%``: the test, and what moved."""
    levels = feature.column_type in ("categorical", "ordinal")
    moved = f": {feature.note}" if feature.note and levels else ""
    return f"{feature.feature} ({feature.method} {feature.score:.4g}){moved}"


@dataclass(frozen=True)
class Staleness:
    """How long the model stayed good, and which features drifted first."""

    first_at: datetime | None
    degraded_at: datetime | None  # start of the first window whose live metric alerted
    days_to_degrade: float | None
    first_drift_at: datetime | None
    first_drifted: tuple[str, ...]


@dataclass(frozen=True)
class MonitorOutcome:
    """Every window judged, the latest window's alerts and the staleness figures."""

    windows: tuple[WindowSummary, ...]
    alerts: Mapping[str, list[str]]
    staleness: Staleness
    rows: int
    message: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def alert(self) -> bool:
        return bool(self.alerts)

    @property
    def latest(self) -> WindowSummary | None:
        return self.windows[-1] if self.windows else None


def judge(
    scan: LogScan,
    references: Mapping[str, ColumnReference],
    spec: MonitorSpec,
    *,
    version: int,
    metric: str,
    holdout: float | None,
    greater_is_better: bool,
    scorer: Scorer | None = None,
) -> MonitorOutcome:
    """Judge every window of ``scan``; the latest one decides ``alerts``."""
    windows = tuple(
        _summary(i, state, references, spec, metric, holdout, greater_is_better, scorer)
        for i, state in enumerate(scan.windows)
    )
    if not windows:
        message = "no predictions logged yet: serve the model and send traffic first"
        return MonitorOutcome((), {}, _staleness(windows), scan.rows, message)
    alerts = windows[-1].signals(version)
    return MonitorOutcome(windows, alerts, _staleness(windows), scan.rows, windows[-1].note)


def _summary(
    index: int,
    state: WindowState,
    references: Mapping[str, ColumnReference],
    spec: MonitorSpec,
    metric: str,
    holdout: float | None,
    greater_is_better: bool,
    scorer: Scorer | None,
) -> WindowSummary:
    drift = tuple(measure(references[n], w, spec.drift) for n, w in state.columns.items())
    note = ""
    if state.rows < spec.min_rows:
        note = (
            f"only {state.rows} row(s) in this window (monitor.min_rows is {spec.min_rows}): "
            "measured, not judged"
        )
        drift = tuple(replace(f, verdict=False, note=f.note or note) for f in drift)
    quality = () if note else tuple(_quality(state, references, spec))
    return WindowSummary(
        index=index,
        start=window_start(state.key, spec.window) or state.first_at,
        first_at=state.first_at,
        last_at=state.last_at,
        rows=state.rows,
        drift=drift,
        quality=quality,
        performance=_performance(state, spec, metric, holdout, greater_is_better, scorer),
        operations=tuple(
            _operations(v, ops, state, spec) for v, ops in sorted(state.operations.items())
        ),  # fmt: skip
        note=note,
    )


def _quality(
    state: WindowState, references: Mapping[str, ColumnReference], spec: MonitorSpec
) -> list[QualityIssue]:
    limits, issues = spec.quality, []
    for name, window in state.columns.items():
        reference = references[name]
        if window.rows == 0:
            continue
        missing = window.missing / window.rows
        before = reference.missing / max(reference.rows, 1)
        if missing - before > limits.max_missing_increase:
            issues.append(QualityIssue(
                name, "missing", missing, before + limits.max_missing_increase,
                f"{name}: {missing:.1%} missing (training: {before:.1%})",
            ))  # fmt: skip
        present = max(window.rows - window.missing, 1)
        if isinstance(window, CategoricalWindow):
            new = int(window.counts[-1])
            if new:
                share = new / present
                examples = ", ".join(repr(e) for e in sorted(window.examples)[:5])
                issues.append(QualityIssue(
                    name, "new_category", share, limits.max_new_category_share,
                    f"{name}: {new} value(s) ({share:.1%}) of categories training never saw: "
                    f"{examples}",
                    alert=share > limits.max_new_category_share,
                ))  # fmt: skip
        elif isinstance(window, NumericWindow) and isinstance(reference, NumericReference):
            share = float(window.counts[0] + window.counts[-1]) / present
            if share > limits.max_out_of_range_share:
                issues.append(QualityIssue(
                    name, "out_of_range", share, limits.max_out_of_range_share,
                    f"{name}: {share:.1%} of values outside the training range "
                    f"[{_fmt(reference.edges[0])}, {_fmt(reference.edges[-1])}]",
                ))  # fmt: skip
    return issues


def _fmt(value: float) -> str:
    return f"{float(value):.4g}"


RELATIVE_METRICS = frozenset({"rmse", "mae"})  # in the target's units: judged relatively


def _performance(
    state: WindowState,
    spec: MonitorSpec,
    metric: str,
    holdout: float | None,
    greater_is_better: bool,
    scorer: Scorer | None,
) -> Performance | None:
    if scorer is None or not state.outcomes:
        return None
    outcomes = pd.concat(state.outcomes, ignore_index=True)
    rows = len(outcomes)
    settings = spec.performance
    if rows < settings.min_feedback:
        message = f"{rows} prediction(s) with feedback; {settings.min_feedback} needed to judge"
        return Performance(metric, scorer(outcomes), holdout, rows, False, message)
    value = scorer(outcomes)
    if value is None or holdout is None or math.isnan(value):
        return Performance(metric, value, holdout, rows, False, f"{metric} not measurable")
    drop = holdout - value if greater_is_better else value - holdout
    alert = drop > settings.max_drop * (abs(holdout) if metric in RELATIVE_METRICS else 1.0)
    message = f"live {metric} {value:.4g} vs hold-out {holdout:.4g} on {rows} rows with feedback"
    return Performance(metric, value, holdout, rows, alert, message)


def _operations(version: int, ops: Any, state: WindowState, spec: MonitorSpec) -> OperationsSummary:
    span = 0.0
    if state.first_at is not None and state.last_at is not None:
        span = (state.last_at - state.first_at).total_seconds()
    limits = spec.operations
    p95 = ops.percentile(95)
    error_rate = ops.errors / max(ops.rows, 1)
    alert = (not math.isnan(p95) and p95 > limits.max_p95_latency_ms) or (
        error_rate > limits.max_error_rate
    )
    return OperationsSummary(
        version=version,
        rows=ops.rows,
        p50_ms=ops.percentile(50),
        p95_ms=p95,
        p99_ms=ops.percentile(99),
        error_rate=error_rate,
        throughput=ops.rows / span if span > 0 else float("nan"),
        alert=alert,
    )


def _staleness(windows: Sequence[WindowSummary]) -> Staleness:
    first_at = windows[0].first_at if windows else None
    degraded = next((w for w in windows if w.performance and w.performance.alert), None)
    drifted = next((w for w in windows if w.drifted_features), None)
    degraded_at = degraded.start if degraded else None
    days = None
    if degraded_at is not None and first_at is not None:
        days = max((degraded_at - first_at).total_seconds(), 0.0) / 86400
    first_drifted: tuple[str, ...] = ()
    if drifted is not None:
        ranked = sorted((f for f in drifted.drift if f.drifted), key=lambda f: f.feature)
        first_drifted = tuple(f.feature for f in ranked)
    return Staleness(first_at, degraded_at, days, drifted.start if drifted else None, first_drifted)
