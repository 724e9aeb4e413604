"""Plotly figure specs (plain dicts) for the evaluation report, built from the chart data
that the evaluate step stored (see ``curves.py``), in the profile report's house style."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loopml.profile.charts import BLUE, GREY, RED, base_layout
from loopml.profile.html import Figure

GREEN = "#27ae60"


def _line(x: Sequence[float], y: Sequence[float], name: str, color: str, **more: Any) -> Figure:
    return {
        "type": "scatter",
        "mode": "lines",
        "x": list(x),
        "y": list(y),
        "name": name,
        "line": {"color": color, "width": 2},
        **more,
    }


def _diagonal(name: str) -> Figure:
    return _line([0, 1], [0, 1], name, GREY, line={"color": GREY, "dash": "dash", "width": 1})


def confusion_figure(confusion: Mapping[str, Any]) -> Figure:
    """Counts per (truth, prediction), the share of each true class as the colour."""
    labels = [str(label) for label in confusion["labels"]]
    counts = confusion["counts"]
    shares = [[c / max(sum(row), 1) for c in row] for row in counts]
    heat = {
        "type": "heatmap",
        "z": shares,
        "x": labels,
        "y": labels,
        "customdata": counts,
        "zmin": 0,
        "zmax": 1,
        "colorscale": [[0, "#f7fbff"], [1, BLUE]],
        "texttemplate": "%{customdata:,}",
        "hovertemplate": "true %{y}, predicted %{x}: %{customdata:,} rows<extra></extra>",
        "colorbar": {"title": {"text": "share"}, "tickformat": ".0%", "thickness": 12},
    }
    layout = base_layout(
        320,
        xaxis={"type": "category", "title": {"text": "predicted"}},
        yaxis={"type": "category", "title": {"text": "true"}, "autorange": "reversed"},
    )
    return {"data": [heat], "layout": layout}


def _marker(x: float, y: float, name: str) -> Figure:
    return {
        "type": "scatter",
        "mode": "markers",
        "x": [x],
        "y": [y],
        "name": name,
        "marker": {"color": RED, "size": 10},
    }


def _nearest(thresholds: Sequence[float], threshold: float | None) -> int | None:
    if threshold is None or not thresholds:
        return None
    return min(range(len(thresholds)), key=lambda i: abs(thresholds[i] - threshold))


def roc_figure(roc: Mapping[str, Any], auc: float | None, threshold: float | None) -> Figure:
    label = f"ROC (AUC {auc:.3f})" if auc is not None else "ROC"
    data = [_diagonal("chance"), _line(roc["fpr"], roc["tpr"], label, BLUE)]
    i = _nearest(roc["threshold"], threshold)
    if i is not None:
        data.append(_marker(roc["fpr"][i], roc["tpr"][i], f"threshold {threshold:.3f}"))
    layout = base_layout(
        340,
        showlegend=True,
        legend={"x": 0.55, "y": 0.1},
        xaxis={"title": {"text": "false positive rate"}, "range": [0, 1]},
        yaxis={"title": {"text": "true positive rate (recall)"}, "range": [0, 1.02]},
    )
    return {"data": data, "layout": layout}


def pr_figure(pr: Mapping[str, Any], ap: float | None, threshold: float | None) -> Figure:
    label = f"PR (AP {ap:.3f})" if ap is not None else "PR"
    base = pr["base_rate"]
    data = [
        _line([0, 1], [base, base], f"base rate {base:.3f}", GREY, line={"dash": "dash"}),
        _line(pr["recall"], pr["precision"], label, BLUE),
    ]
    i = _nearest(pr["threshold"], threshold)
    if i is not None:
        data.append(_marker(pr["recall"][i], pr["precision"][i], f"threshold {threshold:.3f}"))
    layout = base_layout(
        340,
        showlegend=True,
        legend={"x": 0.55, "y": 0.95},
        xaxis={"title": {"text": "recall"}, "range": [0, 1]},
        yaxis={"title": {"text": "precision"}, "range": [0, 1.02]},
    )
    return {"data": data, "layout": layout}


def calibration_figure(calibration: Mapping[str, Any]) -> Figure:
    points = {
        "type": "scatter",
        "mode": "lines+markers",
        "x": calibration["predicted"],
        "y": calibration["observed"],
        "customdata": calibration["rows"],
        "name": "model",
        "line": {"color": BLUE},
        "hovertemplate": "predicted %{x:.3f}, observed %{y:.3f} (%{customdata:,} rows)"
        "<extra></extra>",
    }
    layout = base_layout(
        340,
        showlegend=True,
        legend={"x": 0.02, "y": 0.98},
        xaxis={"title": {"text": "mean predicted probability"}, "range": [0, 1]},
        yaxis={"title": {"text": "observed share positive"}, "range": [0, 1]},
    )
    return {"data": [_diagonal("perfectly calibrated"), points], "layout": layout}


def thresholds_figure(curve: Mapping[str, Any], threshold: float | None) -> Figure:
    """precision, recall and f1 across thresholds (business value on a second axis)."""
    x = curve["threshold"]
    data = [
        _line(x, curve["precision"], "precision", BLUE),
        _line(x, curve["recall"], "recall", RED),
        _line(x, curve["f1"], "f1", GREEN),
    ]
    extra: dict[str, Any] = {}
    if "value" in curve:
        data.append(_line(x, curve["value"], "business value", "#8e44ad", yaxis="y2"))
        extra["yaxis2"] = {"overlaying": "y", "side": "right", "title": {"text": "value"}}
    shapes = []
    if threshold is not None:
        shapes.append(
            {
                "type": "line",
                "x0": threshold,
                "x1": threshold,
                "y0": 0,
                "y1": 1,
                "yref": "paper",
                "line": {"color": "#1f2933", "dash": "dot"},
            }
        )
    layout = base_layout(
        320,
        showlegend=True,
        legend={"orientation": "h", "y": 1.15},
        xaxis={"title": {"text": "threshold"}, "range": [0, 1]},
        yaxis={"range": [0, 1.02], "gridcolor": "#eee"},
        shapes=shapes,
        **extra,
    )
    return {"data": data, "layout": layout}


def residual_figures(residuals: Mapping[str, Any]) -> list[Figure]:
    """Predicted against actual, residual against predicted, and the residuals' histogram."""
    predicted, actual, residual = residuals["predicted"], residuals["actual"], residuals["residual"]
    low = min([*predicted, *actual], default=0.0)
    high = max([*predicted, *actual], default=1.0)
    dots = {"color": BLUE, "size": 4, "opacity": 0.5}
    versus = {
        "data": [
            _line([low, high], [low, high], "perfect", GREY, line={"dash": "dash"}),
            {"type": "scatter", "mode": "markers", "x": predicted, "y": actual, "marker": dots},
        ],
        "layout": base_layout(
            340, xaxis={"title": {"text": "predicted"}}, yaxis={"title": {"text": "actual"}}
        ),
    }
    spread = {
        "data": [
            {"type": "scatter", "mode": "markers", "x": predicted, "y": residual, "marker": dots}
        ],
        "layout": base_layout(
            340,
            xaxis={"title": {"text": "predicted"}},
            yaxis={"title": {"text": "residual (actual - predicted)"}, "zeroline": True},
        ),
    }
    histogram = {
        "data": [{"type": "histogram", "x": residual, "marker": {"color": BLUE}, "nbinsx": 40}],
        "layout": base_layout(
            340, xaxis={"title": {"text": "residual"}}, yaxis={"title": {"text": "rows"}}
        ),
    }
    return [versus, spread, histogram]


