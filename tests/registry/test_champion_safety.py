"""Champion safety: a version that passes the gate but is worse than the champion on the
same hold-out is registered as challenger with the reason; the champion does not move."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tests.evaluate.projects import make_project, merge_spec, run_project
from typer.testing import CliRunner

from loopml.evaluate.gate import check_champion
from loopml.interfaces.cli.main import app
from loopml.service import ProjectService

LEAKS = ["column_0", "x", "instant", "casual", "registered", "dteday"]


def test_no_champion_means_promote() -> None:
    check = check_champion({"rmse": 10.0}, None, "rmse", 0.01)
    assert check.promote and "no current champion" in check.reason


def test_worse_beyond_tolerance_is_held_back() -> None:
    champion = {"ref": "bike@1", "metrics": {"rmse": 100.0, "r2": 0.8}}
    assert check_champion({"rmse": 100.9}, champion, "rmse", 0.01).promote
    held = check_champion({"rmse": 101.5}, champion, "rmse", 0.01)
    assert not held.promote and held.ref == "bike@1" and held.champion_value == 100.0
    assert "worse than champion bike@1" in held.reason and "1.0% tolerance" in held.reason
    assert not check_champion({"r2": 0.7}, champion, "r2", 0.01).promote
    assert check_champion({"r2": 0.795}, champion, "r2", 0.01).promote
    assert not check_champion({"rmse": 100.1}, champion, "rmse", 0.0).promote


def test_an_unscored_champion_stays() -> None:
    check = check_champion({"rmse": 1.0}, {"ref": "bike@1", "error": "boom"}, "rmse", 0.01)
    assert not check.promote and "could not be scored" in check.reason and "boom" in check.reason


@pytest.fixture
def bike_project(tmp_path: Path, bike_csv: Path) -> Path:
    frame = pd.read_csv(bike_csv, nrows=3000)
    project = make_project(tmp_path / "bike", frame, "cnt", LEAKS)
    merge_spec(project, {"problem": {"success_criteria": []}})
    return project


def test_a_worse_model_does_not_become_champion(bike_project: Path) -> None:
    first = run_project(bike_project)
    assert first.registration["aliases"] == ["champion"]
    assert first.registration["champion_check"]["promote"]
    # crippled: the same data and hold-out, but two weak features only
    weak = [c for c in first.evaluation["importance"]["permutation"]["values"]]
    kept = {"weekday", "holiday"}
    merge_spec(bike_project, {"features": {"exclude": LEAKS + [c for c in weak if c not in kept]}})
    result = CliRunner().invoke(app, ["run", "-C", str(bike_project)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "GO" in result.output and "held back" in result.output
    assert "worse than champion bike@1" in result.output
    assert "bike@2" in result.output and "(challenger)" in result.output
    assert "prediction interval: 90%" in result.output and "hold-out coverage" in result.output
    shown = CliRunner().invoke(app, ["models", "show", "bike@2", "-C", str(bike_project)])
    assert shown.exit_code == 0, shown.output
    assert "held back from champion" in shown.output and "bike@1" in shown.output
    service = ProjectService.open(bike_project)
    try:
        assert service.store.get_model_by_alias("bike", "champion").version == 1
        second = service.store.get_model_version("bike", 2)
        assert second.lineage["gate"] == "go" and list(second.aliases) == ["challenger"]
        check = second.lineage["champion_check"]
        assert not check["promote"] and check["ref"] == "bike@1"
        assert check["value"] > check["champion_value"] * 1.01  # rmse: worse
        events = [e for e in service.store.list_events(service.project.project_id)]
        assert any(e.kind == "model.held_back" for e in events)
    finally:
        service.close()


def test_the_rule_can_be_turned_off(bike_project: Path) -> None:
    first = run_project(bike_project)
    weak = list(first.evaluation["importance"]["permutation"]["values"])
    excluded = LEAKS + [c for c in weak if c not in {"weekday", "holiday"}]
    merge_spec(
        bike_project,
        {"features": {"exclude": excluded}, "registry": {"champion": {"beat_champion": False}}},
    )
    second = run_project(bike_project)
    assert second.registration["champion_check"] is None
    assert second.registration["aliases"] == ["champion"]


def test_register_model_holds_back_a_worse_estimator(bike_project: Path, bike_csv: Path) -> None:
    from sklearn.linear_model import LinearRegression

    import loopml

    first = run_project(bike_project)
    assert first.registration["aliases"] == ["champion"]
    rows = pd.read_csv(bike_csv, nrows=3000).iloc[2000:]
    weak = LinearRegression().fit(rows[["hr"]], rows["cnt"])  # one feature, a straight line
    version = loopml.register_model(
        weak, sample=rows[["hr"]], holdout=rows, project_dir=str(bike_project)
    )
    assert version.lineage["gate"] == "go" and version.aliases == ("challenger",)
    check = version.lineage["champion_check"]
    assert not check["promote"] and "worse than champion bike@1" in check["reason"]
    assert loopml.load_model("bike@champion", str(bike_project)).version.version == 1


def test_the_champion_metric_must_apply_to_the_task() -> None:
    from loopml.spec import ProjectSpec

    spec = {
        "name": "p",
        "data": {"source": {"path": "d.csv"}},
        "problem": {"task": "regression", "target": "y", "primary_metric": "rmse"},
        "registry": {"champion": {"metric": "roc_auc", "tolerance": 0.05}},
    }
    with pytest.raises(ValueError, match="registry.champion.metric: 'roc_auc' does not apply"):
        ProjectSpec.model_validate(spec)
    spec["registry"] = {"champion": {"metric": "mae", "tolerance": 0.05}}
    assert ProjectSpec.model_validate(spec).registry.champion.tolerance == 0.05
