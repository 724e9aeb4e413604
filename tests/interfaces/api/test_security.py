"""Cookie sessions, CSRF, Host and Origin checks, security headers, the audit log."""

from __future__ import annotations

from tests.interfaces.api.conftest import Server, password

from loopml.interfaces.api import sessions


def login(server: Server, role: str) -> str:
    response = server.client.post(
        "/api/v1/session", json={"name": role, "password": password(role)}
    )
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    token: str = response.json()["csrf_token"]
    return token


def approve_path(server: Server, version: int) -> str:
    return f"/api/v1/projects/{server.project}/models/bank/versions/{version}/approve"


def test_a_cookie_session_needs_its_csrf_token_on_every_write(server: Server) -> None:
    csrf = login(server, "approver")
    me = server.client.get("/api/v1/session")
    assert me.json() == {"name": "approver", "role": "approver", "csrf_token": csrf}
    missing = server.client.post(approve_path(server, 1), json={})
    assert missing.status_code == 403 and "X-CSRF-Token" in missing.text
    wrong = server.client.post(approve_path(server, 1), json={}, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    done = server.client.post(approve_path(server, 1), json={}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200, done.text
    assert server.client.delete("/api/v1/session").status_code == 403  # logout is a write too
    out = server.client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 200
    server.client.cookies.clear()
    assert server.client.get("/api/v1/session").status_code == 401


def test_forged_expired_and_orphaned_cookies_are_refused(server: Server) -> None:
    secret = server.service.session_secret()
    forged = sessions.issue(b"another secret", "admin")
    expired = sessions.issue(secret, "admin", now=0)
    valid = sessions.issue(secret, "admin")
    tampered = valid[:-1] + ("1" if valid.endswith("0") else "0")
    for value in (forged, expired, "garbage", tampered, "x" + valid):
        server.client.cookies.set(sessions.COOKIE, value)
        assert server.client.get("/api/v1/session").status_code == 401, value
    server.client.cookies.set(sessions.COOKIE, sessions.issue(secret, "viewer"))
    assert server.client.get("/api/v1/session").json()["name"] == "viewer"
    server.service.remove_user("viewer")  # removing a user ends its sessions
    assert server.client.get("/api/v1/session").status_code == 401


def test_foreign_hosts_and_origins_are_refused(server: Server) -> None:
    rebound = server.client.get("/api/v1/projects", headers={"Host": "evil.example:5000"})
    assert rebound.status_code == 400 and "evil.example" in rebound.text
    ok = server.client.get(
        "/api/v1/projects", headers={"Host": "localhost:5000", **server.auth("viewer")}
    )
    assert ok.status_code == 200
    headers = {"Origin": "http://evil.example", **server.auth("approver")}
    cross = server.client.post(approve_path(server, 2), json={}, headers=headers)
    assert cross.status_code == 403 and "origin" in cross.text
    same = {"Origin": "http://127.0.0.1", **server.auth("approver")}
    assert server.client.post(approve_path(server, 2), json={}, headers=same).status_code == 200


def test_every_response_carries_the_security_headers(server: Server) -> None:
    responses = [
        server.client.get("/api/v1/projects"),  # 401
        server.client.get("/api/v1/projects", headers={"Host": "evil.example"}),  # 400
        server.client.get("/api/v1/projects", headers=server.auth("viewer")),  # 200
        server.client.get("/api/v1/openapi.json"),
    ]
    for response in responses:
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_every_write_is_audited_with_who_what_where_and_outcome(server: Server) -> None:
    server.client.post("/api/v1/session", json={"name": "admin", "password": "wrong-one"})
    server.client.post(approve_path(server, 3), json={"note": "ok"}, headers=server.auth("viewer"))
    server.client.post(
        approve_path(server, 3), json={"note": "ok"}, headers=server.auth("approver")
    )
    server.client.get("/api/v1/projects", headers=server.auth("viewer"))  # a read: not audited
    assert server.client.get("/api/v1/audit", headers=server.auth("operator")).status_code == 403
    entries = server.client.get("/api/v1/audit", headers=server.auth("admin")).json()["entries"]
    seen = [(e["user"], e["action"].split(" ")[0], e["outcome"]) for e in entries]
    assert seen == [("approver", "POST", "200"), ("viewer", "POST", "403"), ("", "POST", "401")]
    assert entries[2]["target"] == "session of admin"
    assert entries[0]["action"] == f"POST {approve_path(server, 3)}"
    assert all(e["client"] == "testclient" and e["at"] for e in entries)
