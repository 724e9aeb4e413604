"""The serving commands on a real project: deploy, rollback, deployments, predict, package,
and a `loopml serve` process that follows deploy and rollback without a restart."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from tests.helpers import start_serving, wait_ready
from typer.testing import CliRunner

from loopml.interfaces.cli.main import app
from loopml.model.bundle import ModelBundle
from loopml.service import ProjectService, init_project

from .conftest import make_frame, register_bundle

ROW = {"age": 41.0, "balance": 12.0, "job": "student"}


@pytest.fixture
def project(tmp_path: Path, classifier: ModelBundle) -> Path:
    """A project named bank with bank@1 (champion) and bank@2 registered."""
    folder = tmp_path / "bank"
    (folder / "data").mkdir(parents=True)
    make_frame(200).drop(columns=["spend"]).to_csv(folder / "data" / "data.csv", index=False)
    init_project("data/data.csv", "subscribed", folder, name="bank")
    service = ProjectService.open(folder)
    store, project_id = service.store, service.project.project_id
    for _ in range(2):
        register_bundle(store, service.artifacts, project_id, "bank", classifier)
    store.set_alias("bank", "champion", 1)
    service.close()
    return folder


def loopml(project: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--dir", str(project)])
    return result.exit_code, result.output


def test_deploy_rollback_and_deployments(project: Path) -> None:
    code, out = loopml(project, "deploy", "bank@2", "--mode", "shadow")
    assert code == 0 and "bank@1 shadow: bank@2 scores every request in shadow" in out
    code, out = loopml(project, "deploy", "bank@2", "--mode", "canary", "--key", "job")
    assert code == 0 and "bank@1 canary: bank@2 gets 5% by job" in out
    code, out = loopml(project, "deploy", "bank@2", "--mode", "ab", "--key", "color")
    assert code == 2 and "--key 'color' is not an input of bank@2" in out
    code, out = loopml(project, "rollback")
    assert code == 0 and "rolled back bank@1 canary" in out and "serving bank@1 shadow" in out
    code, out = loopml(project, "deployments")
    assert code == 0
    assert out.index("rolled_back") < out.index("active")  # newest first: the canary
    assert "bank@1 shadow" in out
    code, out = loopml(project, "rollback")
    assert code == 2 and "replaced nothing" in out
    code, out = loopml(project, "deploy", "bank@9")
    assert code == 2 and "no version 9" in out


def test_predict_and_package(project: Path, tmp_path: Path, classifier: ModelBundle) -> None:
    frame = make_frame(500, seed=9)[["age", "balance", "job"]]
    frame.to_parquet(project / "new.parquet")
    code, out = loopml(
        project, "predict", "bank@1", "new.parquet", "scored.csv", "--chunk-rows", "64"
    )
    assert code == 0 and "wrote 500 predictions to scored.csv" in out
    scored = pd.read_csv(project / "scored.csv")
    assert scored["probability"].tolist() == pytest.approx(
        classifier.predict(frame).probabilities.tolist()
    )
    code, out = loopml(project, "package", "bank@2")
    assert code == 0 and (project / "bank-2" / "model.pkl").is_file()
    code, out = loopml(project, "package", "bank@2")
    assert code == 2 and "already exists; pass --force" in out


def test_a_running_server_follows_deploy_and_rollback(project: Path, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    process, url = start_serving(project, log)
    try:
        wait_ready(process, url, log)
        assert answered_by(url) == "bank@1"
        assert loopml(project, "deploy", "bank@2")[0] == 0
        wait_for(url, "bank@2")
        assert loopml(project, "rollback")[0] == 0
        wait_for(url, "bank@1")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
    service = ProjectService.open(project)
    kinds = [e.kind for e in service.list_events() if e.kind.startswith("deployment.")]
    assert kinds == [
        "deployment.started",
        "deployment.changed",
        "deployment.rolled_back",
        "deployment.stopped",
    ]
    service.close()


def answered_by(url: str) -> str:
    return httpx.post(f"{url}/predict", json={"row": ROW}).json()["model"]


def wait_for(url: str, ref: str) -> None:
    deadline = time.monotonic() + 10
    while answered_by(url) != ref:
        assert time.monotonic() < deadline, f"the server never switched to {ref}"
        time.sleep(0.05)


def test_a_running_server_of_the_champion_follows_a_promotion(
    project: Path, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    process, url = start_serving(project, log)
    try:
        wait_ready(process, url, log)
        assert answered_by(url) == "bank@1"
        service = ProjectService.open(project)
        try:
            service.store.set_alias("bank", "champion", 2)  # a promotion, no deploy
            assert service.list_deployments()[0].alias == "champion"
        finally:
            service.close()
        wait_for(url, "bank@2")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
