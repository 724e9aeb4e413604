"""`loopml monitor`, `loopml staleness` and `loopml drift` on a real project: a model
trained on early bank calls, served traffic from later calls logged through the real
sink, feedback in the store, the report opened in headless chromium."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from tests.browser import run_chromium
from tests.helpers import bank_project, free_port, set_criteria, small_search
from typer.testing import CliRunner

from loopml.data.ingest import clean_column_names
from loopml.interfaces.cli.main import app
from loopml.serve.sink import store_sink
from loopml.service import ProjectService, init_project

runner = CliRunner()
START = pd.Timestamp("2026-02-01", tz="UTC")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, bank_csv: Path) -> Path:
    """Trained on the first 3,000 calls; 1,440 later calls logged over two days."""
    root = bank_project(tmp_path_factory.mktemp("monitor"), bank_csv, rows=3000)
    init_project("data/bank.csv", "subscribed ", root, exclude=["duration"])
    small_search(root, trials=2)
    service = ProjectService.open(root)
    try:
        service.run()
        _log_traffic(service, bank_csv)
    finally:
        service.close()
    return root


def _log_traffic(service: ProjectService, bank_csv: Path) -> None:
    _, bundle = service.load_model("bank@1")
    raw = pd.read_csv(bank_csv, skiprows=range(1, 20_001), nrows=1440)
    frame, _ = clean_column_names(raw)
    prediction = bundle.predict(frame)
    log = frame[bundle.feature_names].copy()
    log.insert(0, "prediction_id", [uuid.uuid4().hex for _ in range(len(log))])
    log.insert(1, "predicted_at", START + pd.to_timedelta(np.arange(len(log)) * 2, unit="min"))
    log.insert(2, "latency_ms", np.random.default_rng(0).gamma(2.0, 3.0, len(log)))
    log["prediction"] = prediction.predictions
    log["probability"] = prediction.probabilities
    sink = store_sink(service.store, service.artifacts, service.project.project_id, "bank", 1)
    for start in range(0, len(log), 500):
        sink(log.iloc[start : start + 500])
    pairs = zip(log["prediction_id"], frame["subscribed"], strict=True)
    service.store.add_feedback(service.project.project_id, list(pairs))


@pytest.fixture
def spec_edit(project: Path) -> Iterator[callable]:
    """Change the monitor section for one test; the spec is put back afterwards."""
    path = project / "loopml.yaml"
    original = path.read_text()

    def edit(**monitor: object) -> None:
        spec = yaml.safe_load(original)
        spec["monitor"].update(monitor)
        path.write_text(yaml.safe_dump(spec, sort_keys=False))

    yield edit
    path.write_text(original)


def events(project: Path, kind: str) -> list:
    service = ProjectService.open(project)
    try:
        return service.list_events(kind)
    finally:
        service.close()


def test_monitor_judges_daily_windows_and_exits_1_on_alert(project: Path) -> None:
    before = len(events(project, "drift.checked"))
    result = runner.invoke(app, ["monitor", "bank@1", "-C", str(project)])
    assert result.exit_code == 1, result.output
    assert "drift of bank@1, latest window: 720 rows" in result.output
    assert "balance" in result.output and "ALERT drift:" in result.output
    assert "live roc_auc" in result.output and "v1: 720 requests, p50" in result.output
    assert "report: " in result.output
    checked = events(project, "drift.checked")
    assert len(checked) == before + 1
    payload = checked[-1].payload
    assert payload["windows"] == 2 and payload["rows"] == 1440 and payload["alert"]
    assert set(payload["drifted"]) <= set(payload["scores"]) and payload["drifted"]
    alerts = events(project, "monitor.alert")
    assert alerts[-1].payload["action"] == "log" and alerts[-1].payload["model"] == "bank@1"


def test_the_report_draws_every_section_offline(
    project: Path, chromium: Path, tmp_path: Path
) -> None:
    service = ProjectService.open(project)
    try:
        result = service.monitor("bank@1")
    finally:
        service.close()
    html = result.report_path.read_text()
    for section in ("status", "drift", "distributions", "quality", "performance", "operations",
                    "staleness"):  # fmt: skip
        assert f'<section id="{section}">' in html
    assert "https://" not in html.split("<script>")[0]  # no stylesheet or script fetched
    page = run_chromium(tmp_path, "--dump-dom", result.report_path.as_uri())
    charts = len(result.outcome.latest.drifted_features) + 5
    assert f'data-charts="{charts}"' in page.stdout, page.stderr[-2000:]


def test_staleness_per_served_version(project: Path) -> None:
    result = runner.invoke(app, ["staleness", "-C", str(project)])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "bank@1" in line)
    assert row.split("│")[2].strip() == "2026-02-01"  # the first prediction
    assert "age," in result.output  # among the features that drifted first


def test_a_webhook_that_is_down_still_records_the_alert(project: Path, spec_edit) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    spec_edit(policies=[{"when": ["drift"], "action": "webhook", "url": url, "retries": 1}])
    result = runner.invoke(app, ["monitor", "bank@1", "-C", str(project)])
    assert result.exit_code == 1, result.output
    assert f"webhook {url} failed after 2 attempt(s)" in result.output
    last = events(project, "monitor.alert")[-1].payload
    assert last["url"] == url and last["delivered"] is False


def test_a_rollback_policy_with_nothing_to_return_to_says_so(project: Path, spec_edit) -> None:
    spec_edit(policies=[{"when": ["drift"], "action": "rollback"}])
    result = runner.invoke(app, ["monitor", "bank@1", "-C", str(project)])
    assert result.exit_code == 1, result.output
    assert "rollback failed" in result.output and "nothing is deployed" in result.output
    assert events(project, "monitor.rollback")[-1].payload["delivered"] is False


def test_count_windows_come_from_the_spec(project: Path, spec_edit) -> None:
    spec_edit(window={"by": "count", "size": 100_000})
    result = runner.invoke(app, ["monitor", "bank@1", "-C", str(project)])
    assert result.exit_code == 1  # one window of 1,440 rows, still drifted
    assert "latest window: 1440 rows" in result.output


def test_drift_compares_two_files_without_a_project(tmp_path: Path, bank_csv: Path) -> None:
    frame = pd.read_csv(bank_csv, nrows=12_000)
    frame.iloc[:6000].to_csv(tmp_path / "early.csv", index=False)
    frame.iloc[6000:].to_parquet(tmp_path / "late.parquet")
    frame.iloc[:3000].to_csv(tmp_path / "first.csv", index=False)
    frame.iloc[3000:6000].to_csv(tmp_path / "second.csv", index=False)
    args = ["drift", str(tmp_path / "early.csv"), str(tmp_path / "late.parquet")]
    table = runner.invoke(app, args)
    assert table.exit_code == 1 and "ALERT: drift in" in table.output and "month" in table.output
    data = json.loads(runner.invoke(app, [*args, "--json"]).output)
    month = next(c for c in data["columns"] if c["column"] == "month")
    assert (month["test"], month["drifted"]) == ("ks", True)
    assert set(month) == {"column", "type", "test", "score", "threshold", "drifted", "rows", "note"}
    loose = runner.invoke(
        app, [*args, "--json", "--column", "age=numeric", "--threshold", "ks=1e-300"]
    )
    assert loose.exit_code == 0 and json.loads(loose.output)["drifted"] == []
    bad = runner.invoke(app, [*args, "--threshold", "ks"])
    assert bad.exit_code == 2 and "--threshold takes KEY=VALUE, got 'ks'" in bad.output
    missing = runner.invoke(app, ["drift", str(tmp_path / "early.csv"), str(tmp_path / "no.csv")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_watch_repeats_until_sigterm(project: Path) -> None:
    loopml = Path(sys.executable).parent / "loopml"
    args = [str(loopml), "monitor", "bank@1", "--watch", "--every", "0.2", "-C", str(project)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output = ""
    deadline = time.monotonic() + 60
    while output.count("report: ") < 2 and time.monotonic() < deadline:
        output += process.stdout.readline()  # type: ignore[union-attr]
    process.send_signal(signal.SIGTERM)
    try:
        rest, _ = process.communicate(timeout=30)
    finally:  # a hang fails this test alone: no process or pipe is left to the next
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    checks = (output + rest).count("report: ")
    assert checks >= 2 and f"stopped after {checks} check(s)" in rest


def test_retrain_keeps_the_champion_unless_the_challenger_proves_better(
    project: Path, spec_edit
) -> None:
    """Runs last in this module: it registers bank@2 and bank@3."""
    policies = [{"when": ["drift"], "action": "retrain"}]
    spec_edit(policies=policies, retrain={"min_labelled": 5000})
    result = runner.invoke(app, ["monitor", "bank@1", "-C", str(project)])
    assert "only 1440 served requests have feedback; retraining needs 5000" in result.output
    assert events(project, "retrain.skipped")[-1].payload["model"] == "bank@1"

    spec_edit(policies=policies, retrain={"min_labelled": 500, "min_improvement": 5.0})
    result = runner.invoke(app, ["monitor", "bank@1", "-C", str(project)])
    assert "retrain: bank@2 did not pass the gate; the champion stays" in result.output
    set_criteria(project, [])  # put back by spec_edit: now only the baseline must be beaten
    result = runner.invoke(app, ["monitor", "bank@1", "-C", str(project)])
    assert result.exit_code == 1, result.output
    evaluated = events(project, "retrain.evaluated")[-1].payload
    assert evaluated["challenger"] == "bank@3" and evaluated["on"] == "recent traffic"
    judgement = evaluated["judgement"]
    assert judgement["rows"] == 432 and not judgement["better"]  # 30 % of 1,440
    rejected = events(project, "retrain.rejected")[-1].payload
    assert "needs 500.0%" in rejected["reason"] and "(needs 500.0%)" in result.output
    again = runner.invoke(app, ["monitor", "bank@1", "-C", str(project)])
    assert "no new feedback and no spec change since the last retraining" in again.output
    service = ProjectService.open(project)
    try:
        assert [e.kind for e in service.list_events("model.promoted")] == []  # none promoted
        assert service.load_model("bank@challenger")[0].version == 3
        assert not service.list_deployments()  # nothing was put into shadow
        split = service.list_runs(name="split", limit=1)[0]
        metrics = {m.key: m.value for m in service.get_run(split.run_id)[1]}
    finally:
        service.close()
    assert metrics["traffic_rows"] == 1008  # the older 70 % joined the training rows
