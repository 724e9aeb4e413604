"""`loopml models / approve / reject / alias / export / lineage` through the CLI runner."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import set_criteria
from tests.registry.conftest import bank_sample, write_project
from typer.testing import CliRunner

from loopml.interfaces.cli.main import app

runner = CliRunner(env={"COLUMNS": "250"})  # whole table rows, no wrapping
CRITERIA = [{"metric": "roc_auc", "min": 0.55}]


def invoke(project: Path, *args: str):
    return runner.invoke(app, [*args, "-C", str(project)], catch_exceptions=False)


def approval_project(tmp_path: Path, bank_csv: Path) -> Path:
    project = write_project(
        tmp_path,
        bank_sample(bank_csv),
        "subscribed ",
        ["duration"],
        registry={"require_approval": True, "approvers": ["alice", "bob"]},
    )
    set_criteria(project, CRITERIA)
    return project


def test_approval_flow_from_challenger_to_champion(tmp_path: Path, bank_csv: Path) -> None:
    project = approval_project(tmp_path, bank_csv)
    assert invoke(project, "run").exit_code == 0
    listed = invoke(project, "models")
    assert "bank@1" in listed.output and "challenger" in listed.output
    assert "awaiting approval" in listed.output and "champion" not in listed.output

    denied = invoke(project, "approve", "bank@1", "--by", "mallory")
    assert denied.exit_code == 2 and "alice, bob" in denied.output
    approved = invoke(project, "approve", "bank@1", "--by", "alice", "--note", "slices fine")
    assert approved.exit_code == 0, approved.output
    again = invoke(project, "approve", "bank@1", "--by", "bob")
    assert again.exit_code == 2 and "already approved by alice" in again.output

    shown = invoke(project, "models", "show", "bank@1")
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert "(champion)" in out and "status: approved" in out
    assert "balance: numeric (int64)" in out  # the input signature
    assert "probability: float of class 1" in out and "prediction: int classes [0, 1]" in out
    assert "roc_auc:" in out and "snapshot_id:" in out and "code_version:" in out
    assert "approved: by alice: slices fine" in out and "promoted: champion" in out
    assert out.index("registered") < out.index("approval_requested") < out.index("approved:")

    set_criteria(project, [*CRITERIA, {"metric": "accuracy", "min": 0.05}])
    assert invoke(project, "run").exit_code == 0  # a second passing version, waiting
    rejected = invoke(project, "reject", "bank@2", "--by", "bob", "--note", "odd on May calls")
    assert rejected.exit_code == 0, rejected.output
    listed = invoke(project, "models", "bank").output
    assert "rejected" in listed and "approved" in listed
    assert invoke(project, "alias", "set", "bank@2", "champion").exit_code == 2
    shown = invoke(project, "models", "show", "bank@champion").output
    assert "bank@1" in shown


def test_aliases_lineage_and_export(tmp_path: Path, bank_csv: Path) -> None:
    project = write_project(tmp_path, bank_sample(bank_csv), "subscribed ", ["duration"])
    set_criteria(project, CRITERIA)
    assert invoke(project, "run").exit_code == 0
    moved = invoke(project, "alias", "set", "bank@1", "staging", "--by", "dev")
    assert moved.exit_code == 0 and "bank@staging -> version 1" in moved.output
    assert "staging" in invoke(project, "models").output
    assert invoke(project, "alias", "delete", "bank", "staging").exit_code == 0
    assert invoke(project, "alias", "delete", "bank", "staging").exit_code == 2
    kept = invoke(project, "alias", "delete", "bank", "champion")
    assert kept.exit_code == 2 and "only moved" in kept.output

    lineage = invoke(project, "lineage", "bank@1")
    assert lineage.exit_code == 0 and "snapshot" in lineage.output

    out = tmp_path / "onnx-model"
    exported = invoke(project, "export", "bank@champion", "--format", "onnx", str(out))
    assert exported.exit_code == 0, exported.output
    assert (out / "model.onnx").stat().st_size > 100
    missing = invoke(project, "export", "bank@7", "--format", "mlflow", str(tmp_path / "m"))
    assert missing.exit_code == 2 and "latest is 1" in missing.output
    assert not (tmp_path / "m").exists()
    usage = invoke(project, "models", "show")
    assert usage.exit_code == 2
