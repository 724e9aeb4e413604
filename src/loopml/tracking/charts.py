"""The comparison report: one self-contained HTML file with two plotly charts.

A table of the compared runs side by side, a parallel-coordinates chart (each parameter
and the chart metric, one line per run of the population) and an optimisation-history
chart (trial number against the metric, with the best-so-far line). plotly.js is inlined
once, so the file opens without a network. Text from runs is HTML-escaped; chart data is
JSON-escaped by plotly.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from typing import Any

from loopml.domain import Run
from loopml.tracking.compare import Comparison

_CONFIG = {"displaylogo": False, "responsive": True}
_HIGHLIGHT = "#d62728"
_OTHERS = "#1f77b4"


def comparison_html(comparison: Comparison) -> str:
    """Render ``comparison`` as a whole HTML document (about 4.7 MB with plotly.js)."""
    parallel = _figure_html(parallel_coordinates(comparison), include_js=True)
    history = _figure_html(optimisation_history(comparison), include_js=False)
    title = "Run comparison: " + ", ".join(_label(r) for r in comparison.runs)
    source = (
        f"the {len(comparison.population)} children of run {comparison.parent.run_id[:8]} "
        f"({html.escape(comparison.parent.name)})"
        if comparison.parent is not None
        else "the compared runs"
    )
    metric = html.escape(comparison.metric or "no common metric")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5rem; }}
th, td {{ border: 1px solid #ddd; padding: .3rem .6rem; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
tr.differs td:first-child {{ font-weight: bold; color: #b35900; }}
td.best {{ font-weight: bold; color: #1a7f37; }}
.note {{ color: #666; font-size: .9rem; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="note">Charts show {source}; metric: <b>{metric}</b>
({"greater" if comparison.greater_is_better else "smaller"} is better).
Rows in orange differ between the compared runs; green marks the best value.</p>
{_side_by_side(comparison)}
<h2>Parallel coordinates</h2>
<div id="parallel-coordinates">{parallel}</div>
<h2>Optimisation history</h2>
<div id="optimisation-history">{history}</div>
</body></html>
"""


def parallel_coordinates(comparison: Comparison) -> Any:
    """A plotly Parcoords figure: one axis per parameter, then the metric; one line a run.

    Numeric parameters are axes of their values; any other parameter is an axis of its
    distinct values (as text). Runs without the metric are left out when there is one.
    """
    import plotly.graph_objects as go

    metric = comparison.metric
    runs = [
        r
        for r in comparison.population
        if metric is None or comparison.value(r, metric) is not None
    ]
    keys = sorted({k for r in runs for k in r.params})
    dimensions = [_dimension(key, [r.params.get(key) for r in runs]) for key in keys]
    line: dict[str, Any] = {"color": _OTHERS}
    if metric is not None:
        values = [comparison.value(r, metric) for r in runs]
        dimensions.append({"label": metric, "values": values})
        line = {"color": values, "colorscale": "Viridis", "showscale": True}
        if not comparison.greater_is_better:
            line["reversescale"] = True
    if not dimensions:
        dimensions = [{"label": "run", "values": list(range(1, len(runs) + 1))}]
    figure = go.Figure(go.Parcoords(dimensions=dimensions, line=line))
    figure.update_layout(
        title=f"{len(runs)} runs: parameters and {metric or 'no metric'}",
        template="plotly_white",
        height=480,
        margin={"l": 80, "r": 80, "t": 80, "b": 40},
    )
    return figure


def optimisation_history(comparison: Comparison) -> Any:
    """A plotly figure: the metric of each run by trial number, and the best so far."""
    import plotly.graph_objects as go

    metric = comparison.metric
    figure = go.Figure()
    compared = {r.run_id for r in comparison.runs}
    points = sorted(
        (
            (number, run, comparison.value(run, metric) if metric else None)
            for number, run in zip(comparison.trial_numbers(), comparison.population, strict=True)
        ),
        key=lambda point: point[0],
    )
    scored = [(n, r, v) for n, r, v in points if v is not None]
    for chosen, name, color, size in (
        (False, "trials", _OTHERS, 8),
        (True, "compared", _HIGHLIGHT, 13),
    ):
        subset = [(n, r, v) for n, r, v in scored if (r.run_id in compared) is chosen]
        figure.add_trace(
            go.Scatter(
                x=[n for n, _, _ in subset],
                y=[v for _, _, v in subset],
                mode="markers",
                name=name,
                marker={"color": color, "size": size},
                text=[_label(r) for _, r, _ in subset],
                hovertemplate="trial %{x}: %{y}<br>%{text}<extra></extra>",
            )
        )
    best = _best_so_far([v for _, _, v in scored], comparison.greater_is_better)
    figure.add_trace(
        go.Scatter(
            x=[n for n, _, _ in scored],
            y=best,
            mode="lines",
            name="best so far",
            line={"shape": "hv", "color": "#2ca02c"},
        )
    )
    figure.update_layout(
        title=f"Optimisation history of {metric or 'no metric'}",
        xaxis_title="trial",
        yaxis_title=metric or "",
        template="plotly_white",
        height=420,
    )
    return figure


def _best_so_far(values: Sequence[float], greater_is_better: bool) -> list[float]:
    best: list[float] = []
    for value in values:
        if not best:
            best.append(value)
        else:
            best.append(max(best[-1], value) if greater_is_better else min(best[-1], value))
    return best


def _dimension(key: str, values: list[Any]) -> dict[str, Any]:
    numbers = [_number(v) for v in values]
    if all(n is not None for n in numbers):
        return {"label": key, "values": numbers}
    labels = [_text(v) for v in values]
    categories = sorted(set(labels))
    codes = {label: i for i, label in enumerate(categories)}
    return {
        "label": key,
        "values": [codes[label] for label in labels],
        "tickvals": list(range(len(categories))),
        "ticktext": categories,
    }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def _text(value: Any) -> str:
    if value is None:
        return "(none)"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _cell(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else _text(value)


def _side_by_side(comparison: Comparison) -> str:
    runs = comparison.runs
    head = "".join(f"<th>{html.escape(_label(r))}</th>" for r in runs)
    rows = [
        _row("status", [str(r.status) for r in runs], False),
        _row("duration (s)", [_fmt(r.duration_s) for r in runs], False),
    ]
    for key in comparison.param_keys:
        cells = [_cell(r.params[key]) if key in r.params else "" for r in runs]
        rows.append(_row(f"params.{key}", cells, comparison.params_differ(key)))
    for key in comparison.metric_keys:
        best = comparison.best(key)
        values = [comparison.value(r, key) for r in runs]
        cells = [_fmt(v) for v in values]
        marks = [v is not None and v == best and len(runs) > 1 for v in values]
        rows.append(_row(key, cells, comparison.metrics_differ(key), marks))
    return f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>"


def _row(key: str, cells: list[str], differs: bool, best: list[bool] | None = None) -> str:
    marks = best or [False] * len(cells)
    tds = "".join(
        f"<td{' class=best' if mark else ''}>{html.escape(cell)}</td>"
        for cell, mark in zip(cells, marks, strict=True)
    )
    css = ' class="differs"' if differs else ""
    return f"<tr{css}><td>{html.escape(key)}</td>{tds}</tr>"


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.6g}"


def _label(run: Run) -> str:
    return f"{run.run_id[:8]} {run.name}"


def _figure_html(figure: Any, *, include_js: bool) -> str:
    return str(figure.to_html(full_html=False, include_plotlyjs=include_js, config=_CONFIG))
