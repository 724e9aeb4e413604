"""The HTML report: sections present when their data is, escaped, and offline."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from loopml.domain import CriterionCheck, DriftReport, FeatureDrift, GateResult, Verdict
from loopml.monitor.report import ReportContext, render_report, report_context

CANDIDATES = {
    "linear": {"roc_auc": 0.8123, "log_loss": 0.41},
    "hist_gradient_boosting": {"roc_auc": 0.9012, "log_loss": 0.33},
    "baseline": {"roc_auc": 0.5, "log_loss": 0.69},
}
GATE = GateResult(
    (
        CriterionCheck("roc_auc", ">=", 0.85, 0.9012, True, "roc_auc 0.901 >= 0.85"),
        CriterionCheck("precision", ">=", 0.6, 0.55, False, "precision 0.55 is below 0.6"),
    )
)
DRIFT = DriftReport(
    model_name="bank",
    version=2,
    reference_rows=1000,
    current_rows=250,
    features=(
        FeatureDrift("age", "psi", 0.42, 0.2),
        FeatureDrift("job", "psi", 0.03, 0.2),
        FeatureDrift("balance<b>", "psi", 0.1, 0.2),
    ),
    created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
)


def context(**changes) -> ReportContext:
    fields = {
        "project_name": "bank",
        "model_ref": "bank@2",
        "task": "classification",
        "primary_metric": "roc_auc",
        "candidates": CANDIDATES,
        "chosen": "hist_gradient_boosting",
        "gate": GATE,
        "drift": DRIFT,
        "lineage": {"snapshot_id": "ab" * 32, "params": {"max_iter": 100}},
    }
    return ReportContext(**{**fields, **changes})


@pytest.fixture(scope="module")
def full_html() -> str:
    return render_report(context())


def test_shows_metrics_side_by_side(full_html: str) -> None:
    for name in CANDIDATES:
        assert name in full_html
    for value in ("0.8123", "0.9012", "0.41", "0.33", "0.69"):
        assert value in full_html
    assert 'class="num best">0.9012' in full_html  # higher roc_auc is better
    assert 'class="num best">0.33' in full_html  # lower log_loss is better


def test_shows_the_verdict_and_each_check(full_html: str) -> None:
    assert "NO-GO" in full_html
    assert "precision 0.55 is below 0.6" in full_html
    assert "roc_auc 0.901 &gt;= 0.85" in full_html


def test_shows_each_feature_and_the_chart(full_html: str) -> None:
    for feature in ("age", "job", "balance&lt;b&gt;"):
        assert f"<td>{feature}</td>" in full_html
    assert "0.42" in full_html
    assert "balance<b>" not in full_html.split("<script")[0]
    assert "Plotly.newPlot" in full_html


def test_lineage(full_html: str) -> None:
    assert "ab" * 32 in full_html
    assert "max_iter" in full_html


def test_escapes_user_text() -> None:
    html = render_report(context(project_name="<script>alert(1)</script>", drift=None))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_is_self_contained(full_html: str) -> None:
    assert not re.search(r"<script[^>]*\bsrc\s*=", full_html, re.IGNORECASE)
    assert not re.search(r"<link[^>]*href\s*=\s*[\"']?https?:", full_html, re.IGNORECASE)
    assert full_html.count("Plotly.newPlot") == 1


def test_sections_are_left_out_without_data() -> None:
    html = render_report(context(candidates=None, gate=None, drift=None, lineage=None))
    assert "bank@2" in html
    for section in ('id="metrics"', 'id="gate"', 'id="drift"', 'id="lineage"', "<script"):
        assert section not in html
    assert len(html) < 10_000


def test_a_go_verdict_and_an_empty_gate() -> None:
    go = GateResult((CriterionCheck("roc_auc", ">=", 0.8, 0.9, True, "ok"),))
    assert ">GO<" in render_report(context(gate=go, drift=None))
    assert "gate passes by default" in render_report(context(gate=GateResult(()), drift=None))


def test_report_context_from_pipeline_outputs() -> None:
    from loopml.spec.model import ProjectSpec

    spec = ProjectSpec.model_validate(
        {
            "name": "bank",
            "problem": {
                "task": "classification",
                "target": "y",
                "primary_metric": "roc_auc",
                "success_criteria": [{"metric": "roc_auc", "min": 0.85}],
            },
            "data": {"source": {"path": "bank.csv"}},
        }
    )
    evaluation = {
        "candidates": {k: v for k, v in CANDIDATES.items() if k != "baseline"},
        "baseline": CANDIDATES["baseline"],
        "best": "hist_gradient_boosting",
    }
    gate = {"verdict": "no-go", "checks": [c.__dict__ for c in GATE.checks]}
    ctx = report_context(spec, "bank@2", evaluation, gate, DRIFT, {"snapshot_id": "s1"})
    assert ctx.candidates is not None and list(ctx.candidates) == list(CANDIDATES)
    assert ctx.chosen == "hist_gradient_boosting"
    assert ctx.gate == GATE and ctx.gate_verdict is Verdict.NO_GO
    html = render_report(ctx)
    assert "hist_gradient_boosting (chosen)" in html and "precision 0.55 is below 0.6" in html

    # the monitor report knows the verdict but not the checks
    monitor = report_context(spec, "bank@2", None, {"verdict": "no-go", "checks": []}, None, None)
    assert monitor.gate is None and monitor.gate_verdict is Verdict.NO_GO
    html = render_report(monitor)
    assert "NO-GO" in html and "run report" in html
    assert 'id="metrics"' not in html and 'id="lineage"' not in html
