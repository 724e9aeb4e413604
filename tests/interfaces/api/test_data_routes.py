"""The labelling queue and labels given through the team server (stored like `loopml
label import`, labelled by the signed-in user), and snapshots with their profile."""

from __future__ import annotations

from typing import Any

from tests.interfaces.api.conftest import UNLABELLED, Server


def call(server: Server, method: str, path: str, role: str = "viewer", **kwargs: Any) -> Any:
    url = f"/api/v1/projects/{server.project}{path}"
    return server.client.request(method, url, headers=server.auth(role), **kwargs)


def label(server: Server, *pairs: tuple[Any, Any], role: str = "labeller") -> Any:
    body = {"labels": [{"key": {"customer_id": k}, "label": v} for k, v in pairs]}
    return call(server, "POST", "/labels", role, json=body)


def test_the_queue_pages_the_rows_waiting_for_a_label(keyed_server: Server) -> None:
    page = call(keyed_server, "GET", "/labels", params={"limit": 5, "offset": 2}).json()
    assert page["target"] == "subscribed" and page["key"] == ["customer_id"]
    assert page["classes"] == [0, 1] and page["total"] == UNLABELLED
    assert [r["customer_id"] for r in page["rows"]] == ["c3", "c4", "c5", "c6", "c7"]
    row = page["rows"][0]
    assert "subscribed" not in row and "label_source" not in row
    assert isinstance(row["balance"], int) and list(row)[0] == "customer_id"


def test_labels_are_stored_as_the_signed_in_user_and_leave_the_queue(
    keyed_server: Server,
) -> None:
    done = label(keyed_server, ("c1", 1), ("c2", "0"), role="editor")
    assert done.status_code == 200, done.text
    assert done.json()["rows"] == 2 and done.json()["labelled_by"] == "editor"
    (event,) = keyed_server.service.list_events("labels.imported")
    assert event.payload["labelled_by"] == "editor" and event.payload["file"] == "team server"
    page = call(keyed_server, "GET", "/labels").json()
    assert page["total"] == UNLABELLED - 2
    assert "c1" not in [r["customer_id"] for r in page["rows"]]
    summary = keyed_server.service.run()  # the next run trains with them
    version = keyed_server.service.store.get_model_version("bank", summary.registration["version"])
    assert version.lineage["label_sources"]["manual:editor"] == 2


def test_bad_labels_are_422_naming_what_and_where(keyed_server: Server) -> None:
    wrong_class = label(keyed_server, ("c1", 1), ("c2", 7))
    assert wrong_class.status_code == 422 and "labels[1].label" in wrong_class.text
    assert "7" in wrong_class.text
    labelled_already = label(keyed_server, ("c150", 1))
    assert labelled_already.status_code == 422
    assert "customer_id='c150'" in labelled_already.text and "waiting" in labelled_already.text
    twice = label(keyed_server, ("c1", 1), ("c1", 0))
    assert twice.status_code == 422 and "c1" in twice.text
    no_key = call(
        keyed_server,
        "POST",
        "/labels",
        "labeller",
        json={"labels": [{"key": {"id": 1}, "label": 1}]},
    )
    assert no_key.status_code == 422 and "customer_id" in no_key.text
    empty = call(keyed_server, "POST", "/labels", "labeller", json={"labels": []})
    assert empty.status_code == 422
    assert keyed_server.service.list_events("labels.imported") == []
    refused = label(keyed_server, ("c1", 1), role="viewer")
    assert refused.status_code == 403


def test_a_project_without_a_key_has_no_queue(server: Server) -> None:
    response = call(server, "GET", "/labels")
    assert response.status_code == 422 and "data.key" in response.text


def test_snapshots_with_sources_and_a_profile(keyed_server: Server) -> None:
    assert call(keyed_server, "GET", "/snapshots").json() == {"snapshots": []}
    call(keyed_server, "GET", "/labels")  # the data steps ingest a snapshot
    (listed,) = call(keyed_server, "GET", "/snapshots").json()["snapshots"]
    assert listed["rows"] == 200 and "customer_id" in listed["columns"]
    assert listed["sources"][0]["location"] == "data/data.csv" and listed["models"] == []
    assert len(listed["sources"][0]["source_hash"]) == 64
    found = call(keyed_server, "GET", f"/snapshots/{listed['snapshot_id'][:10]}").json()
    profile = {p["column"]: p for p in found["profile"]}
    assert profile["subscribed"]["missing"] == UNLABELLED
    assert profile["customer_id"]["distinct"] == 200 and len(profile["customer_id"]["top"]) == 5
    balance = profile["balance"]
    assert balance["min"] <= balance["mean"] <= balance["max"] and balance["missing"] == 0
    missing = call(keyed_server, "GET", "/snapshots/ffff")
    assert missing.status_code == 404 and "ffff" in missing.text
