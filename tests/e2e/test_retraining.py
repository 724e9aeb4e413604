"""Closing the loop on the bike data: a model trained on 2011 serves 2012 traffic through a
real server, monitoring raises drift and performance alerts, retraining puts a challenger
in shadow, and the challenger is promoted only once it proved better on 2012 traffic."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pandas as pd
import pytest
from scripts.demo_data import bike, bike_spec
from scripts.replay import model_columns, replay
from tests.e2e.test_lifecycle import loopml
from tests.helpers import small_search, start_serving, wait_ready

from loopml.data.ingest import clean_column_names
from loopml.service import ProjectService

pytestmark = pytest.mark.slow


def traffic(project: Path, name: str) -> pd.DataFrame:
    frame, _ = clean_column_names(pd.read_csv(project / "data" / name))
    return frame


def wait_logged(project: Path, rows: int) -> None:
    """Until the server flushed ``rows`` predictions (served and shadow) to the store."""
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        service = ProjectService.open(project)
        try:
            batches = service.store.list_prediction_batches(service.spec.name)
        finally:
            service.close()
        if sum(b.row_count for b in batches) >= rows:
            return
        time.sleep(0.2)
    raise AssertionError(f"fewer than {rows} predictions logged after 30 s")


def wait_serving(url: str, model: str, mode: str) -> None:
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ready = httpx.get(f"{url}/ready", timeout=2).json()
        if ready.get("model") == model and ready.get("mode") == mode:
            return
        time.sleep(0.2)
    raise AssertionError(f"the server never switched to {model}")


def test_drift_retrain_shadow_promote(tmp_path: Path) -> None:
    project = tmp_path / "bike"
    (project / "data").mkdir(parents=True)
    bike(project / "data")  # the demo's data: 2011 to train on, 2012 as traffic
    winter, spring = (
        traffic(project, "traffic_2012_winter.csv"),
        traffic(project, "traffic_2012_spring.csv"),
    )
    leaks = ["casual", "registered", "x"]  # cnt = casual + registered; X numbers the rows
    loopml(project, "init", "data/bike_2011.csv", "-t", "cnt", "--name", "bike", *_x(leaks))
    bike_spec(project / "loopml.yaml")  # the demo's: date as a feature, retrain policy
    small_search(project, trials=3)
    first = loopml(project, "run", check=False)
    assert first.returncode == 0, first.stdout + first.stderr

    server, url = start_serving(project, tmp_path / "serve.log")
    try:
        wait_ready(server, url)
        columns = model_columns(project)
        served = replay(url, winter, "cnt", columns)
        assert served.models == {"bike@1": 2400}
        wait_logged(project, 2400)

        alert = loopml(project, "monitor", check=False)
        assert alert.returncode == 1, alert.stdout + alert.stderr
        assert "ALERT" in alert.stdout and "performance" in alert.stdout
        assert "drift" in alert.stdout
        assert "now in shadow" in alert.stdout, alert.stdout

        wait_serving(url, "bike@1", "shadow")  # the champion still answers; bike@2 shadows
        served = replay(url, spring, "cnt", columns)
        assert served.models == {"bike@1": 600}
        wait_logged(project, 2400 + 600 * 2)

        decided = loopml(project, "monitor", check=False)
        assert "bike@2 promoted to champion" in decided.stdout, decided.stdout
        wait_serving(url, "bike@2", "single")
        served = replay(url, spring.iloc[:100], "cnt", columns)
        assert served.models == {"bike@2": 100}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    service = ProjectService.open(project)
    try:
        kinds = [e.kind for e in service.list_events()]
        for kind in ("monitor.alert", "monitor.retrain", "retrain.evaluated", "retrain.shadowing"):
            assert kind in kinds
        promoted = service.list_events("retrain.promoted")[-1].payload
        judgement = promoted["judgement"]
        assert promoted["on"] == "shadow traffic" and judgement["rows"] >= 200
        assert judgement["challenger"] < judgement["champion"] * 0.95  # rmse 5 % lower
        evaluated = service.list_events("retrain.evaluated")[-1].payload["judgement"]
        assert evaluated["better"] and evaluated["rows"] == 720  # 30 % of 2,400 labelled
        champion = service.load_model()[0]
        assert champion.version == 2 and champion.aliases == ("champion",)
        deployments = service.list_deployments()
        assert [d.mode for d in deployments[:2]] == ["single", "shadow"]
    finally:
        service.close()
    report = (project / ".loopml" / "reports" / "monitor-bike-v1.html").read_text()
    assert "retrain.promoted" in report and "retrain.shadowing" in report
    assert "Decisions" in report and promoted["reason"] in report


def _x(columns: list[str]) -> list[str]:
    return [arg for column in columns for arg in ("-x", column)]
