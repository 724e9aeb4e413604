"""Build the team server's ASGI app over one project service."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from loopml.errors import (
    ConflictError,
    DataError,
    LoopMLError,
    NotFoundError,
    SpecError,
)
from loopml.interfaces.api import (
    data_routes,
    pages,
    project_routes,
    registry_routes,
    report_routes,
    serving_routes,
)
from loopml.interfaces.api.auth import enforce
from loopml.interfaces.api.guard import Guard
from loopml.interfaces.api.policy import PUBLIC, allow, check_policies
from loopml.interfaces.api.routes import router

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (NotFoundError, 404),
    (ConflictError, 409),
    (SpecError, 422),
    (DataError, 422),
    (LoopMLError, 500),
    (ValueError, 400),
)


def build_app(service: Any, *, allowed_hosts: Collection[str] = LOCAL_HOSTS) -> FastAPI:
    """The ASGI app: ``/api/v1`` over ``service``, every request through ``Guard``.

    ``allowed_hosts`` are the names the server answers to (the Host header). Raises
    PolicyMissing when a route declares no policy.
    """
    app = FastAPI(
        title="loopml team server",
        version="1",
        docs_url=None,  # the docs pages load scripts from a CDN: nothing is fetched
        redoc_url=None,
        openapi_url=None,  # served below, under a policy like every route
        dependencies=[Depends(enforce)],
    )
    app.state.service = service
    app.state.session_secret = service.session_secret()
    for extra in (project_routes, data_routes, registry_routes, serving_routes, report_routes):
        app.include_router(extra.router)  # before routes': /runs/compare is not a run id
    app.include_router(router)
    app.include_router(pages.router)  # the web UI: /, /static/...

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    @allow(PUBLIC)
    def openapi() -> Any:
        return app.openapi()

    for error, status in _STATUS:
        app.add_exception_handler(error, _handler(status))
    app.add_middleware(Guard, allowed_hosts=allowed_hosts, audit=service.audit)
    check_policies(app)
    return app


def _handler(status: int) -> Any:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status)

    return handle
