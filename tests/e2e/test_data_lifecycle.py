"""The data stages through the CLI: sources, snapshots, validation, labelling, lineage."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.helpers import edit_spec, small_search
from typer.testing import CliRunner

from loopml.interfaces.cli.main import app
from loopml.service import ProjectService

pytestmark = pytest.mark.slow
runner = CliRunner()


def invoke(project: Path, *args: str) -> Any:
    return runner.invoke(app, [*args, "-C", str(project)], catch_exceptions=False)


@pytest.fixture
def bank(bank_csv: Path, tmp_path: Path) -> pd.DataFrame:
    frame = pd.read_csv(bank_csv, nrows=4000).drop(columns=["duration"])
    return frame.rename(columns={"subscribed ": "subscribed"})


def test_glob_snapshots_versions_and_diff(bank: pd.DataFrame, tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project / "data").mkdir(parents=True)
    for i, part in enumerate((bank.iloc[:1500], bank.iloc[1500:3000])):
        part.to_csv(project / "data" / f"calls-{i}.csv", index=False)
    assert invoke(project, "init", "data/calls-0.csv", "-t", "subscribed").exit_code == 0
    small_search(project)
    edit_spec(project, lambda s: s["data"]["sources"][0].update(path="data/calls-*.csv"))
    assert invoke(project, "run").exit_code in (0, 1)
    again = invoke(project, "run")
    assert "ran " not in again.output  # unchanged files: every step reused

    bank.iloc[3000:3200].to_csv(project / "data" / "calls-2.csv", index=False)
    assert invoke(project, "run").exit_code in (0, 1)
    service = ProjectService.open(project)
    snapshots = service.list_snapshots()
    assert [s.row_count for s in snapshots] == [3200, 3000]
    assert len(snapshots[0].details["sources"][0]["location"].split(",")) == 3

    versions = invoke(project, "data", "versions")
    assert snapshots[0].snapshot_id[:12] in versions.output
    old, new = snapshots[1].snapshot_id[:8], snapshots[0].snapshot_id[:8]
    diff = invoke(project, "data", "diff", old, new, "--json")
    assert diff.exit_code == 0, diff.output
    assert '"added": 200' in diff.output and '"removed": 0' in diff.output

    lineage = invoke(project, "lineage", "p@2")
    assert snapshots[0].snapshot_id in lineage.output
    assert snapshots[0].details["sources"][0]["source_hash"] in lineage.output


def test_sql_source_reuses_every_step_when_the_table_is_unchanged(
    bank: pd.DataFrame, tmp_path: Path
) -> None:
    project = tmp_path / "p"
    project.mkdir()
    bank.to_csv(project / "seed.csv", index=False)
    with sqlite3.connect(project / "crm.db") as conn:
        bank.to_sql("calls", conn, index=False)
    assert invoke(project, "init", "seed.csv", "-t", "subscribed").exit_code == 0
    small_search(project)
    source = {"type": "sql", "name": "crm", "url": "sqlite:///crm.db", "table": "calls"}
    edit_spec(project, lambda s: s["data"].update(sources=[source]))
    first = invoke(project, "run")
    assert first.exit_code in (0, 1), first.output
    second = invoke(project, "run")
    assert "ingest     ran" in second.output  # a database can only be known by reading it
    assert second.output.count("↺") == 8
    snapshot = ProjectService.open(project).list_snapshots()
    assert len(snapshot) == 1 and snapshot[0].details["sources"][0]["type"] == "sql"

    edit_spec(project, lambda s: s["data"]["sources"][0].update(table="nope"))
    failed = invoke(project, "run")
    assert failed.exit_code == 2 and "nope" in failed.output


def test_validation_fails_on_a_changed_type_and_warns_on_checks(
    bank: pd.DataFrame, tmp_path: Path
) -> None:
    project = tmp_path / "p"
    project.mkdir()
    bank.to_csv(project / "bank.csv", index=False)
    assert invoke(project, "init", "bank.csv", "-t", "subscribed").exit_code == 0
    small_search(project)
    check = {"name": "adults", "expr": "age >= 30", "severity": "warn"}
    edit_spec(project, lambda s: s["data"].update(validation={"checks": [check]}))
    ok = invoke(project, "run")
    assert ok.exit_code in (0, 1), ok.output
    service = ProjectService.open(project)
    validate = service.list_runs(name="validate")[0]
    assert service.get_run(validate.run_id)[1][-1].value > 0  # the check's warning counted

    broken = bank.astype({"age": "object"})
    broken.loc[10, "age"] = "forty"
    broken.to_csv(project / "bank.csv", index=False)
    failed = invoke(project, "run")
    assert failed.exit_code == 2
    assert "age" in failed.output and "type" in failed.output and "forty" in failed.output
    assert len(service.list_models()) == 1  # nothing new registered
    assert service.list_runs(name="validate")[0].status == "failed"


def test_export_label_import_and_lineage(bank: pd.DataFrame, tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    frame = bank.assign(call_id=range(len(bank)))
    frame["subscribed"] = frame["subscribed"].astype("Int64")
    frame.loc[:99, "subscribed"] = pd.NA  # 100 calls nobody labelled yet
    frame.to_csv(project / "bank.csv", index=False)
    assert invoke(project, "init", "bank.csv", "-t", "subscribed").exit_code == 0
    small_search(project)
    edit_spec(project, lambda s: s["data"].update(key=["call_id"]))
    rule = {"name": "in_debt", "when": "balance < -1500", "label": 0}
    edit_spec(project, lambda s: s["data"].update(labels={"rules": [rule]}))

    exported = invoke(project, "label", "export", "todo.csv")
    assert exported.exit_code == 0, exported.output
    todo = pd.read_csv(project / "todo.csv")
    assert len(todo) == 100 and list(todo.columns[:2]) == ["call_id", "subscribed"]
    todo["subscribed"] = (todo["balance"] > 1000).astype(int)
    todo.to_csv(project / "todo.csv", index=False)
    imported = invoke(project, "label", "import", "todo.csv", "--by", "alice")
    assert imported.exit_code == 0 and "alice" in imported.output

    assert invoke(project, "run").exit_code in (0, 1)
    version, _ = ProjectService.open(project).lineage("p@1")
    assert version.lineage["label_sources"]["manual:alice"] == 100
    assert version.lineage["label_sets"][0]["labelled_by"] == "alice"
    assert invoke(project, "label", "export", "todo2.csv").output.count("wrote 0") == 1


@pytest.mark.parametrize(
    ("dataset", "target", "quirks"),
    [
        ("bank", "subscribed ", ["leakage: 'duration'"]),
        ("bike", "cnt", ["'casual' + 'registered'", "'mnth2'", "'x' looks like a row"]),
    ],
)
def test_profile_names_each_data_sets_quirks(
    dataset: str, target: str, quirks: list[str], bank_csv: Path, bike_csv: Path, tmp_path: Path
) -> None:
    source = {"bank": bank_csv, "bike": bike_csv}[dataset]
    project = tmp_path / dataset
    project.mkdir()
    (project / source.name).write_bytes(source.read_bytes())
    assert invoke(project, "init", source.name, "-t", target).exit_code == 0
    small_search(project)
    result = invoke(project, "profile", "--out", "eda.html")
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    for quirk in quirks:
        assert quirk in flat
    html = (project / "eda.html").read_text()
    assert "duration" in html if dataset == "bank" else "casual" in html
    if dataset == "bike":  # the whole path: its m/d/yy dates coerced, split by time
        run = invoke(project, "run")
        assert run.exit_code == 0, run.output
        assert "cleaning: coerce 17520" in run.output and "validation: 17520 rows" in run.output
