"""The evaluate and gate steps in real lifecycle runs: hold-outs, intervals, slices,
importance, the verdict and its record."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from tests.evaluate.projects import make_project, merge_spec, run_project
from typer.testing import CliRunner

from loopml.interfaces.cli.main import app
from loopml.service import ProjectService, RunSummary
from loopml.spec import CLASSIFICATION_METRICS


def test_bank_hold_out_has_every_metric_with_an_interval(bank_run: RunSummary) -> None:
    evaluation = bank_run.evaluation
    assert evaluation["gated"] == "out_of_sample" and list(evaluation["holdouts"]) == [
        "out_of_sample"
    ]
    holdout = evaluation["holdouts"]["out_of_sample"]
    assert set(holdout["metrics"]) == set(CLASSIFICATION_METRICS)
    for name, value in holdout["metrics"].items():
        low, high = holdout["intervals"][name]
        assert low <= value <= high, name
    assert holdout["rows"] == math.ceil(0.2 * 44_923)  # stratified 20 % of all rows
    assert evaluation["candidates"][evaluation["best"]] == holdout["metrics"]


def test_bank_charts_data_is_consistent(bank_run: RunSummary) -> None:
    holdout = bank_run.evaluation["holdouts"]["out_of_sample"]
    charts = holdout["charts"]
    counts = charts["confusion"]["counts"]
    assert sum(map(sum, counts)) == holdout["rows"]
    assert counts[1][0] + counts[1][1] == holdout["positives"]
    tp, fp = counts[1][1], counts[0][1]
    assert tp / (tp + fp) == pytest.approx(holdout["metrics"]["precision"])
    assert charts["roc"]["fpr"][0] == 0 and charts["roc"]["tpr"][-1] == 1
    assert sum(charts["calibration"]["rows"]) == holdout["rows"]


def test_bank_slices_and_importance(bank_run: RunSummary) -> None:
    evaluation = bank_run.evaluation
    slices = evaluation["holdouts"]["out_of_sample"]["slices"]
    assert {s["column"] for s in slices["chosen"]} == {"housing", "loan"}
    rows = evaluation["holdouts"]["out_of_sample"]["rows"]
    assert sum(s["rows"] for s in slices["chosen"] if s["column"] == "loan") == rows
    assert 0 < len(slices["worst"]) <= 5
    metric = slices["metric"]
    worst = [s["metrics"][metric] for s in slices["worst"]]
    assert worst == sorted(worst)  # roc_auc: smallest first
    assert {g["column"] for g in slices["gaps"]} == {"housing", "loan"}
    importance = evaluation["importance"]
    features = set(ProjectService.open(bank_run.report_path.parents[2]).spec.feature_columns)
    assert set(importance["permutation"]["values"]) == features
    assert set(importance["contributions"]["values"]) == features
    assert importance["method"] in ("shap", "linear")


def test_gate_checks_carry_intervals_and_are_recorded(bank_run: RunSummary) -> None:
    gate = bank_run.gate
    assert gate["verdict"] == "go" and gate["holdout"] == "out_of_sample"
    check = gate["checks"][0]
    assert check["metric"] == "roc_auc vs baseline"  # the generated, relative gate
    assert check["low"] <= check["value"] <= check["high"]
    assert [c["metric"] for c in gate["checks"][1:3]] == ["roc_auc vs linear", "roc_auc"]
    service = ProjectService.open(bank_run.report_path.parents[2])
    (event,) = service.list_events("gate.verdict")
    service.close()
    assert event.payload["checks"] == gate["checks"]
    assert bank_run.report_path.name == "evaluation-bank-v1.html"


def test_time_split_reports_out_of_time_and_out_of_sample(bike_run: RunSummary) -> None:
    evaluation = bike_run.evaluation
    assert evaluation["gated"] == "out_of_time"
    out_of_time = evaluation["holdouts"]["out_of_time"]
    out_of_sample = evaluation["holdouts"]["out_of_sample"]
    assert "2012-09-01" in out_of_time["description"]
    assert bike_run.gate["holdout"] == "out_of_time"
    assert out_of_time["metrics"] == evaluation["candidates"][evaluation["best"]]
    for holdout in (out_of_time, out_of_sample):
        assert list(holdout["error_quantiles"]) == [
            "error_q05",
            "error_q25",
            "error_q50",
            "error_q75",
            "error_q95",
        ]
        assert len(holdout["charts"]["residuals"]["residual"]) == min(holdout["rows"], 1000)
    assert evaluation["threshold"] is None  # regression
    project = bike_run.report_path.parents[2]
    train = ProjectService.open(project).load_model("bike@1")[1].info["train_rows"]
    assert out_of_sample["rows"] == pytest.approx(0.1 * (train + out_of_sample["rows"]), abs=1)


def test_a_failing_criterion_gives_no_go_naming_it(
    tmp_path: Path, bank_sample: pd.DataFrame
) -> None:
    criteria = [{"metric": "roc_auc", "min": 0.6}, {"metric": "precision", "min": 0.99}]
    project = make_project(tmp_path / "strict", bank_sample.head(3000), "subscribed ", ["duration"])
    merge_spec(project, {"problem": {"success_criteria": criteria}})
    result = CliRunner().invoke(app, ["run", "-C", str(project)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "NO-GO" in result.output and "precision" in result.output
    summary = run_project(project)  # reused: the same verdict
    assert summary.gate["verdict"] == "no-go"
    assert [r.split()[0] for r in summary.gate["reasons"]] == ["precision"]
    failed = [c for c in summary.gate["checks"] if not c["passed"]]
    assert failed[0]["threshold"] == 0.99 and failed[0]["low"] is not None
    assert "champion" not in summary.registration["aliases"]
    html = summary.report_path.read_text()
    assert "NO-GO" in html and "precision" in html


def test_must_beat_the_champion_on_the_same_hold_out(
    tmp_path: Path, bank_sample: pd.DataFrame
) -> None:
    project = make_project(tmp_path / "rival", bank_sample.head(3000), "subscribed ", ["duration"])
    first = run_project(project)
    assert first.gate["verdict"] == "go" and first.gate["champion"] is None
    merge_spec(
        project,
        {
            "models": {"candidates": ["linear"]},
            "evaluation": {"beat_champion": {"metric": "roc_auc", "by": 0.5}},
        },
    )
    second = run_project(project)
    gate = second.gate
    assert gate["verdict"] == "no-go"
    assert gate["champion"]["ref"] == "rival@1"
    champion_auc = gate["champion"]["metrics"]["roc_auc"]
    (check,) = [c for c in gate["checks"] if c["metric"] == "roc_auc vs champion"]
    assert check["threshold"] == pytest.approx(champion_auc + 0.5) and not check["passed"]
    assert "does not beat champion rival@1" in check["reason"]
    assert "champion" not in second.registration["aliases"]
    assert "champion rival@1" in second.report_path.read_text(encoding="utf-8")
    third = run_project(project)  # the rule makes the gate look at the champion again
    reused = {s.step: s.reused for s in third.steps}
    assert reused["evaluate"] and not reused["gate"]
    assert third.gate == gate
