"""Approval before champion, rejection, user aliases and the stage history, on SQLite and
PostgreSQL: every decision is an event with who, when and why."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from tests.registry.test_registry import SIGNATURE, fitted_bundle

from loopml.errors import ConflictError, DataError, NotFoundError
from loopml.registry import (
    approval_status,
    approve,
    delete_alias,
    describe_version,
    list_with_status,
    register_model,
    reject,
    resolve_model,
    set_alias,
)
from loopml.storage.artifacts import open_artifact_store
from loopml.storage.metadata import open_metadata_store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stores(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'loopml.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = open_metadata_store(url)
    artifacts = open_artifact_store(str(tmp_path / "artifacts"))
    yield store, artifacts, store.ensure_project("demo").project_id
    store.close()


def register(stores, *, gate: str = "go", approval: bool = True, approvers=()):
    store, artifacts, project_id = stores
    digest = artifacts.put_bytes(fitted_bundle().to_bytes()).digest
    return register_model(
        store,
        project_id,
        "demo",
        artifact_digest=digest,
        run_id="r" * 32,
        signature=SIGNATURE,
        metrics={"roc_auc": 0.9},
        lineage={"snapshot_id": "s", "gate": gate},
        champion=gate == "go",
        require_approval=approval,
        approvers=approvers,
    )


def test_passing_version_waits_as_challenger_until_approved(stores) -> None:
    store, _, project_id = stores
    first = register(stores, approval=False)
    second = register(stores)
    assert first.aliases == ("champion",) and second.aliases == ("challenger",)
    assert resolve_model(store, "demo@champion").version == 1
    events = store.list_events(project_id)
    assert approval_status(events, second) == "awaiting approval"
    assert approval_status(events, first) is None

    payload = approve(store, project_id, second, by="alice", note="checked the slices")
    assert resolve_model(store, "demo@champion").version == 2
    assert store.get_model_version("demo", 2).aliases == ("champion",)  # challenger dropped
    approved = store.list_events(project_id, "model.approved")
    assert [e.payload for e in approved] == [payload]
    assert payload["by"] == "alice" and payload["note"] == "checked the slices"
    assert datetime.fromisoformat(payload["at"]).tzinfo is not None
    promoted = store.list_events(project_id, "model.promoted")[-1].payload
    assert promoted["previous"] == 1 and "alice" in promoted["reason"]


def test_second_decision_is_a_conflict_naming_the_first(stores) -> None:
    store, _, project_id = stores
    version = register(stores)
    approve(store, project_id, version, by="alice")
    with pytest.raises(ConflictError, match="already approved by alice"):
        approve(store, project_id, version, by="bob")
    with pytest.raises(ConflictError, match="already approved"):
        reject(store, project_id, version, by="bob", note="too late")
    assert len(store.list_events(project_id, "model.approved")) == 1


def test_rejected_version_never_becomes_champion(stores) -> None:
    store, _, project_id = stores
    register(stores, approval=False)
    version = register(stores)
    with pytest.raises(DataError, match="--note"):
        reject(store, project_id, version, by="carol", note="  ")
    reject(store, project_id, version, by="carol", note="recall fell on young customers")
    assert resolve_model(store, "demo@champion").version == 1
    assert "challenger" not in store.get_model_version("demo", 2).aliases
    with pytest.raises(ConflictError, match="already rejected by carol"):
        approve(store, project_id, version, by="alice")
    with pytest.raises(ConflictError, match="rejected"):
        set_alias(store, project_id, version, "champion", by="mallory")
    assert resolve_model(store, "demo@champion").version == 1
    details = describe_version(store, project_id, store.get_model_version("demo", 2))
    assert details.status == "rejected"
    kinds = [h["kind"] for h in details.history]
    assert kinds == ["registered", "alias_set", "approval_requested", "rejected", "alias_deleted"]
    assert "carol: recall fell on young customers" in details.history[3]["details"]


def test_no_go_version_cannot_be_approved_or_made_champion(stores) -> None:
    store, _, project_id = stores
    register(stores, approval=False)
    failed = register(stores, gate="no-go")
    assert failed.aliases == ()
    with pytest.raises(ConflictError, match="no-go"):
        approve(store, project_id, failed, by="alice")
    with pytest.raises(ConflictError, match="no-go"):
        set_alias(store, project_id, failed, "champion")
    assert resolve_model(store, "demo@champion").version == 1
    assert store.list_events(project_id, "model.approved") == []


def test_only_listed_approvers_decide_and_a_name_is_required(stores) -> None:
    store, _, project_id = stores
    version = register(stores, approvers=("alice", "bob"))
    requested = store.list_events(project_id, "model.approval_requested")[0]
    assert requested.payload["approvers"] == ["alice", "bob"]
    with pytest.raises(DataError, match="'mallory' may not approve.*alice, bob"):
        approve(store, project_id, version, by="mallory", approvers=("alice", "bob"))
    with pytest.raises(DataError, match="--by"):
        approve(store, project_id, version, by=" ", approvers=())
    assert approval_status(store.list_events(project_id), version) == "awaiting approval"
    approve(store, project_id, version, by="bob", approvers=("alice", "bob"))
    assert resolve_model(store, "demo@champion").version == version.version


def test_user_aliases_move_and_are_recorded(stores) -> None:
    store, _, project_id = stores
    one, two = register(stores, approval=False), register(stores, approval=False)
    set_alias(store, project_id, one, "staging", by="dev")
    set_alias(store, project_id, two, "staging", by="dev")
    assert resolve_model(store, "demo@staging").version == 2
    moved = store.list_events(project_id, "model.alias_set")[-1].payload
    assert (moved["previous"], moved["version"], moved["by"]) == (1, 2, "dev")
    with pytest.raises(DataError, match="not a valid alias"):
        set_alias(store, project_id, one, "7")
    with pytest.raises(ConflictError, match="cannot be deleted"):
        delete_alias(store, project_id, "demo", "champion")
    assert delete_alias(store, project_id, "demo", "staging") == 2
    with pytest.raises(NotFoundError, match="no alias 'staging'"):
        resolve_model(store, "demo@staging")
    set_alias(store, project_id, one, "champion", by="ops")  # a rollback by hand
    assert resolve_model(store, "demo@champion").version == 1
    rows = dict((v.version, v.aliases) for v, _ in list_with_status(store, project_id, "demo"))
    assert rows == {2: (), 1: ("champion",)}
    history = describe_version(store, project_id, store.get_model_version("demo", 2)).history
    assert [h["kind"] for h in history][-3:] == ["alias_set", "alias_deleted", "replaced"]
