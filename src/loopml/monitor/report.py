"""The model report: one self-contained HTML file with metrics, gate verdict and drift.

The file needs no network: plotly.js, when a chart is drawn, is embedded inline once.
Everything taken from the user (project, feature and metric names, lineage) is
HTML-escaped by the template; chart data is JSON-escaped by plotly.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jinja2
from markupsafe import Markup

from loopml.domain import CriterionCheck, DriftReport, GateResult, Verdict
from loopml.spec.model import ProjectSpec, greater_is_better

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("loopml.monitor", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class ReportContext:
    """What a report shows; a section is left out when its field is None.

    ``candidates`` maps each candidate (``linear``, ``hist_gradient_boosting``,
    ``baseline``...) to its hold-out metrics; ``chosen`` names the one registered.
    ``verdict`` is the gate's recorded verdict when its checks are not at hand (the
    gate section then shows the verdict alone); by default it is ``gate.verdict``.
    """

    project_name: str
    model_ref: str
    task: str
    primary_metric: str
    candidates: Mapping[str, Mapping[str, float]] | None = None
    chosen: str | None = None
    gate: GateResult | None = None
    drift: DriftReport | None = None
    lineage: Mapping[str, Any] | None = None
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    verdict: Verdict | None = None

    @property
    def gate_verdict(self) -> Verdict | None:
        if self.verdict is not None:
            return self.verdict
        return None if self.gate is None else self.gate.verdict


def report_context(
    spec: ProjectSpec,
    model_ref: str,
    evaluation: Mapping[str, Any] | None,
    gate: Mapping[str, Any] | None,
    drift: DriftReport | None,
    lineage: Mapping[str, Any] | None,
) -> ReportContext:
    """Build a ReportContext from the pipeline's recorded outputs.

    Args:
        spec: the project spec (name, task, primary metric).
        model_ref: ``name@version`` of the model the report is about.
        evaluation: ``{"candidates": {kind: metrics}, "baseline": metrics, "best": kind}``;
            the baseline is shown as one more candidate.
        gate: ``{"verdict": "go" | "no-go" | None, "checks": [CriterionCheck fields]}``;
            with no checks only the verdict is shown.
        drift: the drift report, or None.
        lineage: what the model came from, shown as key / value rows.
    """
    candidates: dict[str, Mapping[str, float]] | None = None
    chosen = None
    if evaluation:
        candidates = dict(evaluation.get("candidates") or {})
        if evaluation.get("baseline"):
            candidates["baseline"] = evaluation["baseline"]
        chosen = evaluation.get("best")
    gate_result = None
    verdict = None
    if gate:
        checks = tuple(_check_from(c) for c in gate.get("checks") or ())
        gate_result = GateResult(checks) if checks else None
        if gate.get("verdict"):
            verdict = Verdict(gate["verdict"])
    return ReportContext(
        project_name=spec.name,
        model_ref=model_ref,
        task=spec.problem.task,
        primary_metric=spec.problem.primary_metric,
        candidates=candidates or None,
        chosen=chosen,
        gate=gate_result,
        drift=drift,
        lineage=lineage or None,
        verdict=verdict,
    )


def _check_from(fields: Mapping[str, Any]) -> CriterionCheck:
    return CriterionCheck(
        metric=str(fields["metric"]),
        op=str(fields["op"]),
        threshold=float(fields["threshold"]),
        value=None if fields.get("value") is None else float(fields["value"]),
        passed=bool(fields["passed"]),
        reason=str(fields.get("reason", "")),
    )


@dataclass(frozen=True)
class _MetricRow:
    metric: str
    cells: list[tuple[str, bool]]  # (formatted value, best of its row)


def render_report(context: ReportContext) -> str:
    """Render ``context`` as one HTML document (a str), ready to write to ``report.html``."""
    candidates = list(context.candidates or {})
    return _ENV.get_template("report.html.j2").render(
        c=context,
        candidate_names=candidates,
        metric_rows=_metric_rows(context) if candidates else [],
        lineage_rows=_lineage_rows(context.lineage) if context.lineage else [],
        drift_chart=_drift_chart(context.drift) if context.drift else None,
        fmt=_format_number,
    )


def _format_number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"


def _metric_rows(context: ReportContext) -> list[_MetricRow]:
    candidates = context.candidates or {}
    names: list[str] = [context.primary_metric]
    for metrics in candidates.values():
        names += [m for m in metrics if m not in names]
    rows = []
    for metric in names:
        values = [candidates[c].get(metric) for c in candidates]
        best = _best(metric, values)
        cells = [(_format_number(v), best is not None and v == best) for v in values]
        rows.append(_MetricRow(metric, cells))
    return rows


def _best(metric: str, values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None and not math.isnan(v)]
    try:
        higher = greater_is_better(metric)
    except KeyError:
        return None
    if len(present) < 2:
        return None
    return max(present) if higher else min(present)


def _lineage_rows(lineage: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, value in lineage.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
        rows.append((str(key), text))
    return rows


def _drift_chart(drift: DriftReport) -> Markup | None:
    """A bar per feature (red when drifted) and the threshold line; plotly.js inline."""
    if not drift.features:
        return None
    import plotly.graph_objects as go

    features = sorted(drift.features, key=lambda f: -f.score)
    figure = go.Figure(
        go.Bar(
            x=[f.feature for f in features],
            y=[f.score for f in features],
            marker_color=["#c0392b" if f.drifted else "#7f8c8d" for f in features],
            hovertemplate="%{x}: PSI %{y:.3f}<extra></extra>",
        )
    )
    for threshold in sorted({f.threshold for f in features}):
        figure.add_hline(
            y=threshold, line_dash="dash", line_color="#c0392b", annotation_text="threshold"
        )
    figure.update_layout(
        title="PSI per feature",
        yaxis_title="PSI",
        height=380,
        margin={"l": 50, "r": 20, "t": 50, "b": 80},
        template="plotly_white",
    )
    html = figure.to_html(
        full_html=False, include_plotlyjs=True, config={"displaylogo": False, "responsive": True}
    )
    return Markup(html)  # noqa: S704 - plotly's own output; its data is JSON-escaped
