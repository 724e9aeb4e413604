"""Plotly figure specs (plain dicts) for the evaluation report, built from the chart data
that the evaluate step stored (see ``curves.py``), in the profile report's house style."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loopml.reports.charts import BLUE, GREY, RED, base_layout
from loopml.reports.html import Figure

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


def _dotted_at(x: float | None) -> list[Figure]:
    """A dotted vertical line across the plot at ``x`` (none when ``x`` is None)."""
    if x is None:
        return []
    line = {"color": "#1f2933", "dash": "dot"}
    return [{"type": "line", "x0": x, "x1": x, "y0": 0, "y1": 1, "yref": "paper", "line": line}]


def _hbars(values: Sequence[float], labels: Sequence[str], color: Any) -> Figure:
    """Horizontal bars, one per label (plotly draws the first at the bottom)."""
    return {
        "type": "bar",
        "orientation": "h",
        "x": list(values),
        "y": list(labels),
        "marker": {"color": color},
    }


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


def _at_threshold(
    x: Sequence[float], y: Sequence[float], thresholds: Sequence[float], threshold: float | None
) -> list[Figure]:
    """A red marker at the curve's point nearest ``threshold`` (none without one)."""
    if threshold is None or not thresholds:
        return []
    i = min(range(len(thresholds)), key=lambda j: abs(thresholds[j] - threshold))
    point = _line([x[i]], [y[i]], f"threshold {threshold:.3f}", RED, mode="markers")
    point["marker"] = {"color": RED, "size": 10}
    return [point]


def _curve_layout(legend: Mapping[str, float], x_title: str, y_title: str) -> Figure:
    return base_layout(
        340,
        showlegend=True,
        legend=dict(legend),
        xaxis={"title": {"text": x_title}, "range": [0, 1]},
        yaxis={"title": {"text": y_title}, "range": [0, 1.02]},
    )


def roc_figure(roc: Mapping[str, Any], auc: float | None, threshold: float | None) -> Figure:
    label = f"ROC (AUC {auc:.3f})" if auc is not None else "ROC"
    fpr, tpr = roc["fpr"], roc["tpr"]
    data = [_diagonal("chance"), _line(fpr, tpr, label, BLUE)]
    data += _at_threshold(fpr, tpr, roc["threshold"], threshold)
    layout = _curve_layout(
        {"x": 0.55, "y": 0.1}, "false positive rate", "true positive rate (recall)"
    )
    return {"data": data, "layout": layout}


def pr_figure(pr: Mapping[str, Any], ap: float | None, threshold: float | None) -> Figure:
    label = f"PR (AP {ap:.3f})" if ap is not None else "PR"
    base, recall, precision = pr["base_rate"], pr["recall"], pr["precision"]
    data = [
        _line([0, 1], [base, base], f"base rate {base:.3f}", GREY, line={"dash": "dash"}),
        _line(recall, precision, label, BLUE),
    ]
    data += _at_threshold(recall, precision, pr["threshold"], threshold)
    layout = _curve_layout({"x": 0.55, "y": 0.95}, "recall", "precision")
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
    layout = base_layout(
        320,
        showlegend=True,
        legend={"orientation": "h", "y": 1.15},
        xaxis={"title": {"text": "threshold"}, "range": [0, 1]},
        yaxis={"range": [0, 1.02], "gridcolor": "#eee"},
        shapes=_dotted_at(threshold),
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
    scores = [v for _, v in items]
    bars = _hbars(scores, [k for k, _ in items], [BLUE if v >= 0 else RED for v in scores])
    bars["hovertemplate"] = "%{y}: %{x:.4f}<extra></extra>"
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
    bars = _hbars(values, labels, RED)
    bars["customdata"] = [s["rows"] for s in worst][::-1]
    bars["hovertemplate"] = f"%{{y}}: {metric} %{{x:.3f}} (%{{customdata:,}} rows)<extra></extra>"
    layout = base_layout(
        max(200, 26 * len(labels) + 80),
        xaxis={"title": {"text": f"{metric} (dotted: whole hold-out)"}},
        yaxis={"type": "category", "automargin": True},
        shapes=_dotted_at(overall),
    )
    return {"data": [bars], "layout": layout}
