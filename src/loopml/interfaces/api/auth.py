"""Who is calling: an API token (``Authorization: Bearer TOKEN``) or a session cookie.

``enforce`` is the dependency every route of the app runs. It finds the caller, applies
the matched endpoint's policy (``policy``) and, for a cookie session, requires the CSRF
token on every mutating verb. The user lands in ``request.state.user`` (and its name in
``request.state.user_name``, which the audit entry reads).
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request

from loopml.domain.users import User
from loopml.interfaces.api import sessions
from loopml.interfaces.api.guard import MUTATING
from loopml.interfaces.api.policy import PUBLIC, policy_of

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="loopml"'}


def service_of(request: Request) -> Any:
    """The project service the app was built over."""
    return request.app.state.service


def secret_of(request: Request) -> bytes:
    secret: bytes = request.app.state.session_secret
    return secret


def caller(request: Request) -> tuple[User | None, str]:
    """The calling user (or None) and how it came: ``token``, ``cookie`` or ``""``."""
    service = service_of(request)
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return service.user_for_token(credentials.strip()), "token"
    cookie = request.cookies.get(sessions.COOKIE)
    if cookie:
        name = sessions.verify(secret_of(request), cookie)
        return (service.find_user(name) if name else None), "cookie"
    return None, ""


def enforce(request: Request) -> None:
    """Apply the matched endpoint's policy: 401 anonymous, 403 wrong role or no CSRF."""
    roles = policy_of(request.scope.get("endpoint"))
    if roles is None:
        raise HTTPException(403, "this route declares no policy, so nobody may call it")
    user, via = caller(request)
    if user is not None:
        request.state.user = user
        request.state.user_name = user.name
    if PUBLIC in roles:
        return
    if user is None:
        raise HTTPException(
            401, "sign in (POST /api/v1/session) or send a Bearer token", headers=_CHALLENGE
        )
    if user.role not in roles:
        raise HTTPException(
            403, f"{user.name} is {user.role}; this needs one of: {', '.join(sorted(roles))}"
        )
    if via == "cookie" and request.method in MUTATING:
        cookie = request.cookies.get(sessions.COOKIE, "")
        if not sessions.csrf_ok(
            secret_of(request), cookie, request.headers.get(sessions.CSRF_HEADER)
        ):
            raise HTTPException(403, "missing or wrong X-CSRF-Token for this session")


def current_user(request: Request) -> User:
    """The signed-in user of a non-public route (``enforce`` has checked it)."""
    user: User = request.state.user
    return user
