"""Plotly figure specs (plain dicts) for the profile report, built from precomputed
statistics: histograms are bar traces over counts and box plots take their quartiles and
fences, so a report's size does not grow with the number of rows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from loopml.profile.profile import Associations, Correlations, MissingMap
from loopml.profile.stats import ColumnStats, Histogram
from loopml.profile.target import FeatureScore, TargetRelation, TargetSummary, format_number
from loopml.reports.charts import BLUE, GREY, RED, base_layout
from loopml.reports.html import Figure

MAX_ANNOTATED = 20  # heatmaps of at most this many columns print their values


def _finite(values: Sequence[float]) -> list[float | None]:
    return [v if math.isfinite(v) else None for v in values]


def histogram_bars(histogram: Histogram, color: str = BLUE, **trace: Any) -> Figure:
    """A bar trace per bin (or per value for a discrete histogram)."""
    if histogram.values:
        return {
            "type": "bar",
            "x": list(histogram.values),
            "y": list(histogram.counts),
            "marker": {"color": color},
            "hovertemplate": "%{x}: %{y:,} rows<extra></extra>",
            **trace,
        }
    edges = histogram.edges
    centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    widths = [b - a for a, b in zip(edges[:-1], edges[1:], strict=True)]
    last = 1 if histogram.integral else 0  # whole numbers: a bin holds a to b - 1
    ranges = [
        format_number(a) if b - last == a else f"{format_number(a)} to {format_number(b - last)}"
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]
    return {
        "type": "bar",
        "x": centres,
        "y": list(histogram.counts),
        "width": widths,
        "customdata": ranges,
        "marker": {"color": color, "line": {"width": 0}},
        "hovertemplate": "%{customdata}: %{y:,} rows<extra></extra>",
        **trace,
    }


def numeric_figure(col: ColumnStats) -> Figure | None:
    """The histogram with the box plot above it on the same x axis; outliers in red."""
    stats = col.numeric
    if stats is None:
        return None
    box = stats.box
    if len(stats.histogram.values) <= 2 and stats.histogram.values:  # binary: no box plot
        layout = base_layout(270, yaxis={"title": {"text": "rows"}, "gridcolor": "#eee"})
        layout["xaxis"]["tickvals"] = list(stats.histogram.values)
        return {"data": [histogram_bars(stats.histogram)], "layout": layout}
    data: list[dict[str, Any]] = [
        histogram_bars(stats.histogram),
        {
            "type": "box",
            "orientation": "h",
            "y": ["box"],
            "q1": [box.q1],
            "median": [box.median],
            "q3": [box.q3],
            "lowerfence": [box.lower_fence],
            "upperfence": [box.upper_fence],
            "mean": [stats.mean],
            "boxpoints": False,
            "yaxis": "y2",
            "fillcolor": "rgba(59,110,168,0.25)",
            "line": {"color": BLUE, "width": 1.5},
            "hoverinfo": "x",
        },
    ]
    if box.outlier_sample:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": list(box.outlier_sample),
                "y": ["box"] * len(box.outlier_sample),
                "yaxis": "y2",
                "marker": {"color": RED, "size": 5, "opacity": 0.6},
                "hovertemplate": "outlier %{x}<extra></extra>",
            }
        )
    layout = base_layout(
        270,
        yaxis={"domain": [0, 0.72], "title": {"text": "rows"}, "gridcolor": "#eee"},
        yaxis2={"domain": [0.78, 1], "showticklabels": False, "type": "category"},
    )
    return {"data": data, "layout": layout}


def category_figure(col: ColumnStats) -> Figure | None:
    """A horizontal bar per most frequent category (most frequent on top), then 'other'."""
    cats = col.categories
    if cats is None or not cats.top:
        return None
    labels = [label for label, _ in cats.top]
    counts = [count for _, count in cats.top]
    colors = [BLUE] * len(labels)
    if cats.other:
        labels.append(f"other ({cats.other_categories:,} categories)")
        counts.append(cats.other)
        colors.append(GREY)
    bars = {
        "type": "bar",
        "orientation": "h",
        "x": counts[::-1],
        "y": [_short(label) for label in labels[::-1]],
        "customdata": labels[::-1],
        "marker": {"color": colors[::-1]},
        "hovertemplate": "%{customdata}: %{x:,} rows<extra></extra>",
    }
    height = max(160, 22 * len(labels) + 60)
    layout = base_layout(height, yaxis={"type": "category", "automargin": True})
    return {"data": [bars], "layout": layout}


def datetime_figure(col: ColumnStats) -> Figure | None:
    dates = col.datetime
    if dates is None:
        return None
    bars = {
        "type": "bar",
        "x": [label for label, _ in dates.counts],
        "y": [count for _, count in dates.counts],
        "marker": {"color": BLUE},
        "hovertemplate": "%{x}: %{y:,} rows<extra></extra>",
    }
    layout = base_layout(250, yaxis={"title": {"text": f"rows per {dates.period}"}})
    return {"data": [bars], "layout": layout}


def text_figure(col: ColumnStats) -> Figure | None:
    if col.text is None:
        return None
    layout = base_layout(
        250,
        xaxis={"title": {"text": "length (characters)"}},
        yaxis={"title": {"text": "rows"}},
    )
    return {"data": [histogram_bars(col.text.length_histogram)], "layout": layout}


def column_figure(col: ColumnStats) -> Figure | None:
    """The chart of a column card, by kind."""
    for build in (numeric_figure, category_figure, datetime_figure, text_figure):
        figure = build(col)
        if figure is not None:
            return figure
    return None


def missing_figure(missing: MissingMap, max_columns: int = 60) -> Figure:
    """A heatmap: a row per column, a cell per block of rows, the share missing as colour."""
    rows = list(zip(missing.columns, missing.shares, strict=True))
    if len(rows) > max_columns:
        rows = [r for r in rows if any(r[1])][:max_columns]
    names = [_short(name) for name, _ in rows][::-1]
    z = [list(shares) for _, shares in rows][::-1]
    heat = {
        "type": "heatmap",
        "z": z,
        "x": list(missing.row_starts),
        "y": names,
        "zmin": 0,
        "zmax": 1,
        "colorscale": [[0, "#eef3f8"], [0.0001, "#f6c9a8"], [1, RED]],
        "colorbar": {"title": {"text": "missing"}, "tickformat": ".0%", "thickness": 12},
        "hovertemplate": "%{y}, rows from %{x:,}: %{z:.1%} missing<extra></extra>",
        "xgap": 0,
        "ygap": 1,
    }
    layout = base_layout(
        max(200, 20 * len(names) + 80),
        xaxis={"title": {"text": "row"}, "automargin": True},
        yaxis={"type": "category", "automargin": True},
    )
    return {"data": [heat], "layout": layout}


def correlation_figure(correlations: Correlations) -> Figure:
    """Pearson heatmap with a button to show Spearman instead."""
    names = [_short(n) for n in correlations.columns]
    pearson = [_finite(row) for row in correlations.pearson]
    spearman = [_finite(row) for row in correlations.spearman]
    annotated = len(names) <= MAX_ANNOTATED
    heat = {
        "type": "heatmap",
        "z": pearson,
        "x": names,
        "y": names,
        "zmin": -1,
        "zmax": 1,
        "colorscale": [
            [0, "#b2182b"],
            [0.25, "#ef8a62"],
            [0.5, "#f7f7f7"],
            [0.75, "#67a9cf"],
            [1, "#2166ac"],
        ],
        "colorbar": {"thickness": 12},
        "hovertemplate": "%{y} / %{x}: %{z:.3f}<extra></extra>",
        **({"texttemplate": "%{z:.2f}", "textfont": {"size": 10}} if annotated else {}),
    }
    size = max(380, 26 * len(names) + 160)
    buttons = [
        {"label": "Pearson", "method": "restyle", "args": [{"z": [pearson]}]},
        {
            "label": f"Spearman ({correlations.spearman_rows:,} rows)",
            "method": "restyle",
            "args": [{"z": [spearman]}],
        },
    ]
    layout = base_layout(
        size,
        margin={"l": 20, "r": 20, "t": 50, "b": 20},
        xaxis={"type": "category", "tickangle": -45, "automargin": True},
        yaxis={"type": "category", "autorange": "reversed", "automargin": True},
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "x": 0,
                "y": 1.0,
                "xanchor": "left",
                "yanchor": "bottom",
                "buttons": buttons,
                "showactive": True,
                "pad": {"b": 8},
            }
        ],
    )
    return {"data": [heat], "layout": layout}


def association_figure(associations: Associations) -> Figure:
    names = [_short(n) for n in associations.columns]
    heat = {
        "type": "heatmap",
        "z": [_finite(row) for row in associations.cramers_v],
        "x": names,
        "y": names,
        "zmin": 0,
        "zmax": 1,
        "colorscale": [[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]],
        "colorbar": {"thickness": 12},
        "hovertemplate": "%{y} / %{x}: V = %{z:.3f}<extra></extra>",
    }
    if len(names) <= MAX_ANNOTATED:
        heat.update({"texttemplate": "%{z:.2f}", "textfont": {"size": 10}})
    layout = base_layout(
        max(320, 26 * len(names) + 140),
        margin={"l": 20, "r": 20, "t": 20, "b": 20},
        xaxis={"type": "category", "tickangle": -45, "automargin": True},
        yaxis={"type": "category", "autorange": "reversed", "automargin": True},
    )
    return {"data": [heat], "layout": layout}


def target_figure(summary: TargetSummary, column: ColumnStats) -> Figure | None:
    """Rows per class (the positive class in red), or the histogram of a numeric target."""
    if summary.task == "classification":
        labels = [label for label, _ in summary.classes]
        bars = {
            "type": "bar",
            "x": [_short(label) for label in labels],
            "y": [count for _, count in summary.classes],
            "marker": {
                "color": [RED if label == summary.positive_class else BLUE for label in labels]
            },
            "texttemplate": "%{y:,}",
            "textposition": "auto",
            "hovertemplate": "%{x}: %{y:,} rows<extra></extra>",
        }
        layout = base_layout(280, xaxis={"type": "category", "title": {"text": summary.name}})
        return {"data": [bars], "layout": layout}
    if column.numeric is None:
        return None
    layout = base_layout(
        280, xaxis={"title": {"text": summary.name}}, yaxis={"title": {"text": "rows"}}
    )
    return {"data": [histogram_bars(column.numeric.histogram)], "layout": layout}


def scores_figure(scores: Sequence[FeatureScore], flagged: set[str]) -> Figure | None:
    """A bar per feature: how well it alone predicts the target (leaky ones in red)."""
    if not scores:
        return None
    ordered = list(scores)[::-1]
    metric = "ROC AUC" if ordered[0].metric == "roc_auc" else "correlation r"
    bars = {
        "type": "bar",
        "orientation": "h",
        "x": [s.score for s in ordered],
        "y": [_short(s.column) for s in ordered],
        "marker": {"color": [RED if s.column in flagged else BLUE for s in ordered]},
        "texttemplate": "%{x:.3f}",
        "textposition": "auto",
        "hovertemplate": f"%{{y}}: {metric} %{{x:.3f}}<extra></extra>",
    }
    low = 0.5 if ordered[0].metric == "roc_auc" else 0.0
    layout = base_layout(
        max(200, 22 * len(ordered) + 70),
        xaxis={"range": [low, 1], "title": {"text": f"{metric} of the feature alone"}},
        yaxis={"type": "category", "automargin": True},
    )
    return {"data": [bars], "layout": layout}


def relation_figure(relation: TargetRelation, task: str) -> Figure:
    """Rows per bin as grey bars (right axis) and the target rate or mean as lines."""
    labels = [_short(label, 24) for label in relation.labels]
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "x": labels,
            "y": list(relation.counts),
            "marker": {"color": "#e3e8ee"},
            "name": "rows",
            "hovertemplate": "%{x}: %{y:,} rows<extra></extra>",
        }
    ]
    palette = [BLUE, RED, "#27ae60", "#8e44ad", "#e67e22", "#16a085", "#2c3e50", "#d35400"]
    for i, (name, values) in enumerate(relation.series):
        fmt = ".3f" if task == "regression" else ".1%"
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers" if relation.ordered else "markers",
                "x": labels,
                "y": list(values),
                "yaxis": "y2",
                "name": name,
                "line": {"color": palette[i % len(palette)], "width": 2},
                "marker": {"size": 6 if relation.ordered else 9},
                "hovertemplate": f"%{{x}}: {name} %{{y:{fmt}}}<extra></extra>",
            }
        )
    first = relation.series[0][0] if relation.series else ""
    layout = base_layout(
        280,
        showlegend=len(relation.series) > 1,
        legend={"orientation": "h", "y": 1.15},
        margin={"l": 55, "r": 55, "t": 30, "b": 40},
        xaxis={"type": "category", "automargin": True, "tickangle": -30},
        # the bars' axis (rows, right) is drawn first, the target's (left) over it
        yaxis={"side": "right", "showgrid": False, "title": {"text": "rows"}, "tickmode": "auto"},
        yaxis2={
            "overlaying": "y",
            "tickmode": "auto",
            "side": "left",
            "title": {"text": "share" if len(relation.series) > 1 else first},
            "tickformat": "" if task == "regression" else ".0%",
            "gridcolor": "#eee",
            "rangemode": "tozero",
        },
    )
    return {"data": data, "layout": layout}


def _short(text: str, limit: int = 32) -> str:
    """A label cut to ``limit`` characters for an axis (hover texts keep the full one)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
