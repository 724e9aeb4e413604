"""Runs compared with their metric curves, the overview of a project with no champion,
and aliases moved and removed by operators as the signed-in user."""

from __future__ import annotations

from typing import Any

from tests.interfaces.api.conftest import VERSIONS, Server

from loopml.domain import Metric


def call(server: Server, method: str, path: str, role: str = "viewer", **kwargs: Any) -> Any:
    url = f"/api/v1/projects/{server.project}{path}"
    return server.client.request(method, url, headers=server.auth(role), **kwargs)


def test_compare_runs_side_by_side_with_curves(server: Server) -> None:
    store, project_id = server.service.store, server.service.project.project_id
    a = store.create_run(project_id, "train", params={"lr": 0.1, "depth": 3})
    b = store.create_run(project_id, "train", params={"lr": 0.2, "depth": 3})
    store.log_metrics(a.run_id, [Metric("loss", 1.0 / (s + 1), step=s) for s in range(3)])
    store.log_metrics(b.run_id, [Metric("loss", 2.0, step=0), Metric("f1", 0.5)])
    ids = [a.run_id[:8], b.run_id, a.run_id]  # a prefix, and a repeat that is ignored
    found = call(server, "GET", "/runs/compare", params={"id": ids}).json()
    assert [r["run_id"] for r in found["runs"]] == [a.run_id, b.run_id]
    assert found["runs"][0]["params"] == {"lr": 0.1, "depth": 3}
    assert found["runs"][0]["metrics"] == {"loss": 1.0 / 3}
    assert found["param_keys"] == ["depth", "lr"] and found["differing_params"] == ["lr"]
    assert found["metric_keys"] == ["f1", "loss"]
    assert found["curves"]["loss"][a.run_id] == [[0, 1.0], [1, 0.5], [2, 1.0 / 3]]
    assert found["curves"]["f1"] == {b.run_id: [[0, 0.5]]}
    unknown = call(server, "GET", "/runs/compare", params={"id": [a.run_id, "ffffffff"]})
    assert unknown.status_code == 404 and "ffffffff" in unknown.text
    assert call(server, "GET", "/runs/compare").status_code == 422


def test_overview_without_a_champion(server: Server) -> None:
    found = call(server, "GET", "/overview").json()
    assert found["champion"] is None and found["deployment"] is None
    assert found["verdict"] is None and found["alert"] is None
    assert found["counts"] == {"runs": 5, "versions": VERSIONS, "snapshots": 0}
    assert call(server, "GET", "/monitoring").json() == {"versions": [], "staleness": {}}
    other = server.client.get("/api/v1/projects/other/overview", headers=server.auth("viewer"))
    assert other.status_code == 404


def test_aliases_are_moved_and_removed_by_operators(server: Server) -> None:
    moved = call(server, "PUT", "/models/bank/aliases/staging", "operator", json={"version": 3})
    assert moved.status_code == 200, moved.text
    assert moved.json()["version"]["aliases"] == ["staging"]
    again = call(server, "PUT", "/models/bank/aliases/staging", "admin", json={"version": 4})
    assert again.json()["version"]["version"] == 4
    (event,) = server.service.list_events("model.alias_set")[:1]
    assert event.payload["by"] == "operator"
    version = call(server, "GET", "/models/bank/versions/4").json()
    assert version["aliases"] == ["staging"]
    assert version["history"][-1]["details"] == "staging by admin"
    gone = call(server, "DELETE", "/models/bank/aliases/staging", "operator")
    assert gone.json() == {"alias": "staging", "deleted": True, "version": 4}
    assert call(server, "DELETE", "/models/bank/aliases/staging", "operator").status_code == 404
    bad = call(server, "PUT", "/models/bank/aliases/1st", "operator", json={"version": 1})
    assert bad.status_code == 422 and "not a valid alias" in bad.text
    absent = call(server, "PUT", "/models/bank/aliases/qa", "operator", json={"version": 99})
    assert absent.status_code == 404
    call(server, "PUT", "/models/bank/aliases/champion", "operator", json={"version": 2})
    champion = call(server, "DELETE", "/models/bank/aliases/champion", "admin")
    assert champion.status_code == 409 and "moved" in champion.text
    editor = call(server, "PUT", "/models/bank/aliases/qa", "editor", json={"version": 1})
    assert editor.status_code == 403
