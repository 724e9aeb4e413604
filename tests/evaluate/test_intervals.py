"""Regression prediction intervals (split conformal, out-of-fold residuals) and the log
target transform, in real bike runs: coverage on the hold-out, batch and REST output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from tests.evaluate.projects import make_project, merge_spec, run_project

from loopml.errors import DataError, SpecError
from loopml.model.bundle import ModelBundle
from loopml.model.target import forward_target, interval_bounds, inverse_target
from loopml.registry import output_schema
from loopml.serve.app import create_app
from loopml.service import ProjectService, RunSummary
from loopml.spec import ProjectSpec

LEAKS = ["column_0", "x", "instant", "casual", "registered", "dteday"]


def bike_run(folder: Path, bike_csv: Path, problem: dict) -> tuple[RunSummary, ModelBundle]:
    frame = pd.read_csv(bike_csv, nrows=4000)
    project = make_project(folder, frame, "cnt", LEAKS)
    merge_spec(project, {"problem": {"success_criteria": [], **problem}})
    summary = run_project(project)
    service = ProjectService.open(project)
    try:
        _, bundle = service.load_model(f"{folder.name}@{summary.registration['version']}")
    finally:
        service.close()
    return summary, bundle


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory, bike_csv: Path):
    return bike_run(tmp_path_factory.mktemp("intervals") / "bike", bike_csv, {})


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory, bike_csv: Path):
    folder = tmp_path_factory.mktemp("intervals") / "bikelog"
    return bike_run(folder, bike_csv, {"target_transform": "log"})


def test_the_interval_covers_about_its_level_on_the_hold_out(plain) -> None:
    summary, bundle = plain
    interval = bundle.info["interval"]
    assert interval["level"] == 0.9 and interval["scale"] == "original"
    assert "out-of-fold residuals" in interval["method"] and interval["halfwidth"] > 0
    checked = summary.evaluation["interval"]
    assert checked["rows"] > 500, checked
    assert 0.85 <= checked["coverage"] <= 0.96, checked
    assert checked["mean_width"] == pytest.approx(2 * interval["halfwidth"])
    columns = output_schema(bundle)["columns"]
    assert [c["name"] for c in columns] == ["prediction", "prediction_low", "prediction_high"]
    assert columns[1]["level"] == 0.9


def test_a_log_target_predicts_in_original_units(logged) -> None:
    summary, bundle = logged
    assert bundle.target_transform == "log" and bundle.info["interval"]["scale"] == "log"
    checked = summary.evaluation["interval"]
    # multiplicative: conservative where the error does not grow with the count
    assert 0.85 <= checked["coverage"] <= 0.99, checked
    metrics = summary.evaluation["candidates"][summary.evaluation["best"]]
    assert metrics["r2"] > 0.5  # scored in counts, not in log counts
    assert summary.evaluation["importance"]["units"] == "log1p(prediction)"


def test_batch_scoring_writes_the_bounds(logged, tmp_path: Path, bike_csv: Path) -> None:
    summary, bundle = logged
    project = summary.report_path.parents[2]
    rows = pd.read_csv(bike_csv, nrows=4000).tail(50)
    rows.drop(columns=["cnt"]).to_csv(tmp_path / "new.csv", index=False)
    service = ProjectService.open(project)
    try:
        service.predict_file(None, tmp_path / "new.csv", tmp_path / "out.csv")
    finally:
        service.close()
    out = pd.read_csv(tmp_path / "out.csv")
    assert {"prediction", "prediction_low", "prediction_high"} <= set(out.columns)
    assert (out["prediction_low"] <= out["prediction"]).all()
    assert (out["prediction"] <= out["prediction_high"]).all()
    assert out["prediction"].mean() > 20  # counts (log counts would be about 5)


def test_rest_answers_with_intervals(plain, bike_csv: Path) -> None:
    _, bundle = plain
    rows = pd.read_csv(bike_csv, nrows=5).drop(columns=["cnt"])
    records = rows.where(rows.notna(), None).to_dict(orient="records")
    app = create_app(bundle, model_name="bike", version=1, sink=lambda frame: None)
    with TestClient(app) as client:
        response = client.post("/predict", json={"rows": records})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["intervals"]) == 5
    q = bundle.info["interval"]["halfwidth"]
    for (low, high), value in zip(body["intervals"], body["predictions"], strict=True):
        assert low == pytest.approx(value - q) and high == pytest.approx(value + q)


def test_log_transform_round_trips_and_refuses_negative_targets() -> None:
    y = np.array([0.0, 1.0, 99.0])
    assert inverse_target(forward_target(y, "log", "cnt"), "log") == pytest.approx(y)
    with pytest.raises(DataError, match="'cnt' has 1 negative values"):
        forward_target(np.array([3.0, -2.0]), "log", "cnt")
    low, high = interval_bounds(np.array([99.0]), {"halfwidth": np.log(2), "scale": "log"})
    assert low == pytest.approx([49.0]) and high == pytest.approx([199.0])
    assert interval_bounds(np.array([1.0]), None) is None


def test_log_transform_is_for_regression_only() -> None:
    base = {
        "name": "p",
        "data": {"source": {"path": "d.csv"}},
        "problem": {"task": "classification", "target": "y", "primary_metric": "roc_auc"},
    }
    base["problem"]["target_transform"] = "log"
    with pytest.raises((SpecError, ValueError), match="regression only"):
        ProjectSpec.model_validate(base)


def test_onnx_export_refuses_a_log_target(logged, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from loopml.domain import ModelVersion
    from loopml.registry.onnx import UnsupportedForOnnx, write_onnx

    _, bundle = logged
    version = ModelVersion("bike", 1, "r" * 32, "0" * 64, datetime.now(UTC), bundle.signature)
    with pytest.raises(UnsupportedForOnnx, match="target_transform: log"):
        write_onnx(version, bundle, tmp_path / "onnx")


def test_load_model_gives_the_interval(plain, bike_csv: Path) -> None:
    import loopml

    summary, bundle = plain
    model = loopml.load_model("bike@1", str(summary.report_path.parents[2]))
    rows = pd.read_csv(bike_csv, nrows=5).drop(columns=["cnt"])
    low, high = model.predict_interval(rows)
    q = bundle.info["interval"]["halfwidth"]
    assert high - low == pytest.approx(np.full(5, 2 * q))
    assert low + q == pytest.approx(model.predict(rows))
