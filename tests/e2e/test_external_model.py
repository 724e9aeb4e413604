"""A model fitted in a notebook, registered with `loopml.register_model` into a project
made by `loopml init`, then the rest of the loop as for any version: the gate, approval,
`loopml serve` on loopback with traffic and feedback, `loopml deploy` and `rollback`, and
`loopml monitor`."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tests.helpers import edit_spec, run_cli, start_serving, wait_ready

import loopml
from loopml.serve.sink import load_predictions
from loopml.service import ProjectService

pytestmark = pytest.mark.slow
TARGET = "subscribed "  # the header has a trailing space


def notebook(project: Path) -> tuple[object, dict[str, pd.DataFrame | pd.Series]]:
    """What a data scientist does by hand: read the file, split it, fit a pipeline."""
    data = pd.read_csv(project / "bank.csv")
    X, y = data.drop(columns=[TARGET, "duration"]), data[TARGET]
    X_rest, X_traffic, y_rest, y_traffic = train_test_split(
        X, y, test_size=400, stratify=y, random_state=0
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X_rest, y_rest, test_size=0.25, stratify=y_rest, random_state=0
    )
    model = make_pipeline(
        SimpleImputer(strategy="median"),
        StandardScaler(),
        LogisticRegression(max_iter=1000, class_weight="balanced"),
    ).fit(X_train, y_train)
    parts = {"X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test}
    return model, {**parts, "X_traffic": X_traffic, "y_traffic": y_traffic}


def test_a_notebook_model_goes_through_gate_approval_serving_and_monitoring(
    tmp_path: Path, bank_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "bank"
    project.mkdir()
    pd.read_csv(bank_csv).sample(6000, random_state=1).to_csv(project / "bank.csv", index=False)
    made = run_cli(project, "init", "bank.csv", "-t", TARGET, "-x", "duration", "--name", "bank")
    assert made.returncode == 0, made.stdout + made.stderr
    approval = {"require_approval": True, "approvers": ["alice"]}
    edit_spec(project, lambda spec: spec.update(registry=approval))  # roc_auc >= 0.7 stays

    model, d = notebook(project)
    monkeypatch.chdir(project)
    coefficients = project / "coefficients.csv"
    with loopml.start_run("notebook", params={"class_weight": "balanced"}) as run:
        pd.Series(model[-1].coef_[0], index=d["X_train"].columns).to_csv(coefficients)
        loopml.log_artifact(coefficients)
        version = loopml.register_model(
            model,
            sample=d["X_train"].assign(**{TARGET: d["y_train"]}),
            holdout=(d["X_test"], d["y_test"]),
            description="balanced logistic regression",
        )
    assert version.ref == "bank@1" and version.aliases == ("challenger",)
    assert version.lineage["gate"] == "go" and version.lineage["origin"] == "external"
    assert version.lineage["training_run_id"] == run.run_id
    assert version.metrics["roc_auc"] > 0.7

    shown = run_cli(project, "show", run.run_id)
    assert shown.returncode == 0 and "output coefficients.csv sha256:" in shown.stdout
    details = run_cli(project, "models", "show", "bank@1")
    assert "gate: go" in details.stdout and "origin: external" in details.stdout
    assert "status: awaiting approval" in details.stdout
    traced = run_cli(project, "lineage", "bank@1")
    assert traced.returncode == 0 and "no snapshot: trained outside loopml" in traced.stdout
    approved = run_cli(project, "approve", "bank@1", "--by", "alice", "--note", "notebook checked")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert loopml.load_model("bank@champion").version.version == 1

    trees = HistGradientBoostingClassifier(max_iter=40, random_state=0)
    trees.fit(d["X_train"], d["y_train"])
    second = loopml.register_model(trees, sample=d["X_train"], holdout=(d["X_test"], d["y_test"]))
    assert second.ref == "bank@2" and second.aliases == ("challenger",)

    traffic = d["X_traffic"].reset_index(drop=True)
    expected = model.predict_proba(traffic)[:, 1]
    log = tmp_path / "serve.log"
    server, url = start_serving(project, log)
    try:
        ids = serve_traffic(server, url, log, traffic, d["y_traffic"], expected)
        deployed = run_cli(project, "deploy", "bank@2")
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        wait_for(url, traffic, "bank@2")
        assert run_cli(project, "rollback").returncode == 0
        wait_for(url, traffic, "bank@1")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert server.returncode == 0, log.read_text()

    service = ProjectService.open(project)
    logged = load_predictions(service.store, service.artifacts, "bank", 1)
    assert set(ids) <= set(logged["prediction_id"])
    service.close()
    monitor = run_cli(project, "monitor")
    assert monitor.returncode in (0, 1), monitor.stdout + monitor.stderr
    assert "report:" in monitor.stdout and "balance" in monitor.stdout
    assert "live roc_auc" in monitor.stdout and "on 400 rows with feedback" in monitor.stdout
    service = ProjectService.open(project)
    checked = service.list_events("drift.checked")[-1].payload
    assert checked["model"] == "bank@1" and checked["rows"] >= len(traffic)
    assert set(checked["scores"]) >= set(traffic.columns)
    service.close()
    summary = run_cli(project, "summary")
    assert "champion: bank@1 (external (Pipeline))" in summary.stdout


def serve_traffic(
    server: subprocess.Popen[str],
    url: str,
    log: Path,
    traffic: pd.DataFrame,
    truth: pd.Series,
    expected: np.ndarray,
) -> list[str]:
    """Score the traffic (as the notebook's model would), send its labels as feedback."""
    wait_ready(server, url, log, route="/ready")
    rows = traffic.to_dict(orient="records")
    with httpx.Client(base_url=url, timeout=30) as client:
        answer = client.post("/predict", json={"rows": rows})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["model"] == "bank@1"
        assert body["probabilities"] == pytest.approx(expected.tolist(), abs=1e-9)
        ids = body["prediction_ids"]
        items = [{"prediction_id": i, "value": int(v)} for i, v in zip(ids, truth, strict=True)]
        assert client.post("/feedback", json={"items": items}).status_code == 200
        bad = client.post("/predict", json={"row": {"age": 40}})
        assert bad.status_code == 422 and "balance" in bad.text
        with_null = client.post("/predict", json={"row": {**rows[0], "balance": None}})
        assert with_null.status_code == 200, with_null.text  # the pipeline imputes
        explained = client.post("/explain", json={"row": rows[0]})
        assert explained.status_code == 200, explained.text
    return list(ids)


def wait_for(url: str, traffic: pd.DataFrame, ref: str) -> None:
    row = traffic.iloc[0].to_dict()
    deadline = time.monotonic() + 15
    while httpx.post(f"{url}/predict", json={"row": row}).json()["model"] != ref:
        assert time.monotonic() < deadline, f"the server never switched to {ref}"
        time.sleep(0.1)
