"""`loopml monitor` without a model judges what the active deployment serves: with bank@1
answering and bank@2 in shadow (and champion), bank@1 on its answered rows and bank@2 on
its shadow rows, labelled shadow; not the champion alias alone."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.helpers import bank_project, small_search
from typer.testing import CliRunner

from loopml.data.ingest import clean_column_names
from loopml.interfaces.cli.main import app
from loopml.serve.sink import store_sink
from loopml.service import ProjectService, init_project

runner = CliRunner()
START = pd.Timestamp("2026-02-01", tz="UTC")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, bank_csv: Path) -> Path:
    """bank@1 serves 600 logged calls; bank@2 (champion) shadowed 200 of them."""
    root = bank_project(tmp_path_factory.mktemp("served"), bank_csv, rows=2000)
    init_project("data/bank.csv", "subscribed ", root, exclude=["duration"])
    small_search(root, trials=0)
    service = ProjectService.open(root)
    try:
        service.run()
        v1 = service.store.get_model_version("bank", 1)
        run = service.store.create_run(service.project.project_id, "train")
        service.store.create_model_version(
            service.project.project_id, "bank", run_id=run.run_id,
            artifact_digest=v1.artifact_digest, signature=v1.signature,
            metrics=dict(v1.metrics), lineage=dict(v1.lineage),
        )  # fmt: skip
        service.store.set_alias("bank", "champion", 2)
        service.deploy("bank@1")
        service.deploy("bank@2", mode="shadow")
        _log(service, bank_csv, version=1, rows=600, shadow=False)
        _log(service, bank_csv, version=2, rows=200, shadow=True)
    finally:
        service.close()
    return root


def _log(service: ProjectService, bank_csv: Path, *, version: int, rows: int, shadow: bool):
    _, bundle = service.load_model(f"bank@{version}")
    frame, _ = clean_column_names(pd.read_csv(bank_csv, skiprows=range(1, 20_001), nrows=rows))
    log = frame[bundle.feature_names].copy()
    log.insert(0, "prediction_id", [uuid.uuid4().hex for _ in range(len(log))])
    log.insert(1, "predicted_at", START + pd.to_timedelta(np.arange(len(log)), unit="min"))
    log.insert(2, "model_version", version)
    log.insert(3, "shadow", shadow)
    prediction = bundle.predict(frame)
    log["prediction"] = prediction.predictions
    log["probability"] = prediction.probabilities
    project_id = service.project.project_id
    store_sink(service.store, service.artifacts, project_id, "bank", version)(log)


def test_monitor_judges_the_served_version_and_the_shadow_apart(project: Path) -> None:
    result = runner.invoke(app, ["monitor", "-C", str(project)])
    assert "drift of bank@1, latest window: 600 rows" in result.output, result.output
    assert "drift of bank@2 (shadow), latest window: 200 rows" in result.output
    assert result.output.count("report: ") == 2
    assert (project / ".loopml/reports/monitor-bank-v2-shadow.html").exists()
    service = ProjectService.open(project)
    try:
        checked = [e.payload for e in service.list_events("drift.checked")[-2:]]
        outcome = service.monitor()
    finally:
        service.close()
    assert [(p["model"], p["role"], p["rows"]) for p in checked] == [
        ("bank@1", "primary", 600),
        ("bank@2", "shadow", 200),
    ]
    assert outcome.report.version == 1 and [o.role for o in outcome.others] == ["shadow"]
    assert result.exit_code == (1 if outcome.outcome.alert else 0)


def test_an_explicit_model_is_judged_alone(project: Path) -> None:
    result = runner.invoke(app, ["monitor", "bank@champion", "-C", str(project)])
    assert "bank@2" in result.output and "bank@1" not in result.output
    assert result.output.count("report: ") == 1


def test_serving_the_champion_follows_a_promotion(project: Path) -> None:
    """Runs last: `loopml serve bank@champion` records a deployment that follows the alias;
    the running app answers with the new champion after a promotion, no restart."""
    import time

    from fastapi.testclient import TestClient

    service = ProjectService.open(project)
    try:
        app_, version = service.serving_app("bank@champion", watch_interval_s=0.05)
        assert service.start_serving(version, "http://127.0.0.1:1", "bank@champion")
        row = service._training_rows(version).drop(columns=["subscribed"]).iloc[0]
        body = {"row": {k: (None if pd.isna(v) else v) for k, v in row.items()}}
        with TestClient(app_) as client:
            assert client.post("/predict", json=body).json()["model"] == "bank@2"
            service.store.set_alias("bank", "champion", 1)
            deadline = time.monotonic() + 10
            while client.post("/predict", json=body).json()["model"] != "bank@1":
                assert time.monotonic() < deadline, "the server never followed the champion"
                time.sleep(0.05)
        assert [d.alias for d in service.list_deployments()][:1] == ["champion"]
    finally:
        service.close()


def test_deploy_follows_an_alias_unless_pinned(project: Path) -> None:
    pinned = runner.invoke(app, ["deploy", "bank@champion", "--pin", "-C", str(project)])
    assert pinned.exit_code == 0 and "follows" not in pinned.output, pinned.output
    followed = runner.invoke(app, ["deploy", "bank@champion", "-C", str(project)])
    assert "deployed bank@1 single (follows @champion)" in followed.output, followed.output
    service = ProjectService.open(project)
    try:
        service.store.set_alias("bank", "champion", 2)
        assert service.monitor().report.version == 2  # judges what now serves
    finally:
        service.close()
