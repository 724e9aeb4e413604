"""What the route modules share: the service and caller dependencies, paging, the
project check."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Path, Query, Request

from loopml.domain.users import User
from loopml.interfaces.api.auth import current_user, service_of


# async: FastAPI runs a plain ``def`` dependency in its thread pool, a hop per request
async def _service(request: Request) -> Any:
    return service_of(request)


async def _caller(request: Request) -> User:
    return current_user(request)


Service = Annotated[Any, Depends(_service)]
Caller = Annotated[User, Depends(_caller)]
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many items.")]
MAX_INT = 2**31 - 1  # what every store's integer columns and LIMIT/OFFSET take
Offset = Annotated[int, Query(ge=0, le=MAX_INT, description="Skip this many items first (a page).")]
VersionNumber = Annotated[int, Path(ge=1, le=MAX_INT, description="a version number")]


def check_project(service: Any, project: str) -> None:
    """404 unless ``project`` is the project this server serves."""
    if project != service.spec.name:
        raise HTTPException(
            404, f"project '{project}' is not served here; this server serves '{service.spec.name}'"
        )


def base_url(project: str) -> str:
    """Where the project's routes live."""
    return f"/api/v1/projects/{quote(project, safe='')}"
