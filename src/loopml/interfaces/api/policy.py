"""Who may call a route: every endpoint declares its policy, or the app refuses to build.

``@allow(*roles)`` names the roles a route admits (``PUBLIC`` admits anyone, signed in
or not). The one dependency ``enforce`` reads the matched endpoint's policy on every
request: anonymous callers of a non-public route get 401, a role outside the policy 403,
and an endpoint without a policy (which ``check_policies`` keeps out) 403 as well.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.routing import APIRoute

from loopml.domain.users import ROLES

F = TypeVar("F", bound=Callable[..., Any])
POLICY_ATTR = "__loopml_policy__"
PUBLIC = "public"
READERS = ROLES  # every signed-in user may read
APPROVERS = ("approver", "admin")
OPERATORS = ("operator", "admin")  # deploy, roll back, move aliases
LABELLERS = ("labeller", "editor", "admin")
EDITORS = ("editor", "admin")
ADMINS = ("admin",)


class PolicyMissing(RuntimeError):
    """A route of the team server declares no policy: the app is not built."""


def allow(*roles: str) -> Callable[[F], F]:
    """Declare the roles that may call the decorated endpoint (or ``PUBLIC`` alone)."""
    unknown = [r for r in roles if r not in ROLES and r != PUBLIC]
    if not roles or unknown or (PUBLIC in roles and len(roles) > 1):
        raise ValueError(
            f"allow() takes PUBLIC alone or roles among {', '.join(ROLES)}; got {roles}"
        )

    def mark(endpoint: F) -> F:
        setattr(endpoint, POLICY_ATTR, frozenset(roles))
        return endpoint

    return mark


def policy_of(endpoint: Any) -> frozenset[str] | None:
    """The roles an endpoint admits (``{PUBLIC}`` for anyone), or None if undeclared."""
    found = getattr(endpoint, POLICY_ATTR, None)
    return found if isinstance(found, frozenset) else None


def all_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every route, those of included routers and mounts too (flattened)."""
    for route in routes:
        inner = getattr(getattr(route, "original_router", None), "routes", None)
        if inner is None and not isinstance(route, APIRoute):
            inner = getattr(route, "routes", None)
        if inner is None:
            yield route
        else:
            yield from all_routes(inner)


def check_policies(app: FastAPI) -> None:
    """Raise PolicyMissing naming every route that is not an API route with a policy."""
    missing = []
    for route in all_routes(app.routes):
        endpoint = getattr(route, "endpoint", None)
        if not isinstance(route, APIRoute) or policy_of(endpoint) is None:
            methods = ",".join(sorted(getattr(route, "methods", None) or ["*"]))
            missing.append(f"{methods} {getattr(route, 'path', route)!r}")
    if missing:
        raise PolicyMissing(
            "routes without a policy (decorate each endpoint with @allow(...)): "
            + "; ".join(missing)
        )
