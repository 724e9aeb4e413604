"""Fail-closed: every route declares a policy, and the auth matrix follows them."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from fastapi.routing import APIRoute
from tests.interfaces.api.conftest import BASE, Server, password

from loopml.domain.users import ROLES
from loopml.interfaces.api.guard import MUTATING
from loopml.interfaces.api.policy import (
    PUBLIC,
    PolicyMissing,
    all_routes,
    check_policies,
    policy_of,
)


def routes(server: Server) -> list[APIRoute]:
    app: Any = server.client.app
    return list(all_routes(app.routes))


def test_every_route_of_the_app_declares_a_policy(server: Server) -> None:
    for route in routes(server):
        assert isinstance(route, APIRoute), route
        assert policy_of(route.endpoint), f"{route.methods} {route.path} has no policy"


def test_a_route_without_a_policy_is_refused_at_build_and_at_call(server: Server) -> None:
    app: Any = server.client.app

    @app.get("/api/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {"secret": "data"}

    with pytest.raises(PolicyMissing, match="/api/v1/forgotten"):
        check_policies(app)
    refused = server.client.get("/api/v1/forgotten", headers=server.auth("admin"))
    assert refused.status_code == 403 and "secret" not in refused.text


def test_anonymous_wrong_password_and_wrong_token_get_401(server: Server) -> None:
    runs = f"/api/v1/projects/{server.project}/runs"
    anonymous = server.client.get(runs)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"]
    bad = {"name": "admin", "password": "not-the-password"}
    assert server.client.post("/api/v1/session", json=bad).status_code == 401
    nobody = {"name": "nobody", "password": password("admin")}
    assert server.client.post("/api/v1/session", json=nobody).status_code == 401
    assert "set-cookie" not in server.client.post("/api/v1/session", json=bad).headers
    for token in ("lml_forged", "not-even-prefixed", server.tokens["admin"] + "x"):
        headers = {"Authorization": f"Bearer {token}"}
        assert server.client.get(runs, headers=headers).status_code == 401
    approve = f"/api/v1/projects/{server.project}/models/bank/versions/1/approve"
    assert server.client.post(approve, json={}).status_code == 401


def _mutating_calls(
    server: Server, role: str | None, versions: Any, keys: Any
) -> dict[tuple[str, str], Any]:
    """How to call each mutating route as ``role`` (None: anonymous, signing in with a
    wrong password): (method, path template) -> request.

    A call that needs state first (a rollback needs a deployment to return from, a
    removed alias must be set) makes it through the service, not the route."""
    base = f"/api/v1/projects/{server.project}"
    prefix = f"{base}/models/bank/versions"
    decision = {"note": "reviewed"}
    auth = server.auth(role) if role else {}
    credentials = {"name": role or "admin", "password": password(role) if role else "wrong"}
    client, service = server.client, server.service
    deploys = itertools.cycle((1, 2))

    def rollback() -> Any:
        service.deploy(f"bank@{next(deploys)}")
        return client.post(f"{base}/deployments/rollback", headers=auth)

    def delete_alias() -> Any:
        service.set_model_alias("bank@1", "staging")
        return client.delete(f"{base}/models/bank/aliases/staging", headers=auth)

    def label() -> Any:
        body = {"labels": [{"key": {"customer_id": f"c{next(keys)}"}, "label": 1}]}
        return client.post(f"{base}/labels", json=body, headers=auth)

    return {
        ("POST", "/api/v1/session"): lambda: client.post("/api/v1/session", json=credentials),
        ("DELETE", "/api/v1/session"): lambda: client.delete("/api/v1/session", headers=auth),
        ("POST", "/api/v1/projects/{project}/models/{name}/versions/{version}/approve"): (
            lambda: client.post(f"{prefix}/{next(versions)}/approve", json=decision, headers=auth)
        ),
        ("POST", "/api/v1/projects/{project}/models/{name}/versions/{version}/reject"): (
            lambda: client.post(f"{prefix}/{next(versions)}/reject", json=decision, headers=auth)
        ),
        ("POST", "/api/v1/projects/{project}/deployments"): lambda: client.post(
            f"{base}/deployments", json={"ref": f"bank@{next(deploys)}"}, headers=auth
        ),
        ("POST", "/api/v1/projects/{project}/deployments/rollback"): rollback,
        ("PUT", "/api/v1/projects/{project}/models/{name}/aliases/{alias}"): lambda: client.put(
            f"{base}/models/bank/aliases/staging", json={"version": 2}, headers=auth
        ),
        ("DELETE", "/api/v1/projects/{project}/models/{name}/aliases/{alias}"): delete_alias,
        ("POST", "/api/v1/projects/{project}/labels"): label,
    }


def test_auth_matrix_each_role_on_every_mutating_route(keyed_server: Server) -> None:
    server = keyed_server
    mutating = {
        (method, route.path): policy_of(route.endpoint)
        for route in routes(server)
        for method in route.methods or ()
        if method in MUTATING
    }
    versions, keys = itertools.count(1), itertools.count(1)
    for role in ROLES:
        calls = _mutating_calls(server, role, versions, keys)
        assert set(calls) == set(mutating), "a mutating route is missing from the matrix"
        for key, call in calls.items():
            allowed = mutating[key] or frozenset()
            response = call()
            server.client.cookies.clear()
            if PUBLIC in allowed or role in allowed:
                assert 200 <= response.status_code < 300, (role, key, response.text)
            else:
                assert response.status_code == 403, (role, key, response.text)
    _assert_signed_by_the_callers(server)


def _assert_signed_by_the_callers(server: Server) -> None:
    """Each change made through the server names the signed-in user who made it."""
    service = server.service
    decided = service.list_events("model.approved")
    assert {e.payload["by"] for e in decided} == {"approver", "admin"}
    deployed = [d.config.get("by") for d in service.list_deployments()]
    assert set(deployed) == {"operator", "admin", None}  # None: the service's own setup
    rolled = service.list_events("deployment.rolled_back")
    assert [e.payload["by"] for e in rolled] == ["operator", "admin"]
    labelled = service.list_events("labels.imported")
    assert [e.payload["labelled_by"] for e in labelled] == ["labeller", "editor", "admin"]
    moved = service.list_events("model.alias_set")
    assert {e.payload["by"] for e in moved} >= {"operator", "admin"}


def test_anonymous_gets_401_on_every_mutating_route(keyed_server: Server) -> None:
    server = keyed_server
    calls = _mutating_calls(server, None, itertools.count(1), itertools.count(1))
    for key, call in calls.items():
        response = call()
        assert response.status_code == 401, (key, response.text)
    assert server.service.list_events("labels.imported") == []
    assert all(d.config.get("by") is None for d in server.service.list_deployments())


def test_roles_are_known_by_the_matrix() -> None:
    assert BASE.startswith("http://127.0.0.1")
    assert ROLES == ("viewer", "labeller", "editor", "approver", "operator", "admin")
