"""The ASGI layer around every request: Host and Origin checks, security headers, audit.

- ``Host`` must name one of the allowed hosts (DNS rebinding: a page on another name that
  resolves to 127.0.0.1 is refused with 400 before any route runs).
- A mutating request (POST, PUT, PATCH, DELETE) with an ``Origin`` of another host is
  refused with 403.
- Every response carries a Content-Security-Policy without inline script,
  ``X-Frame-Options: DENY``, ``nosniff``, no referrer and no caching. A response that
  sets its own Content-Security-Policy (an HTML report, sandboxed) keeps it and its own
  ``X-Frame-Options``; the other headers are added all the same.
- Every mutating request, allowed or not, writes an audit entry: who (the user a route's
  policy check found, else empty), what (method and path), where (the client address),
  when, and the outcome (the HTTP status).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; object-src 'none'; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]
OWN_POLICY = frozenset({b"content-security-policy", b"x-frame-options"})
Audit = Callable[[str, str, str, str, str], None]


def hostname(value: str) -> str:
    """The host name of a ``Host`` header or an origin's netloc, lowercase, port dropped."""
    return (urlsplit(f"//{value}").hostname or "").lower()


class Guard:
    """Wraps the app: refuses foreign hosts and origins, adds headers, audits writes."""

    def __init__(self, app: Any, *, allowed_hosts: Collection[str], audit: Audit) -> None:
        self.app = app
        self.allowed = {h.lower() for h in allowed_hosts}
        self.audit = audit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        status = {"code": 500}

        async def send_secured(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = _secured(message.get("headers", []))
            await send(message)

        refusal = self._refusal(scope["method"], headers)
        if refusal is None:
            await self.app(scope, receive, send_secured)
        else:
            await _reply(send_secured, *refusal)
        if scope["method"] in MUTATING:
            await self._record(scope, status["code"])

    def _refusal(self, method: str, headers: dict[str, str]) -> tuple[int, str] | None:
        host = hostname(headers.get("host", ""))
        if host not in self.allowed:
            shown = ", ".join(sorted(self.allowed))
            return 400, f"Host '{host}' is not served here (allowed: {shown}; see --allow-host)"
        origin = headers.get("origin")
        foreign = origin is not None and hostname(urlsplit(origin).netloc) != host
        if method in MUTATING and foreign:
            return 403, f"a request from origin '{origin}' may not change anything here"
        return None

    async def _record(self, scope: dict[str, Any], code: int) -> None:
        state = scope.get("state") or {}
        client = scope.get("client")
        where = client[0] if client else ""
        entry = (
            str(state.get("user_name", "")),
            f"{scope['method']} {scope['path']}",
            str(state.get("audit_target", scope["path"])),
            where,
            str(code),
        )
        await anyio.to_thread.run_sync(lambda: self.audit(*entry))


def _secured(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` with the security headers added: all of them, unless the response
    set its own Content-Security-Policy, which then stands with its X-Frame-Options."""
    own = any(k.lower() == b"content-security-policy" for k, _ in headers)
    added = [(k, v) for k, v in SECURITY_HEADERS if not (own and k in OWN_POLICY)]
    return [*headers, *added]


async def _reply(send: Any, code: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
