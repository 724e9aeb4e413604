"""The ``/api/v1`` routes: thin, each one parses, calls one service method, encodes.

Reads admit every role; approving or rejecting a version admits approvers and admins
and records the signed-in user as the one who decided; the audit log is for admins.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from loopml.interfaces.api import sessions
from loopml.interfaces.api.auth import secret_of
from loopml.interfaces.api.common import (
    Caller,
    Limit,
    Offset,
    Service,
    VersionNumber,
    check_project,
)
from loopml.interfaces.api.encode import FastJSON, fields_of, plain
from loopml.interfaces.api.policy import ADMINS, APPROVERS, PUBLIC, READERS, allow

router = APIRouter(prefix="/api/v1")


class Credentials(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class Decision(BaseModel):
    note: str = Field(default="", max_length=5000)


@router.post("/session")
@allow(PUBLIC)
def login(body: Credentials, request: Request, response: Response, service: Service) -> Any:
    """Sign in: sets an HttpOnly, SameSite=Strict session cookie; returns its CSRF token,
    to send as ``X-CSRF-Token`` on every POST, PUT, PATCH and DELETE."""
    request.state.audit_target = f"session of {body.name}"
    user = service.authenticate(body.name, body.password)
    if user is None:
        raise HTTPException(401, "wrong user name or password")
    request.state.user_name = user.name
    cookie = sessions.issue(secret_of(request), user.name)
    response.set_cookie(
        sessions.COOKIE,
        cookie,
        max_age=sessions.LIFETIME_S,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    token = sessions.csrf_token(secret_of(request), cookie)
    return {"name": user.name, "role": user.role, "csrf_token": token}


@router.get("/session")
@allow(*READERS)
def whoami(request: Request, user: Caller) -> Any:
    """The signed-in user, and the CSRF token of its cookie session (if any)."""
    cookie = request.cookies.get(sessions.COOKIE)
    token = sessions.csrf_token(secret_of(request), cookie) if cookie else None
    return {"name": user.name, "role": user.role, "csrf_token": token}


@router.delete("/session")
@allow(*READERS)
def logout(response: Response, user: Caller) -> Any:
    """Sign out: the session cookie is cleared."""
    response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="strict")
    return {"name": user.name, "signed_out": True}


@router.get("/projects")
@allow(*READERS)
def projects(service: Service) -> Any:
    """Every project in the store."""
    return {"projects": plain(service.store.list_projects()), "served": service.spec.name}


@router.get("/projects/{project}/runs", response_class=FastJSON)
@allow(*READERS)
def runs(
    project: str,
    service: Service,
    where: Annotated[
        list[str], Query(default_factory=list, description="`roc_auc > 0.8`, repeatable")
    ],
    metric: Annotated[list[str], Query(default_factory=list, description="a metric column")],
    sort: Annotated[str | None, Query(description="a metric or name/status/duration")] = None,
    parent: str | None = None,
    status: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
    count: Annotated[bool, Query(description="count the matches of every page (total)")] = True,
) -> Any:
    """Runs filtered with the `loopml runs --where` language, sorted and paged by the store;
    `total` counts every page's matches (null with `count=false`, which spares the store
    a pass over them: a page alone takes the same time among 1,000 runs or 10,000)."""
    check_project(service, project)
    table = service.search_runs(
        where,
        status=status,
        parent=parent,
        order_by=sort,
        metrics=metric,
        limit=limit,
        offset=offset,
        count=count,
    )
    rows = [{**fields_of(r), "metrics": table.metrics.get(r.run_id, {})} for r in table.runs]
    page = {"runs": rows, "metric_keys": table.metric_keys, "total": table.total}
    return FastJSON({**page, "limit": limit, "offset": offset})


@router.get("/projects/{project}/runs/{run_id}")
@allow(*READERS)
def run(project: str, run_id: str, service: Service) -> Any:
    """One run (an id or a unique prefix) with every metric value it logged."""
    check_project(service, project)
    found, metrics = service.get_run(run_id)
    return {**plain(found), "metric_values": plain(metrics)}


@router.get("/projects/{project}/models")
@allow(*READERS)
def models(project: str, service: Service) -> Any:
    """The project's model versions, newest first, with their approval status."""
    check_project(service, project)
    versions = service.list_models_with_status()
    return {"versions": [{**plain(v), "status": status} for v, status in versions]}


@router.get("/projects/{project}/events")
@allow(*READERS)
def events(
    project: str,
    service: Service,
    kind: str | None = None,
    newest_first: bool = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Any:
    """The project's events (gate verdicts, approvals, deployments, alerts), oldest first
    (or newest), a page of them and how many there are (paged by the store)."""
    check_project(service, project)
    found = service.list_events(kind, limit=limit, offset=offset, newest_first=newest_first)
    total = service.count_events(kind)
    return {"events": plain(found), "total": total, "limit": limit, "offset": offset}


@router.get("/projects/{project}/deployments")
@allow(*READERS)
def deployments(project: str, service: Service) -> Any:
    """The project's deployments, newest first, with their traffic configuration."""
    check_project(service, project)
    return {"deployments": plain(service.list_deployments())}


@router.post("/projects/{project}/models/{name}/versions/{version}/approve")
@allow(*APPROVERS)
def approve(
    project: str, name: str, version: VersionNumber, body: Decision, service: Service, user: Caller
) -> Any:
    """Approve a version as the signed-in user: it becomes the champion."""
    check_project(service, project)
    return plain(service.approve_model(f"{name}@{version}", by=user.name, note=body.note))


@router.post("/projects/{project}/models/{name}/versions/{version}/reject")
@allow(*APPROVERS)
def reject(
    project: str, name: str, version: VersionNumber, body: Decision, service: Service, user: Caller
) -> Any:
    """Reject a version as the signed-in user (a note saying why is required)."""
    check_project(service, project)
    return plain(service.reject_model(f"{name}@{version}", by=user.name, note=body.note))


@router.get("/audit")
@allow(*ADMINS)
def audit(service: Service, limit: Limit = 100, offset: Offset = 0) -> Any:
    """The audit log, newest first: who did what, from where, when, with what outcome."""
    return {"entries": plain(service.list_audit(limit=limit, offset=offset))}