def importance_figure(values: Mapping[str, float], title: str) -> Figure | None:
    """A horizontal bar per column, the most important on top (at most 20)."""
    if not values:
        return None
    items = list(values.items())[:20][::-1]
    bars = {
        "type": "bar",
        "orientation": "h",
        "x": [v for _, v in items],
        "y": [k for k, _ in items],
        "marker": {"color": [BLUE if v >= 0 else RED for _, v in items]},
        "hovertemplate": "%{y}: %{x:.4f}<extra></extra>",
    }
    layout = base_layout(
        max(200, 24 * len(items) + 70),
        xaxis={"title": {"text": title}},
        yaxis={"type": "category", "automargin": True},
    )
    return {"data": [bars], "layout": layout}


def intervals_figure(
    holdouts: Sequence[Mapping[str, Any]], names: Sequence[str], labels: Mapping[str, str]
) -> Figure | None:
    """Each metric's value with its bootstrap interval, one colour per hold-out."""
    data = []
    for color, holdout in zip((BLUE, RED), holdouts, strict=False):
        shown = [n for n in names if n in holdout["metrics"]]
        values = [holdout["metrics"][n] for n in shown]
        bounds = [holdout["intervals"].get(n, [v, v]) for n, v in zip(shown, values, strict=True)]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": values,
                "y": shown,
                "name": labels.get(holdout["name"], holdout["name"]),
                "marker": {"color": color, "size": 9},
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": [b[1] - v for b, v in zip(bounds, values, strict=True)],
                    "arrayminus": [v - b[0] for b, v in zip(bounds, values, strict=True)],
                    "color": color,
                },
            }
        )
    if not data:
        return None
    layout = base_layout(
        max(220, 34 * len(names) + 80),
        showlegend=len(data) > 1,
        legend={"orientation": "h", "y": 1.12},
        yaxis={"type": "category", "automargin": True, "autorange": "reversed"},
        xaxis={"title": {"text": "value (bars: confidence interval)"}},
    )
    return {"data": data, "layout": layout}


def slices_figure(
    worst: Sequence[Mapping[str, Any]], metric: str, overall: float | None
) -> Figure | None:
    """The worst slices' metric as bars, with the whole hold-out's value as a line."""
    if not worst:
        return None
    labels = [f"{s['column']} = {s['value']}" for s in worst][::-1]
    values = [s["metrics"][metric] for s in worst][::-1]
    bars = {
        "type": "bar",
        "orientation": "h",
        "x": values,
        "y": labels,
        "customdata": [s["rows"] for s in worst][::-1],
        "marker": {"color": RED},
        "hovertemplate": f"%{{y}}: {metric} %{{x:.3f}} (%{{customdata:,}} rows)<extra></extra>",
    }
    shapes = []
    if overall is not None:
        shapes.append(
            {
                "type": "line",
                "x0": overall,
                "x1": overall,
                "y0": 0,
                "y1": 1,
                "yref": "paper",
                "line": {"color": "#1f2933", "dash": "dot"},
            }
        )
    layout = base_layout(
        max(200, 26 * len(labels) + 80),
        xaxis={"title": {"text": f"{metric} (dotted: whole hold-out)"}},
        yaxis={"type": "category", "automargin": True},
        shapes=shapes,
    )
    return {"data": [bars], "layout": layout}
