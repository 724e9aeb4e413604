"""Deploying and rolling back (operators and admins, recorded as the signed-in user) and
the monitoring windows (read by every role; nothing is judged into events or acted on)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from loopml.interfaces.api.common import Caller, Service, check_project
from loopml.interfaces.api.encode import plain
from loopml.interfaces.api.policy import OPERATORS, READERS, allow

router = APIRouter(prefix="/api/v1/projects/{project}")


class Deploy(BaseModel):
    ref: str = Field(min_length=3, max_length=300, description="NAME@VERSION or NAME@ALIAS")
    mode: Literal["single", "shadow", "ab", "canary"] = "single"
    percent: float | None = Field(default=None, ge=0, le=100)
    key: str | None = Field(default=None, min_length=1, max_length=300)
    pin: bool = Field(default=False, description="single from an alias: keep today's version")


@router.post("/deployments")
@allow(*OPERATORS)
def deploy(project: str, body: Deploy, request: Request, service: Service, user: Caller) -> Any:
    """Deploy a version in mode single, shadow, ab or canary; the deployment records who."""
    check_project(service, project)
    request.state.audit_target = f"deploy {body.ref} {body.mode}"
    deployment = service.deploy(
        body.ref,
        body.mode,
        percent=body.percent,
        key=body.key,
        follow=not body.pin,
        by=user.name,
    )
    return plain(deployment)


@router.post("/deployments/rollback")
@allow(*OPERATORS)
def rollback(project: str, service: Service, user: Caller) -> Any:
    """Return to the deployment the active one replaced."""
    check_project(service, project)
    rolled, restored = service.rollback(by=user.name)
    return {"rolled_back": plain(rolled), "restored": plain(restored)}


@router.get("/monitoring")
@allow(*READERS)
def monitoring(project: str, service: Service) -> Any:
    """Each serving version's windows (drift per feature, live metric, latency, errors,
    alert) and staleness, judged from the logged traffic without acting on it."""
    check_project(service, project)
    return plain(service.monitoring_summary())
