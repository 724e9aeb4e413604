"""A version with its lineage from source snapshot to predictions (read by every role),
and aliases moved or removed by operators and admins, as the signed-in user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from loopml.interfaces.api.common import Caller, Service, VersionNumber, check_project
from loopml.interfaces.api.encode import plain
from loopml.interfaces.api.policy import OPERATORS, READERS, allow

router = APIRouter(prefix="/api/v1/projects/{project}/models/{name}")


class AliasTarget(BaseModel):
    version: int = Field(ge=1, description="the version the alias names from now on")


@router.get("/versions/{version}")
@allow(*READERS)
def version(project: str, name: str, version: VersionNumber, service: Service) -> Any:
    """A version, its status, aliases and stage history, and its lineage ``chain``:
    snapshot (sources, hashes), run, gate verdict, approvals, deployments, predictions."""
    check_project(service, project)
    found = service.version_lineage(f"{name}@{version}")
    details = found.pop("details")
    return {
        **plain(details.version),
        "status": details.status,
        "history": plain(details.history),
        "output_schema": plain(details.output_schema),
        "chain": plain(found),
    }


@router.put("/aliases/{alias}")
@allow(*OPERATORS)
def set_alias(
    project: str, name: str, alias: str, body: AliasTarget, service: Service, user: Caller
) -> Any:
    """Point ``alias`` at a version (``champion`` only for one that may be champion)."""
    check_project(service, project)
    moved = service.set_model_alias(f"{name}@{body.version}", alias, by=user.name)
    return {"alias": alias, "version": plain(moved)}


@router.delete("/aliases/{alias}")
@allow(*OPERATORS)
def delete_alias(project: str, name: str, alias: str, service: Service, user: Caller) -> Any:
    """Remove ``alias`` (never ``champion``: move it instead)."""
    check_project(service, project)
    version = service.delete_model_alias(name, alias, by=user.name)
    return {"alias": alias, "deleted": True, "version": version}
