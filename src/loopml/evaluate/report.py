"""The evaluation report: one self-contained HTML file for stakeholders (plotly.js
inlined once, no network), rendered from what the evaluate and gate steps stored.

Everything taken from the data or the spec is HTML-escaped by the template; chart specs
are JSON with markup characters escaped (see ``loopml.reports.html``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from loopml.evaluate import figures
from loopml.reports.html import ChartBook, render_page
from loopml.spec.model import ProjectSpec, greater_is_better

HOLDOUT_TITLES = {"out_of_time": "out of time", "out_of_sample": "out of sample"}
LINEAGE_KEYS = (
    "snapshot_id",
    "source",
    "source_hash",
    "code_version",
    "model_kind",
    "selected_by",
    "cv_score",
    "training_run_id",
    "train_digest",
    "test_digest",
)


@dataclass(frozen=True)
class _Holdout:
    """One hold-out's section: its metrics table and its charts."""

    name: str
    title: str
    description: str
    rows: int
    metrics: list[tuple[str, str, str]]  # name, value, interval
    quantiles: list[tuple[str, str]]
    charts: list[tuple[str, str]]  # title, chart id
    slices: dict[str, Any] = field(default_factory=dict)
    slices_chart: str | None = None


def render_evaluation(
    spec: ProjectSpec,
    ref: str,
    evaluation: Mapping[str, Any],
    gate: Mapping[str, Any],
    lineage: Mapping[str, Any] | None = None,
) -> str:
    """Render the evaluation of model ``ref`` as one HTML document (a str).

    Sections: the business problem and success criteria, the verdict with each check's
    value, threshold and interval, metrics per hold-out with intervals, the decision
    threshold, confusion matrix, ROC, PR and calibration (classification) or residual
    plots (regression), slices, importances, the comparison with the baseline, the linear
    model and the champion, and the lineage."""
    book = ChartBook()
    names = list(spec.problem.metrics)
    holdouts = [
        _holdout(h, evaluation, names, book) for h in _ordered(evaluation["holdouts"], evaluation)
    ]
    threshold = evaluation.get("threshold")
    gated = evaluation["holdouts"][evaluation["gated"]]
    curve = gated["charts"].get("thresholds")
    importance = evaluation.get("importance") or {}
    return render_page(
        "loopml.evaluate",
        "evaluation.html.j2",
        book,
        title=f"Evaluation of {ref}",
        ref=ref,
        spec=spec,
        problem=spec.problem,
        gate=gate,
        checks=[_check_row(c) for c in gate.get("checks", [])],
        evaluation=evaluation,
        holdouts=holdouts,
        gated_title=HOLDOUT_TITLES.get(evaluation["gated"], evaluation["gated"]),
        threshold=threshold,
        threshold_chart=book.add(
            figures.thresholds_figure(curve, threshold and threshold["threshold"])
        )
        if curve
        else None,
        intervals_chart=book.add(
            figures.intervals_figure(
                [evaluation["holdouts"][h.name] for h in holdouts],
                _interval_names(spec),
                HOLDOUT_TITLES,
            )
        ),
        importance=importance,
        permutation_chart=book.add(
            figures.importance_figure(
                importance.get("permutation", {}).get("values", {}),
                f"drop of {importance.get('metric', '')} when shuffled",
            )
        ),
        contributions_chart=book.add(
            figures.importance_figure(
                importance.get("contributions", {}).get("values", {}),
                f"mean |contribution| ({importance.get('units', '')})",
            )
        ),
        comparison=_comparison(spec, evaluation, gate),
        lineage=_lineage_rows(lineage or {}),
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        fmt=format_metric,
    )


