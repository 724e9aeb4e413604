"""The monitoring report: one self-contained HTML file with a time series of every signal.

Sections: the alerts of the latest window with their evidence; drift score per feature
per window; data-quality findings; the live metric against the hold-out; latency
percentiles, error rate and throughput per model version; the drifted features'
distributions, training beside live; staleness. Figures are Plotly specs drawn by
plotly.js inlined once (no network); user text is escaped by the template.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from loopml.distributions.columns import (
    CategoricalReference,
    ColumnReference,
    ColumnWindow,
    NumericReference,
)
from loopml.monitor.checks import MonitorOutcome, WindowSummary
from loopml.reports.charts import BLUE, FONT, GREY, RED
from loopml.reports.html import ChartBook, Figure, render_page

MAX_CATEGORIES = 20


def render_monitoring(
    outcome: MonitorOutcome,
    *,
    model_ref: str,
    references: Mapping[str, ColumnReference],
    latest: Mapping[str, ColumnWindow] | None,
    actions: list[Any] = (),  # type: ignore[assignment]
    decisions: Sequence[Decision] = (),
) -> str:
    """The report as one HTML document (a str); ``decisions`` newest first."""
    book = ChartBook()
    windows = outcome.windows
    drifted = outcome.latest.drifted_features if outcome.latest else []
    distributions = [
        (name, book.add(distribution_figure(references[name], latest[name])))
        for name in drifted
        if latest is not None and name in latest
    ]
    return render_page(
        "loopml.monitor",
        "monitoring.html.j2",
        book,
        o=outcome,
        model_ref=model_ref,
        generated_at=datetime.now(UTC),
        actions=actions,
        decisions=decisions,
        drift_chart=book.add(drift_figure(windows)),
        quality_chart=book.add(quality_figure(windows)),
        performance_chart=book.add(performance_figure(windows)),
        latency_chart=book.add(latency_figure(windows)),
        traffic_chart=book.add(traffic_figure(windows)),
        distributions=distributions,
        fmt=_fmt,
    )


@dataclass(frozen=True)
class Decision:
    """One line of the report's decisions: an event, when, and what it says."""

    at: datetime
    kind: str
    text: str


DECISION_KINDS = ("monitor.", "retrain.", "deployment.", "model.promoted")


def decisions_of(events: Sequence[Any], limit: int = 50) -> list[Decision]:
    """The events that record what monitoring decided and what followed, newest first."""
    chosen = [e for e in events if e.kind.startswith(DECISION_KINDS)]
    return [Decision(e.created_at, e.kind, e.gist) for e in reversed(chosen)][:limit]


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _x(windows: tuple[WindowSummary, ...]) -> list[str]:
    """The windows' labels: their start time (UTC, to the minute); with one window, the
    time span of its traffic, since a time axis of one point spans microseconds."""
    if len(windows) == 1:
        return [_span(windows[0])]
    return [f"{w.start:%Y-%m-%d %H:%M}" if w.start else f"window {w.index + 1}" for w in windows]


def _span(window: WindowSummary) -> str:
    first, last = window.first_at or window.start, window.last_at
    if first is None:
        return f"window {window.index + 1} ({window.rows} rows)"
    end = ""
    if last is not None:
        end = f" to {last:%H:%M}" if last.date() == first.date() else f" to {last:%Y-%m-%d %H:%M}"
    return f"{first:%Y-%m-%d %H:%M}{end} UTC ({window.rows} rows)"


def _layout(
    title: str,
    height: int = 340,
    windows: tuple[WindowSummary, ...] = (),
    **changes: Any,
) -> dict[str, Any]:
    """The house layout; the x axis names the windows as categories when there are fewer
    than two of them (one labelled point or bar), a time axis otherwise."""
    xaxis: dict[str, Any] = {"gridcolor": "#eee", "automargin": True}
    if len(windows) < 2:
        xaxis["type"] = "category"
    layout = {
        "title": {"text": title, "font": {"size": 14}},
        "height": height,
        "margin": {"l": 55, "r": 20, "t": 40, "b": 50},
        "font": FONT,
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "legend": {"orientation": "h", "y": -0.2},
        "xaxis": xaxis,
        "yaxis": {"gridcolor": "#eee", "automargin": True},
    }
    layout.update(changes)
    return layout


def drift_figure(windows: tuple[WindowSummary, ...]) -> Figure | None:
    """Per feature, its score divided by its threshold per window (1 = the line)."""
    if not windows or not windows[-1].drift:
        return None
    x, traces = _x(windows), []
    for i, feature in enumerate(windows[-1].drift):
        y = [_relative(w.drift[i]) if i < len(w.drift) else None for w in windows]
        traces.append({"type": "scatter", "mode": "lines+markers", "name": feature.feature,
                       "x": x, "y": y})  # fmt: skip
    layout = _layout("drift per feature (score / threshold; above 1 drifted)", 380, windows)
    layout["shapes"] = [_hline(1.0)]
    return {"data": traces, "layout": layout}


def _relative(feature: Any) -> float | None:
    """How far past its threshold a score is, 1 being the threshold, for any test."""
    score, threshold = feature.score, feature.threshold
    if score is None or math.isnan(score):
        return None
    if feature.method in ("ks", "chisquare"):  # p-values: smaller is more drift
        return float(min(math.log10(max(score, 1e-300)) / math.log10(threshold), 10.0))
    return float(score / threshold)


