"""A version that fails one criterion gets no-go and the champion stays in place: two
`loopml run`s through the real CLI, then `models`, the event trail and load_model."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.helpers import run_cli, set_criteria
from tests.registry.conftest import bank_sample, write_project
from typer.testing import CliRunner

import loopml
from loopml.interfaces.cli.main import app
from loopml.service import ProjectService

pytestmark = pytest.mark.slow


def in_process(project: Path, *args: str):
    runner = CliRunner(env={"COLUMNS": "200"})
    return runner.invoke(app, [*args, "-C", str(project)], catch_exceptions=False)


def test_no_go_version_leaves_the_champion_in_place(tmp_path: Path, bank_csv: Path) -> None:
    project = write_project(tmp_path, bank_sample(bank_csv, 3000), "subscribed ", ["duration"])
    set_criteria(project, [{"metric": "roc_auc", "min": 0.55}])
    first = run_cli(project, "run")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "bank@1 (champion)" in first.stdout

    set_criteria(project, [{"metric": "roc_auc", "min": 0.55}, {"metric": "recall", "min": 0.99}])
    second = run_cli(project, "run")
    assert second.returncode == 1, second.stdout + second.stderr  # needs attention: no-go
    assert "NO-GO" in second.stdout.upper() and "recall" in second.stdout

    models = run_cli(project, "models")
    assert models.returncode == 0, models.stderr
    lines = {line.split()[1]: line for line in models.stdout.splitlines() if "bank@" in line}
    assert "champion" in lines["bank@1"] and "go" in lines["bank@1"]
    assert "champion" not in lines["bank@2"] and "no-go" in lines["bank@2"]
    shown = in_process(project, "models", "show", "bank@2")
    assert "gate: no-go" in shown.output and "promoted" not in shown.output
    refused = in_process(project, "approve", "bank@2", "--by", "alice")
    assert refused.exit_code == 2 and "no-go" in refused.output

    service = ProjectService.open(project)
    project_id = service.project.project_id
    verdicts = [e.payload["verdict"] for e in service.store.list_events(project_id, "gate.verdict")]
    assert verdicts == ["go", "no-go"]
    registered = service.store.list_events(project_id, "model.registered")
    assert [(e.payload["version"], e.payload["gate"]) for e in registered] == [
        (1, "go"),
        (2, "no-go"),
    ]
    promoted = service.store.list_events(project_id, "model.promoted")
    assert [e.payload["version"] for e in promoted] == [1]
    service.close()
    assert loopml.load_model("bank@champion", str(project)).version.version == 1
