"""The users, tokens, audit and secrets contract, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from loopml.errors import ConflictError, NotFoundError
from loopml.storage.metadata import MetadataStore
from loopml.storage.metadata.protocols import Condition


def test_users_round_trip_by_name(store: MetadataStore) -> None:
    made = store.add_user("bob", "viewer", "hash-b")
    store.add_user("alice", "approver", "hash-a")
    assert made.name == "bob" and made.role == "viewer"
    assert made.created_at.utcoffset() is not None
    assert [u.name for u in store.list_users()] == ["alice", "bob"]
    assert store.get_user("alice").role == "approver"
    assert store.find_password_hash("alice") == "hash-a"
    assert store.find_password_hash("nobody") is None


def test_a_taken_name_is_a_conflict(store: MetadataStore) -> None:
    store.add_user("bob", "viewer", "h")
    with pytest.raises(ConflictError, match="'bob' exists already"):
        store.add_user("bob", "admin", "other")
    assert store.get_user("bob").role == "viewer"


def test_tokens_find_their_user_and_go_with_it(store: MetadataStore) -> None:
    store.add_user("ci", "editor", "h")
    store.add_token("ci", "a" * 64)
    store.add_token("ci", "b" * 64)
    found = store.find_user_by_token("b" * 64)
    assert found is not None and found.name == "ci"
    assert store.find_user_by_token("c" * 64) is None
    with pytest.raises(NotFoundError, match="No user named 'ghost'"):
        store.add_token("ghost", "d" * 64)
    store.remove_user("ci")
    assert store.find_user_by_token("a" * 64) is None
    with pytest.raises(NotFoundError):
        store.get_user("ci")
    with pytest.raises(NotFoundError):
        store.remove_user("ci")


def test_audit_is_newest_first_and_paged(store: MetadataStore) -> None:
    for n in range(5):
        store.add_audit("bob", f"POST /x/{n}", f"x{n}", "10.0.0.1", "200")
    entries = store.list_audit(limit=2, offset=1)
    assert [e.action for e in entries] == ["POST /x/3", "POST /x/2"]
    first = store.list_audit(limit=1)[0]
    assert (first.user, first.target, first.client, first.outcome) == (
        "bob",
        "x4",
        "10.0.0.1",
        "200",
    )
    assert first.at.utcoffset() is not None


def test_a_secret_is_made_once_and_kept(store: MetadataStore) -> None:
    secret = store.server_secret("session")
    assert len(secret) == 64
    assert store.server_secret("session") == secret
    assert store.server_secret("other") != secret


def test_projects_are_listed_by_name(store: MetadataStore) -> None:
    store.ensure_project("zeta")
    store.ensure_project("alpha")
    assert [p.name for p in store.list_projects()] == ["alpha", "zeta"]


def test_search_runs_pages_in_sql_and_in_python(store: MetadataStore) -> None:
    project = store.ensure_project("paged")
    runs = [store.create_run(project.project_id, f"r{n}", params={"k": "x"}) for n in range(5)]
    newest = [r.run_id for r in reversed(runs)]
    page = store.search_runs(project.project_id, limit=2, offset=1)
    assert [r.run_id for r in page] == newest[1:3]
    by_param = Condition("params.k", "==", "x")  # filtered in Python, paged the same
    page = store.search_runs(project.project_id, where=[by_param], limit=2, offset=3)
    assert [r.run_id for r in page] == newest[3:5]
    assert store.search_runs(project.project_id, limit=2, offset=5) == []