def _hline(y: float) -> dict[str, Any]:
    return {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y,
            "line": {"color": RED, "dash": "dash"}}  # fmt: skip


def quality_figure(windows: tuple[WindowSummary, ...]) -> Figure | None:
    if not windows:
        return None
    x = _x(windows)
    kinds = ("missing", "new_category", "out_of_range")
    traces = [
        {"type": "bar", "name": kind, "x": x,
         "y": [sum(1 for i in w.quality if i.kind == kind) for w in windows]}
        for kind in kinds
    ]  # fmt: skip
    layout = _layout("data-quality findings per window", windows=windows, barmode="stack")
    return {"data": traces, "layout": layout}


def performance_figure(windows: tuple[WindowSummary, ...]) -> Figure | None:
    scored = [w for w in windows if w.performance is not None]
    if not scored:
        return None
    perf = [w.performance for w in scored]
    metric = perf[0].metric if perf[0] else "metric"
    x = _x(tuple(scored))
    traces = [
        {"type": "scatter", "mode": "lines+markers", "name": f"live {metric}", "x": x,
         "y": [p.value if p else None for p in perf], "line": {"color": BLUE}},
        {"type": "scatter", "mode": "lines", "name": "hold-out", "x": x,
         "y": [p.holdout if p else None for p in perf], "line": {"color": GREY, "dash": "dash"}},
    ]  # fmt: skip
    layout = _layout(f"live {metric} once feedback arrives", windows=tuple(scored))
    return {"data": traces, "layout": layout}


def latency_figure(windows: tuple[WindowSummary, ...]) -> Figure | None:
    if not windows:
        return None
    x, traces = _x(windows), []
    versions = sorted({o.version for w in windows for o in w.operations})
    for v in versions:
        for q in ("p50_ms", "p95_ms", "p99_ms"):
            y = [next((getattr(o, q) for o in w.operations if o.version == v), None)
                 for w in windows]  # fmt: skip
            traces.append({"type": "scatter", "mode": "lines+markers", "x": x, "y": y,
                           "name": f"v{v} {q.removesuffix('_ms')}"})  # fmt: skip
    return {"data": traces, "layout": _layout("latency per version (ms)", windows=windows)}


def traffic_figure(windows: tuple[WindowSummary, ...]) -> Figure | None:
    if not windows:
        return None
    x, traces = _x(windows), []
    for v in sorted({o.version for w in windows for o in w.operations}):
        ops = [next((o for o in w.operations if o.version == v), None) for w in windows]
        traces.append({"type": "bar", "name": f"v{v} rows", "x": x,
                       "y": [o.rows if o else 0 for o in ops]})  # fmt: skip
        traces.append({"type": "scatter", "mode": "lines+markers", "yaxis": "y2",
                       "name": f"v{v} error rate", "x": x,
                       "y": [o.error_rate if o else None for o in ops]})  # fmt: skip
    layout = _layout("requests and error rate per version", windows=windows)
    layout["yaxis2"] = {
        "overlaying": "y",
        "side": "right",
        "tickformat": ".1%",
        "rangemode": "tozero",
    }
    return {"data": traces, "layout": layout}


def distribution_figure(reference: ColumnReference, window: ColumnWindow) -> Figure:
    """Training and live shares side by side, on the reference's bins."""
    if isinstance(reference, NumericReference):
        labels = _numeric_labels(reference)
        ref_counts = reference.coarse(reference.counts, reference.missing)
        cur_counts = reference.coarse(window.counts, window.missing)
    else:
        assert isinstance(reference, CategoricalReference)
        labels = [*map(str, reference.categories), "(unseen)"]
        ref_counts = reference.counts.astype(float)
        cur_counts = window.counts.astype(float)
        ref_counts, cur_counts = (
            np.append(ref_counts, reference.missing),
            np.append(cur_counts, window.missing),
        )
        labels.append("(missing)")
        labels, ref_counts, cur_counts = (
            labels[:MAX_CATEGORIES], ref_counts[:MAX_CATEGORIES], cur_counts[:MAX_CATEGORIES]
        )  # fmt: skip
    traces = [
        {"type": "bar", "name": "training", "x": labels,
         "y": (ref_counts / max(ref_counts.sum(), 1)).tolist(), "marker": {"color": GREY}},
        {"type": "bar", "name": "live (latest window)", "x": labels,
         "y": (cur_counts / max(cur_counts.sum(), 1)).tolist(), "marker": {"color": RED}},
    ]  # fmt: skip
    layout = _layout(reference.name, 320, barmode="group")
    layout["yaxis"] = {"tickformat": ".0%", "gridcolor": "#eee"}
    return {"data": traces, "layout": layout}


def _numeric_labels(reference: NumericReference) -> list[str]:
    """Decile bins named by their range, with the outer and missing bins."""
    edges = reference.edges
    if edges.size == 0:
        return [f"bin {i}" for i in range(12)] + ["(missing)"]
    fine = np.concatenate([[-np.inf], edges])
    labels = ["below training"]
    for coarse in range(1, 11):
        inside = fine[reference.coarse_of_fine == coarse]
        labels.append(f"≥ {inside.min():.4g}" if inside.size else f"decile {coarse}")
    return [*labels, "above training", "(missing)"]
