"""Deploy, shadow, roll back and watch through the team server, on a really trained
project with logged traffic: the deployments and their events name the signed-in user,
the monitoring windows are read without acting, a version's lineage reaches its
predictions, and the overview sums it up."""

from __future__ import annotations

from typing import Any

from tests.interfaces.api.conftest import LOGGED, Server


def call(server: Server, method: str, path: str, role: str = "viewer", **kwargs: Any) -> Any:
    url = f"/api/v1/projects/{server.project}{path}"
    return server.client.request(method, url, headers=server.auth(role), **kwargs)


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_monitoring_windows_are_read_without_acting(trained_server: Server) -> None:
    service = trained_server.service
    events, reports = len(service.list_events()), sorted(service.reports_dir.iterdir())
    found = ok(call(trained_server, "GET", "/monitoring"))
    assert len(service.list_events()) == events  # no drift.checked, no alert, no action
    assert sorted(service.reports_dir.iterdir()) == reports  # no report written
    (watched,) = found["versions"]
    assert watched["ref"] == "bank@1" and watched["role"] == "primary"
    assert [w["rows"] for w in watched["windows"]] == [288, 288, LOGGED - 576]  # daily
    window = watched["windows"][0]
    assert set(window["drift"]) >= {"age", "balance", "probability"}
    assert set(window["drifted"]) <= set(window["drift"])
    assert window["metric"]["name"] == "roc_auc" and 0 <= window["metric"]["value"] <= 1
    assert 0 < window["latency_ms"]["p50"] <= window["latency_ms"]["p99"]
    assert window["errors"] == 0 and window["alert"] == bool(window["signals"])
    assert window["start"] < window["end"]
    assert found["staleness"]["bank@1"]["first_at"].startswith("2026-02-01")


def test_a_version_lineage_from_snapshot_to_predictions(trained_server: Server) -> None:
    found = ok(call(trained_server, "GET", "/models/bank/versions/1", role="labeller"))
    assert found["version"] == 1 and "champion" in found["aliases"] and found["status"] is None
    assert [h["kind"] for h in found["history"]][:2] == ["registered", "promoted"]
    chain = found["chain"]
    snapshot = chain["snapshot"]
    assert snapshot["snapshot_id"] == found["lineage"]["snapshot_id"]
    assert snapshot["details"]["sources"][0]["location"] == "data/data.csv"
    assert chain["run"]["run_id"] == found["run_id"]
    assert chain["gate"]["verdict"] == "go"
    assert chain["gate"]["event"]["payload"]["verdict"] == "go"
    assert chain["predictions"]["rows"] == LOGGED and chain["predictions"]["batches"] == 2
    missing = call(trained_server, "GET", "/models/bank/versions/9")
    assert missing.status_code == 404 and "no version 9" in missing.text


def test_deploy_a_shadow_and_roll_back_as_the_operator(trained_server: Server) -> None:
    server, service = trained_server, trained_server.service
    single = ok(call(server, "POST", "/deployments", "operator", json={"ref": "bank@1"}))
    assert single["config"]["by"] == "operator" and single["status"] == "active"
    body = {"ref": "bank@2", "mode": "shadow"}
    shadow = ok(call(server, "POST", "/deployments", "admin", json=body))
    assert shadow["mode"] == "shadow" and shadow["config"]["challenger"] == 2
    assert shadow["config"]["by"] == "admin"
    roles = {v["ref"]: v["role"] for v in ok(call(server, "GET", "/monitoring"))["versions"]}
    assert roles == {"bank@1": "primary", "bank@2": "shadow"}
    back = ok(call(server, "POST", "/deployments/rollback", "operator"))
    assert back["rolled_back"]["deployment_id"] == shadow["deployment_id"]
    assert back["restored"]["deployment_id"] == single["deployment_id"]
    assert service.list_events("deployment.rolled_back")[-1].payload["by"] == "operator"
    assert service.list_events("deployment.changed")[-1].payload["by"] == "admin"
    listed = ok(call(server, "GET", "/deployments"))["deployments"]
    assert [d["status"] for d in listed][:2] == ["rolled_back", "active"]
    audit = service.list_audit(limit=3)
    assert audit[0].user == "operator" and "rollback" in audit[0].action


def test_deploy_refusals_name_what_is_wrong(trained_server: Server) -> None:
    server = trained_server
    bad_mode = call(server, "POST", "/deployments", "operator", json={"ref": "bank@1", "mode": "x"})
    assert bad_mode.status_code == 422 and "mode" in bad_mode.text
    unknown = call(server, "POST", "/deployments", "operator", json={"ref": "bank@7"})
    assert unknown.status_code == 404 and "no version 7" in unknown.text
    key = {"ref": "bank@2", "mode": "ab", "key": "nope"}
    assert "nope" in call(server, "POST", "/deployments", "operator", json=key).text
    refused = call(server, "POST", "/deployments", "labeller", json={"ref": "bank@1"})
    assert refused.status_code == 403 and "labeller" in refused.text


def test_overview_sums_the_project_up(trained_server: Server) -> None:
    found = ok(call(trained_server, "GET", "/overview"))
    assert found["project"]["name"] == trained_server.project
    assert found["champion"]["ref"] == "bank@1" and "roc_auc" in found["champion"]["metrics"]
    assert found["verdict"]["payload"]["verdict"] == "go"
    assert found["counts"]["versions"] == 2 and found["counts"]["snapshots"] == 1
    assert found["counts"]["runs"] >= 1
    assert found["alert"] is None  # nothing judged by `loopml monitor` yet
    trained_server.service.monitor()
    alert = ok(call(trained_server, "GET", "/overview"))["alert"]
    assert alert["model"] == "bank@1" and isinstance(alert["alert"], bool)
    assert alert["alert"] == bool(alert["reasons"])
