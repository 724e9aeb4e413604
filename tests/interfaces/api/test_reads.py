"""The read routes: projects, runs searched and paged by the store, a run, versions,
events and deployments; errors as 4xx with the reason."""

from __future__ import annotations

from tests.interfaces.api.conftest import VERSIONS, Server


def get(server: Server, path: str, role: str = "viewer", **params: object) -> object:
    response = server.client.get(path, params=params, headers=server.auth(role))
    assert response.status_code == 200, response.text
    return response.json()


def test_projects_and_runs_filtered_sorted_and_paged(server: Server) -> None:
    listed = get(server, "/api/v1/projects")
    assert [p["name"] for p in listed["projects"]] == [server.project]
    runs = f"/api/v1/projects/{server.project}/runs"
    page = get(server, runs, where="roc_auc > 0.6", sort="-roc_auc", limit=2, offset=1)
    assert [r["metrics"]["roc_auc"] for r in page["runs"]] == [0.8, 0.7]
    assert page["metric_keys"] == ["roc_auc"] and page["offset"] == 1
    assert page["total"] == 3  # every page's runs, counted by the store
    assert page["runs"][0]["params"] == {"n": 3} and page["runs"][0]["status"] == "succeeded"
    by_param = get(server, runs, where=["params.n >= 1", "roc_auc < 0.65"])
    assert [r["params"]["n"] for r in by_param["runs"]] == [1]
    assert by_param["total"] == 1 and get(server, runs, limit=1)["total"] == 5
    assert get(server, runs, limit=1, count="false")["total"] is None
    one = get(server, f"{runs}/{page['runs'][0]['run_id'][:8]}")
    assert one["metric_values"][0]["key"] == "roc_auc"


def test_versions_events_and_deployments(server: Server) -> None:
    base = f"/api/v1/projects/{server.project}"
    versions = get(server, f"{base}/models", role="labeller")["versions"]
    assert len(versions) == VERSIONS and versions[0]["version"] == VERSIONS
    assert versions[0]["status"] is None and versions[0]["metrics"] == {"roc_auc": 0.9}
    assert get(server, f"{base}/deployments")["deployments"] == []
    assert get(server, f"{base}/events", kind="model.approved")["events"] == []


def test_bad_requests_are_4xx_with_the_reason(server: Server) -> None:
    auth = server.auth("viewer")
    runs = f"/api/v1/projects/{server.project}/runs"
    bad_where = server.client.get(runs, params={"where": "roc_auc >>> 1"}, headers=auth)
    assert bad_where.status_code == 400 and "roc_auc" in bad_where.text
    assert server.client.get(runs, params={"limit": 0}, headers=auth).status_code == 422
    other = server.client.get("/api/v1/projects/other/runs", headers=auth)
    assert other.status_code == 404 and server.project in other.text
    missing = server.client.get(f"{runs}/ffffffff", headers=auth)
    assert missing.status_code == 404
    approve = f"/api/v1/projects/{server.project}/models/bank/versions/99/approve"
    absent = server.client.post(approve, json={}, headers=server.auth("approver"))
    assert absent.status_code == 404
    reject = f"/api/v1/projects/{server.project}/models/bank/versions/1/reject"
    no_note = server.client.post(reject, json={}, headers=server.auth("approver"))
    assert no_note.status_code == 422 and "say why" in no_note.text
    spec = server.client.get("/api/v1/openapi.json").json()
    assert "/api/v1/projects/{project}/runs" in spec["paths"]


def test_events_are_paged_by_the_store_either_way(server: Server) -> None:
    base = f"/api/v1/projects/{server.project}/models/bank/versions"
    for version in (3, 4, 5):
        note = {"note": f"v{version}"}
        answer = server.client.post(
            f"{base}/{version}/approve", json=note, headers=server.auth("approver")
        )
        assert answer.status_code == 200, answer.text
    events = f"/api/v1/projects/{server.project}/events"
    approved = {"kind": "model.approved"}
    page = get(server, events, **approved, limit=2)
    assert page["total"] == 3 and [e["payload"]["version"] for e in page["events"]] == [3, 4]
    newest = get(server, events, **approved, limit=2, offset=1, newest_first="true")
    assert [e["payload"]["version"] for e in newest["events"]] == [4, 3]
    assert get(server, events)["total"] >= 3  # every kind
