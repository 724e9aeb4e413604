"""The evaluation report: self-contained HTML that real headless chromium draws fully."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.browser import drawn_page, run_chromium

from loopml.evaluate import figures
from loopml.evaluate.curves import chart_data
from loopml.evaluate.holdout import Scored
from loopml.evaluate.report import render_evaluation
from loopml.service import ProjectService, RunSummary


@pytest.mark.usefixtures("chromium")
def test_classification_report_draws_every_chart(bank_run: RunSummary, tmp_path: Path) -> None:
    report = bank_run.report_path
    assert report.is_file() and report.suffix == ".html"
    html = report.read_text(encoding="utf-8")
    assert "https://" not in html.split("<script>")[0]  # no external stylesheet or script
    for section in ("problem", "verdict", "metrics", "threshold", "slices", "importance"):
        assert f'id="{section}"' in html
    assert 'id="comparison"' in html and 'id="lineage"' in html
    page = drawn_page(report, tmp_path)
    # intervals, threshold, confusion, ROC, PR, calibration, worst slices, 2 importances
    assert len(page.charts) == 9
    assert "heatmaplayer" in page.classes  # the confusion matrix
    assert page.classes.count("scatterlayer") >= 5  # curves and intervals
    assert page.classes.count("bars") >= 3  # slices and importances


@pytest.mark.usefixtures("chromium")
def test_regression_report_draws_residual_plots(bike_run: RunSummary, tmp_path: Path) -> None:
    page = drawn_page(bike_run.report_path, tmp_path)
    # intervals, 3 residual charts per hold-out (2), 2 worst slices, 2 importances
    assert len(page.charts) == 11
    html = bike_run.report_path.read_text(encoding="utf-8")
    assert "Out of time hold-out" in html and "Out of sample hold-out" in html
    assert "Residual distribution" in html


@pytest.mark.usefixtures("chromium")
def test_screenshot_is_not_blank(bank_run: RunSummary, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    done = run_chromium(
        tmp_path, "--window-size=1280,3000", f"--screenshot={shot}", bank_run.report_path.as_uri()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 50_000


def test_text_from_the_data_is_escaped(bank_run: RunSummary) -> None:
    evaluation = copy.deepcopy(bank_run.evaluation)
    worst = evaluation["holdouts"]["out_of_sample"]["slices"]["chosen"][0]
    worst["value"] = "</script><img src=x onerror=alert(1)>"
    worst_chart = evaluation["holdouts"]["out_of_sample"]["slices"]["worst"]
    worst_chart[0] = {**worst_chart[0], "value": "</script>"}
    spec = ProjectService.open(bank_run.report_path.parents[2]).spec
    html = render_evaluation(spec, "bank@1", evaluation, bank_run.gate)
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert html.count("</script>") == 3  # plotly.js, the figures, the drawing script


def test_report_names_the_threshold_and_where_it_was_chosen(bank_run: RunSummary) -> None:
    html = bank_run.report_path.read_text(encoding="utf-8")
    threshold = bank_run.evaluation["threshold"]
    assert f"{threshold['threshold']:.3f}" in html
    assert "out-of-fold" in html and "never on a hold-out" in html


def test_threshold_chart_shows_the_business_value() -> None:
    rng = np.random.default_rng(0)
    truth = (rng.random(500) < 0.3).astype(int)
    proba = np.clip(0.4 * truth + 0.6 * rng.random(500), 0, 1)
    scored = Scored("binary", truth, proba, (proba >= 0.4).astype(int), pd.DataFrame(), 0.4)
    value = {"tp": 10.0, "fp": -2.0, "tn": 0.0, "fn": -5.0}
    curve = chart_data(scored, value)["thresholds"]
    at_zero = value["tp"] * truth.sum() + value["fp"] * (1 - truth).sum()
    assert curve["threshold"][0] == 0 and curve["value"][0] == pytest.approx(at_zero)
    figure = figures.thresholds_figure(curve, 0.4)
    assert [t["name"] for t in figure["data"]][-1] == "business value"
    assert figure["data"][-1]["yaxis"] == "y2" and figure["layout"]["shapes"][0]["x0"] == 0.4
