"""The first hour on the churn export, as a new user meets it: the generated spec (ordered
scales, a time budget, a relative gate), a run that shows its progress, a worse second
version that does not become champion, and the team settings shown with their origin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from tests.helpers import edit_spec
from typer.testing import CliRunner

from loopml.interfaces.cli.main import app
from loopml.service import ProjectService

pytestmark = pytest.mark.slow
runner = CliRunner(env={"COLUMNS": "200"})


def invoke(project: Path, *args: str) -> Any:
    return runner.invoke(app, [*args, "-C", str(project)], catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, churn_csv: Path) -> Path:
    folder = tmp_path / "churn"
    (folder / "data").mkdir(parents=True)
    pd.read_csv(churn_csv, nrows=3000).to_csv(folder / "data" / "churn.csv", index=False)
    made = invoke(folder, "init", "data/churn.csv", "-t", "churned", "-x", "Customer ID")
    assert made.exit_code == 0, made.output
    return folder


def test_the_first_hour_on_a_raw_export(project: Path) -> None:
    spec = yaml.safe_load((project / "loopml.yaml").read_text())
    columns = spec["data"]["columns"]
    assert columns["satisfaction"]["kind"] == "ordinal"  # a known scale, in its order
    assert columns["satisfaction"]["order"][0] == "very low"
    assert columns["contract"]["order"] == ["Month-to-month", "One year", "Two year"]
    assert columns["paperless_billing"] == "boolean"
    assert spec["models"]["search"]["timeout_s"] > 0  # a budget, scaled to the data
    relative = [c for c in spec["problem"]["success_criteria"] if "better_than" in c]
    assert {c["better_than"] for c in relative} == {"baseline", "linear"}

    def short(spec: dict[str, Any]) -> None:
        spec["models"]["candidates"] = ["hist_gradient_boosting", "linear"]
        spec["models"]["search"].update(trials=3, folds=2)

    edit_spec(project, short)
    first = invoke(project, "run")
    assert first.exit_code == 0, first.output
    assert "search: 3 of 3 trials" in first.output  # how the search went, and why it stopped
    assert "churn@1 (champion)" in first.output

    def crippled(spec: dict[str, Any]) -> None:  # the same hold-out, one weak feature left
        keep = {"region"}
        spec["features"]["exclude"] = [c for c in columns if c not in keep and c != "churned"]
        spec["models"]["candidates"] = ["linear"]
        spec["models"]["search"].update(trials=0)
        spec["problem"]["success_criteria"] = []

    edit_spec(project, crippled)
    second = invoke(project, "run")
    assert second.exit_code == 0, second.output
    assert "held back" in second.output and "worse than champion churn@1" in second.output
    service = ProjectService.open(project)
    try:
        assert service.store.get_model_by_alias("churn", "champion").version == 1
        assert list(service.store.get_model_version("churn", 2).aliases) == ["challenger"]
        runs = service.store.list_runs(service.project.project_id)
        trial = next(run for run in runs if run.params.get("algorithm") or run.params)
    finally:
        service.close()
    shown = invoke(project, "show", trial.run_id)
    assert shown.exit_code == 0, shown.output
    assert all(f"{name}" in shown.output for name in trial.params)  # parameters are shown

    settings = json.loads(invoke(project, "config", "--json").output)
    assert settings["store"]["from"] == "default" and "loopml.db" in settings["store"]["value"]
    (project / "loopml.toml").write_text('store = "sqlite:///team.db"\n')  # a team's store
    settings = json.loads(invoke(project, "config", "--json").output)
    assert settings["store"]["from"] == "loopml.toml"
    assert settings["store"]["value"] == f"sqlite:///{project / 'team.db'}"
    listed = invoke(project, "models")  # the team's store: no model there yet
    assert listed.exit_code == 0 and "churn@1" not in listed.output
