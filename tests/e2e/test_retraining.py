"""Closing the loop on the bike data: a model trained on 2011 serves 2012 traffic through a
real server, monitoring raises drift and performance alerts, retraining puts a challenger
in shadow, and the challenger is promoted only once it proved better on 2012 traffic."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest
from scripts.replay import model_columns, replay
from tests.e2e.test_lifecycle import loopml, wait_healthy
from tests.helpers import edit_spec, free_port, small_search

from loopml.service import ProjectService

pytestmark = pytest.mark.slow


def bike_by_year(bike_csv: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(bike_csv)
    year = pd.to_datetime(frame["dteday"], format="%m/%d/%y").dt.year
    return frame[year == 2011], frame[year == 2012].reset_index(drop=True)


def closing_the_loop(spec: dict) -> None:
    # the date is a feature (its year, month, weekday and hour parts), not the split's
    # clock: a model can then learn from 2012 traffic that 2012 is busier than 2011
    spec["split"] = {"method": "random", "test_size": 0.2, "random_state": 42}
    spec["serve"] = {"log_flush_s": 0.2, "watch_interval_s": 0.2}
    spec["monitor"] = {
        "window": {"by": "count", "size": 1500},
        "performance": {"max_drop": 0.1, "min_feedback": 100},
        "policies": [
            {"when": ["drift", "performance"], "action": "log"},
            {"when": ["performance"], "action": "retrain"},
        ],
        "retrain": {
            "min_labelled": 500,
            "recent_share": 0.3,
            "min_improvement": 0.05,
            "shadow_requests": 400,
            "min_shadow_feedback": 200,
        },
    }


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


def test_drift_retrain_shadow_promote(tmp_path: Path, bike_csv: Path) -> None:
    project = tmp_path / "bike"
    (project / "data").mkdir(parents=True)
    year_2011, year_2012 = bike_by_year(bike_csv)
    year_2011.to_csv(project / "data" / "bike.csv", index=False)
    leaks = ["casual", "registered", "x"]  # cnt = casual + registered; X numbers the rows
    loopml(project, "init", "data/bike.csv", "-t", "cnt", "--name", "bike", *_x(leaks))
    small_search(project, trials=3)
    edit_spec(project, closing_the_loop)
    first = loopml(project, "run", check=False)
    assert first.returncode == 0, first.stdout + first.stderr

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "loopml", "serve", "--port", str(port), "-C", str(project)],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_healthy(url, server)
        columns = model_columns(project)
        winter = replay(url, year_2012.iloc[:2400], "cnt", columns)
        assert winter.models == {"bike@1": 2400}
        wait_logged(project, 2400)

        alert = loopml(project, "monitor", check=False)
        assert alert.returncode == 1, alert.stdout + alert.stderr
        assert "ALERT" in alert.stdout and "performance" in alert.stdout
        assert "drift" in alert.stdout
        assert "now in shadow" in alert.stdout, alert.stdout

        wait_serving(url, "bike@1", "shadow")  # the champion still answers; bike@2 shadows
        spring = replay(url, year_2012.iloc[2400:3000], "cnt", columns)
        assert spring.models == {"bike@1": 600}
        wait_logged(project, 2400 + 600 * 2)

        decided = loopml(project, "monitor", check=False)
        assert "bike@2 promoted to champion" in decided.stdout, decided.stdout
        wait_serving(url, "bike@2", "single")
        summer = replay(url, year_2012.iloc[3000:3100], "cnt", columns)
        assert summer.models == {"bike@2": 100}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()

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