def _ordered(holdouts: Mapping[str, Any], evaluation: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    gated = evaluation["gated"]
    return [holdouts[gated], *[h for name, h in holdouts.items() if name != gated]]


def _interval_names(spec: ProjectSpec) -> list[str]:
    """Metrics on a common 0-1 scale for the intervals chart (regression: r2, mape)."""
    if spec.problem.task == "regression":
        return ["r2", "mape"]
    return [m for m in spec.problem.metrics if m not in ("log_loss",)]


def _holdout(
    holdout: Mapping[str, Any], evaluation: Mapping[str, Any], names: list[str], book: ChartBook
) -> _Holdout:
    metrics = holdout["metrics"]
    intervals = holdout["intervals"]
    rows = [
        (n, format_metric(metrics[n]), _interval(intervals.get(n))) for n in names if n in metrics
    ]
    quantiles = [(k, format_metric(v)) for k, v in holdout.get("error_quantiles", {}).items()]
    threshold = holdout.get("threshold")
    data = holdout["charts"]
    charts: list[tuple[str, str | None]] = []
    if "confusion" in data:
        charts.append(("Confusion matrix", book.add(figures.confusion_figure(data["confusion"]))))
    if "roc" in data:
        charts.append(
            (
                "ROC curve",
                book.add(figures.roc_figure(data["roc"], metrics.get("roc_auc"), threshold)),
            )
        )
        charts.append(
            (
                "Precision-recall curve",
                book.add(figures.pr_figure(data["pr"], metrics.get("pr_auc"), threshold)),
            )
        )
        charts.append(("Calibration", book.add(figures.calibration_figure(data["calibration"]))))
    if "residuals" in data:
        titles = ("Predicted against actual", "Residuals", "Residual distribution")
        for title, figure in zip(titles, figures.residual_figures(data["residuals"]), strict=True):
            charts.append((title, book.add(figure)))
    slices = holdout.get("slices") or {}
    overall = metrics.get(slices.get("metric", ""))
    slices_chart = book.add(
        figures.slices_figure(slices.get("worst", []), slices.get("metric", ""), overall)
    )
    return _Holdout(
        name=holdout["name"],
        title=HOLDOUT_TITLES.get(holdout["name"], holdout["name"]),
        description=holdout.get("description", ""),
        rows=holdout["rows"],
        metrics=rows,
        quantiles=quantiles,
        charts=[(t, c) for t, c in charts if c is not None],
        slices=slices,
        slices_chart=slices_chart,
    )


def _check_row(check: Mapping[str, Any]) -> dict[str, Any]:
    low, high = check.get("low"), check.get("high")
    return {
        "metric": check["metric"],
        "value": format_metric(check.get("value")),
        "rule": f"{check['op']} {format_metric(check['threshold'])}",
        "interval": _interval([low, high] if low is not None and high is not None else None),
        "passed": check["passed"],
        "reason": check["reason"],
    }


def _comparison(
    spec: ProjectSpec, evaluation: Mapping[str, Any], gate: Mapping[str, Any]
) -> dict[str, Any]:
    """Rows of metrics, columns: the model, other candidates, the baseline, the champion."""
    best = evaluation["best"]
    columns = {f"{best} (this model)": evaluation["candidates"][best]}
    for kind, metrics in evaluation["candidates"].items():
        if kind != best:
            columns[kind] = metrics
    columns["baseline"] = evaluation.get("baseline", {})
    champion = gate.get("champion") or {}
    if champion.get("metrics"):
        columns[f"champion {champion['ref']}"] = champion["metrics"]
    names = [n for n in spec.problem.metrics if any(n in m for m in columns.values())]
    table = []
    for name in names:
        values = [m.get(name) for m in columns.values()]
        best_value = _best(name, values)
        table.append(
            (name, [(format_metric(v), v is not None and v == best_value) for v in values])
        )
    return {"columns": list(columns), "rows": table, "champion": champion}


def _best(metric: str, values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    return max(present) if greater_is_better(metric) else min(present)


def _lineage_rows(lineage: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(k, str(lineage[k])) for k in LINEAGE_KEYS if lineage.get(k) not in (None, "")]


def _interval(bounds: Any) -> str:
    if not bounds:
        return "-"
    return f"{format_metric(bounds[0])} to {format_metric(bounds[1])}"


def format_metric(value: Any) -> str:
    """A metric for a table: 4 significant digits, '-' for none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    return str(value)
