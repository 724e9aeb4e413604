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


def _mutating_calls(server: Server, role: str, versions: Any) -> dict[tuple[str, str], Any]:
    """How to call each mutating route as ``role``: (method, path template) -> request."""
    prefix = f"/api/v1/projects/{server.project}/models/bank/versions"
    decision = {"note": "reviewed"}
    return {
        ("POST", "/api/v1/session"): lambda: server.client.post(
            "/api/v1/session", json={"name": role, "password": password(role)}
        ),
        ("DELETE", "/api/v1/session"): lambda: server.client.delete(
            "/api/v1/session", headers=server.auth(role)
        ),
        ("POST", "/api/v1/projects/{project}/models/{name}/versions/{version}/approve"): (
            lambda: server.client.post(
                f"{prefix}/{next(versions)}/approve", json=decision, headers=server.auth(role)
            )
        ),
        ("POST", "/api/v1/projects/{project}/models/{name}/versions/{version}/reject"): (
            lambda: server.client.post(
                f"{prefix}/{next(versions)}/reject", json=decision, headers=server.auth(role)
            )
        ),
    }


def test_auth_matrix_each_role_on_every_mutating_route(server: Server) -> None:
    mutating = {
        (method, route.path): policy_of(route.endpoint)
        for route in routes(server)
        for method in route.methods
        if method in MUTATING
    }
    versions = itertools.count(1)
    for role in ROLES:
        calls = _mutating_calls(server, role, versions)
        assert set(calls) == set(mutating), "a mutating route is missing from the matrix"
        for key, call in calls.items():
            allowed = mutating[key] or frozenset()
            response = call()
            server.client.cookies.clear()
            if PUBLIC in allowed or role in allowed:
                assert 200 <= response.status_code < 300, (role, key, response.text)
            else:
                assert response.status_code == 403, (role, key, response.text)
    decided = server.service.list_events("model.approved")
    assert {e.payload["by"] for e in decided} == {"approver", "admin"}


def test_roles_are_known_by_the_matrix() -> None:
    assert BASE.startswith("http://127.0.0.1")
    assert ROLES == ("viewer", "labeller", "editor", "approver", "operator", "admin")
