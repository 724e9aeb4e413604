"""`loopml run` with ``data.sample``: the source streamed whole to the snapshot that the
model's lineage names, a seeded sample trained on, the in-memory read never used, the
step reused on unchanged files, and bad sources refused before any snapshot."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.helpers import edit_spec, set_criteria
from typer.testing import CliRunner

from loopml.interfaces.cli.main import app
from loopml.pipeline import lifecycle
from loopml.service import ProjectService

runner = CliRunner(env={"COLUMNS": "200"})
ROWS, SAMPLE = 20_000, 2000


def loopml(project: Path, *args: str) -> Any:
    return runner.invoke(app, [*args, "-C", str(project)], catch_exceptions=False)


def no_frame(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("data.sample must not read the sources into one frame")


def test_a_run_trains_on_the_sample_of_the_streamed_snapshot(
    tmp_path: Path, bank_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "bank"
    (project / "data").mkdir(parents=True)
    pd.read_csv(bank_csv, nrows=ROWS).to_csv(project / "data" / "bank.csv", index=False)
    assert loopml(project, "init", "data/bank.csv", "-t", "subscribed ").exit_code == 0

    def lean(spec: dict[str, Any]) -> None:
        spec["data"]["sample"] = {"rows": SAMPLE, "seed": 3, "batch_rows": 4000}
        spec["models"]["candidates"] = ["linear"]
        spec["models"]["search"].update(trials=0, folds=2)

    edit_spec(project, lean)
    set_criteria(project, [])
    monkeypatch.setattr(lifecycle, "read_sources", no_frame)
    result = loopml(project, "run")
    assert result.exit_code == 0, result.output
    service = ProjectService.open(project)
    [snapshot] = service.list_snapshots()
    said = " ".join(result.output.split())  # the console may wrap: its width is set at import
    assert f"data: 20,000 rows streamed to snapshot {snapshot.snapshot_id[:12]}" in said
    assert "a sample of 2,000 rows trained on" in said
    assert snapshot.row_count == ROWS and snapshot.details["sample"]["sample_rows"] == SAMPLE
    full = pd.read_parquet(io.BytesIO(service.artifacts.get_bytes(snapshot.snapshot_id)))
    assert len(full) == ROWS and "subscribed" in full.columns
    version = service.store.get_model_version("bank", 1)
    assert version.lineage["snapshot_id"] == snapshot.snapshot_id
    parts = [version.lineage["train_digest"], version.lineage["test_digest"]]
    trained = sum(len(pd.read_parquet(io.BytesIO(service.artifacts.get_bytes(d)))) for d in parts)
    assert 0.9 * SAMPLE < trained <= SAMPLE  # split and trained on the sample only
    [ingest] = service.list_runs(name="ingest")
    metrics = {m.key: m.value for m in service.get_run(ingest.run_id)[1]}
    assert (metrics["rows"], metrics["sample_rows"]) == (ROWS, SAMPLE)
    assert "9 steps, 9 reused" in loopml(project, "run").output  # ingest reused too

    # bad input: refused, no snapshot recorded
    pd.read_csv(bank_csv, nrows=3000).drop(columns=["age"]).to_csv(
        project / "data" / "bank_2.csv", index=False
    )
    edit_spec(project, lambda s: s["data"]["sources"][0].update(path="data/bank*.csv"))
    failed = loopml(project, "run")
    assert failed.exit_code != 0
    assert "bank_2.csv lacks ['age']" in failed.output
    sql = {"type": "sql", "url": "sqlite:///x.db", "table": "calls"}
    edit_spec(project, lambda s: s["data"].update(sources=[sql]))
    refused = loopml(project, "run")
    assert refused.exit_code != 0
    assert "source 'main' is sql; a sample streams file sources only" in refused.output
    assert len(service.list_snapshots()) == 1
