"""The CLI's contract: exit codes, messages that name what is wrong, nothing half-written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from tests.helpers import bank_project, small_search
from typer.testing import CliRunner

from loopml.interfaces.cli.main import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from loopml.interfaces.cli.main import app\n"
        "heavy = {'pandas', 'sklearn', 'sqlalchemy', 'numpy', 'fastapi', 'pyarrow', 'alembic'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_lists_every_command() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("init", "run", "runs", "show", "models", "serve", "predict", "monitor"):
        assert command in result.output


def test_init_missing_file_exits_2_naming_it(tmp_path: Path) -> None:
    result = invoke("init", str(tmp_path / "nope.csv"), "--target", "y", "-C", str(tmp_path))
    assert result.exit_code == 2
    assert "nope.csv" in result.output
    assert not (tmp_path / "loopml.yaml").exists()


def test_init_unknown_target_lists_columns(tmp_path: Path, bank_csv: Path) -> None:
    project = bank_project(tmp_path, bank_csv, rows=200)
    result = invoke("init", "data/bank.csv", "--target", "churned", "-C", str(project))
    assert result.exit_code == 2
    assert "churned" in result.output and "balance" in result.output
    assert not (project / "loopml.yaml").exists()


def test_init_empty_csv_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("a,b,target\n")
    result = invoke("init", str(tmp_path / "empty.csv"), "--target", "target", "-C", str(tmp_path))
    assert result.exit_code == 2
    assert "empty.csv" in result.output
    assert not (tmp_path / "loopml.yaml").exists()


def test_init_one_class_target_exits_2(tmp_path: Path) -> None:
    pd.DataFrame({"x": range(50), "y": ["yes"] * 50}).to_csv(tmp_path / "one.csv", index=False)
    result = invoke("init", str(tmp_path / "one.csv"), "--target", "y", "-C", str(tmp_path))
    assert result.exit_code == 2
    assert "'y'" in result.output or " y " in result.output
    assert not (tmp_path / "loopml.yaml").exists()


def test_init_maps_messy_header_and_refuses_to_overwrite(tmp_path: Path, bank_csv: Path) -> None:
    project = bank_project(tmp_path, bank_csv, rows=300)
    result = invoke("init", "data/bank.csv", "--target", "subscribed ", "-C", str(project))
    assert result.exit_code == 0, result.output
    spec = (project / "loopml.yaml").read_text()
    assert "target: subscribed\n" in spec
    assert "'subscribed ' -> 'subscribed'" in result.output
    again = invoke("init", "data/bank.csv", "--target", "subscribed", "-C", str(project))
    assert again.exit_code == 2 and "--force" in again.output


def test_spec_typo_names_line_and_suggestion(tmp_path: Path, bank_csv: Path) -> None:
    project = bank_project(tmp_path, bank_csv, rows=300)
    invoke("init", "data/bank.csv", "--target", "subscribed", "-C", str(project))
    spec_path = project / "loopml.yaml"
    lines = spec_path.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip().startswith("primary_metric:"))
    lines[index] = lines[index].replace("primary_metric", "primary_metrc")
    spec_path.write_text("\n".join(lines) + "\n")
    result = invoke("run", "-C", str(project))
    assert result.exit_code == 2
    assert f"loopml.yaml:{index + 1}" in result.output
    assert "primary_metrc" in result.output and "Did you mean 'primary_metric'" in result.output
    assert not (project / ".loopml").exists()


def test_run_without_spec_exits_2(tmp_path: Path) -> None:
    result = invoke("run", "-C", str(tmp_path))
    assert result.exit_code == 2
    assert "loopml init" in result.output


def test_predict_usage_error(tmp_path: Path) -> None:
    result = invoke("predict", "only-one-arg", "-C", str(tmp_path))
    assert result.exit_code == 2


@pytest.mark.slow
def test_run_then_rerun_reuses_every_step(tmp_path: Path, bank_csv: Path) -> None:
    project = bank_project(tmp_path, bank_csv)
    assert (
        invoke("init", "data/bank.csv", "--target", "subscribed ", "-C", str(project)).exit_code
        == 0
    )
    small_search(project)
    first = invoke("run", "-C", str(project))
    assert first.exit_code in (0, 1), first.output
    assert "gate:" in first.output and "model: bank@1" in first.output
    second = invoke("run", "-C", str(project))
    assert second.exit_code == first.exit_code
    assert second.output.count("reused") >= 7
    assert "ran " not in second.output
    assert "model: bank@1" in second.output  # nothing new registered

    runs = invoke("runs", "--status", "reused", "-C", str(project))
    assert runs.exit_code == 0 and runs.output.count("reused") >= 7
    failed = invoke("show", "zzzzzzzz", "-C", str(project))
    assert failed.exit_code == 2
    models = invoke("models", "-C", str(project))
    assert "bank@1" in models.output

    later = pd.read_csv(bank_csv, skiprows=range(1, 40001), nrows=50)
    later.drop(columns=["subscribed "]).to_csv(project / "later.csv", index=False)
    if first.exit_code == 0:
        source, output = str(project / "later.csv"), str(project / "scored.parquet")
        scored = invoke("predict", source, output, "-C", str(project))
        assert scored.exit_code == 0, scored.output
        out = pd.read_parquet(output)
        assert len(out) == 50 and out["probability"].between(0, 1).all()


def test_init_exclude_keeps_a_column_out_of_features(tmp_path: Path, bank_csv: Path) -> None:
    project = bank_project(tmp_path, bank_csv, rows=300)
    args = ("init", "data/bank.csv", "-t", "subscribed", "-C", str(project))
    wrong = invoke(*args, "--exclude", "durration")
    assert wrong.exit_code == 2 and "durration" in wrong.output and "duration" in wrong.output
    assert not (project / "loopml.yaml").exists()
    other_case = invoke(*args, "--exclude", "Duration")  # names match exactly
    assert other_case.exit_code == 2 and "Did you mean 'duration'?" in other_case.output
    assert invoke(*args, "--exclude", "duration").exit_code == 0
    from loopml.spec import load_spec

    spec = load_spec(project / "loopml.yaml")
    assert "duration" in spec.features.exclude
    assert "duration" not in spec.feature_columns


def test_events_lists_the_audit_trail_filtered_and_as_json(tmp_path: Path, bank_csv: Path) -> None:
    import json

    from loopml.service import ProjectService

    project = bank_project(tmp_path, bank_csv, rows=200)
    invoke("init", "data/bank.csv", "--target", "subscribed ", "-C", str(project))
    assert "no events yet" in invoke("events", "-C", str(project)).output
    service = ProjectService.open(project)
    try:
        for n in range(3):
            service.store.add_event(
                service.project.project_id, "retrain.rejected", {"reason": f"reason {n}"}
            )
        service.store.add_event(service.project.project_id, "gate.verdict", {"verdict": "go"})
    finally:
        service.close()
    shown = invoke("events", "--kind", "retrain", "--last", "2", "-C", str(project)).output
    assert "reason 1" in shown and "reason 2" in shown
    assert "reason 0" not in shown and "gate.verdict" not in shown
    lines = invoke("events", "--json", "-C", str(project)).output.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["kind"] for r in records][-1] == "gate.verdict"
    assert records[-1]["payload"] == {"verdict": "go"}
