"""Deployments in a real store (SQLite and PostgreSQL): modes, replacement, rollback, events."""

from __future__ import annotations

import pytest

from loopml.errors import ConflictError, SpecError
from loopml.serve.deploy import active_deployment, deploy, describe, rollback, stop_if_active

from .conftest import Registry


def kinds(registry: Registry) -> list[str]:
    return [e.kind for e in registry.store.list_events(registry.project_id)]


def test_deploy_then_canary_then_rollback(registry: Registry) -> None:
    store, project_id = registry.store, registry.project_id
    v1, v2, _ = registry.versions
    assert active_deployment(store, project_id) is None

    first = deploy(store, project_id, v1)
    assert active_deployment(store, project_id) == first
    assert first.mode == "single" and first.version == 1 and "previous" not in first.config

    canary = deploy(store, project_id, v2, mode="canary", key="job")
    assert canary.version == 1  # v1 keeps answering; v2 is the challenger
    assert canary.config == {
        "challenger": 2,
        "percent": 5.0,
        "key": "job",
        "previous": first.deployment_id,
    }
    statuses = {d.deployment_id: d.status for d in store.list_deployments(project_id)}
    assert statuses == {first.deployment_id: "replaced", canary.deployment_id: "active"}
    assert describe(canary) == "bank@1 canary: bank@2 gets 5% by job"

    rolled, restored = rollback(store, project_id)
    assert rolled.deployment_id == canary.deployment_id and rolled.status == "rolled_back"
    assert restored.deployment_id == first.deployment_id
    assert active_deployment(store, project_id).deployment_id == first.deployment_id

    events = [e for e in store.list_events(project_id) if e.kind.startswith("deployment.")]
    assert [e.kind for e in events] == [
        "deployment.started",
        "deployment.changed",
        "deployment.rolled_back",
    ]
    assert events[1].payload["challenger"] == 2 and events[1].payload["mode"] == "canary"
    assert events[1].payload["previous_model"] == "bank@1"
    assert events[2].payload["model"] == "bank@1"
    assert events[2].payload["previous_deployment_id"] == canary.deployment_id


def test_shadow_takes_the_champion_when_nothing_is_deployed(registry: Registry) -> None:
    store, project_id = registry.store, registry.project_id
    v1, v2, v3 = registry.versions
    with pytest.raises(ConflictError, match="nothing serves yet to compare bank@2"):
        deploy(store, project_id, v2, mode="shadow")
    shadow = deploy(store, project_id, v2, mode="shadow", champion=v1)
    assert (shadow.version, shadow.config["challenger"], shadow.config["percent"]) == (1, 2, 100)
    with pytest.raises(ConflictError, match="bank@1 already serves"):
        deploy(store, project_id, v1, mode="ab")
    ab = deploy(store, project_id, v3, mode="ab", percent=20, key="job")
    assert (ab.version, ab.config["challenger"], ab.config["percent"]) == (1, 3, 20.0)


def test_bad_arguments_name_the_option(registry: Registry) -> None:
    store, project_id = registry.store, registry.project_id
    v1 = registry.versions[0]
    with pytest.raises(SpecError, match="--mode: unknown mode 'blue'.*single, shadow, ab, canary"):
        deploy(store, project_id, v1, mode="blue")
    with pytest.raises(SpecError, match="--percent: 150 is outside 0-100"):
        deploy(store, project_id, v1, mode="ab", percent=150)
    with pytest.raises(SpecError, match="--key and --percent apply to the ab and canary"):
        deploy(store, project_id, v1, key="job")
    with pytest.raises(ConflictError, match="nothing is deployed"):
        rollback(store, project_id)
    deploy(store, project_id, v1)
    with pytest.raises(ConflictError, match="replaced nothing"):
        rollback(store, project_id)
    assert store.list_deployments(project_id)[0].status == "active"  # nothing changed


def test_stop_only_the_deployment_still_active(registry: Registry) -> None:
    store, project_id = registry.store, registry.project_id
    v1, v2, _ = registry.versions
    first = deploy(store, project_id, v1)
    second = deploy(store, project_id, v2)
    stop_if_active(store, project_id, first.deployment_id)  # replaced: left alone
    assert active_deployment(store, project_id).deployment_id == second.deployment_id
    stop_if_active(store, project_id, second.deployment_id)
    assert active_deployment(store, project_id) is None
    assert kinds(registry)[-1] == "deployment.stopped"


def test_each_mode_names_its_serving_versions_and_their_roles(registry: Registry) -> None:
    store, project_id = registry.store, registry.project_id
    v1, v2, v3 = registry.versions
    assert deploy(store, project_id, v1).serving() == ((1, "primary"),)
    assert deploy(store, project_id, v2, mode="ab").serving() == ((1, "primary"), (2, "challenger"))
    shadow = deploy(store, project_id, v3, mode="shadow")
    assert shadow.serving() == ((1, "primary"), (3, "shadow"))
    with pytest.raises(SpecError, match="only a single deployment follows an alias"):
        deploy(store, project_id, v2, mode="canary", alias="champion")
