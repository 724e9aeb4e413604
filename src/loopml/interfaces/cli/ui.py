"""`loopml ui`: the team server (the web UI at /, its REST API under /api/v1) over the
project's store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loopml.interfaces.cli import render
from loopml.interfaces.cli.common import ProjectDir, handles_errors, open_service


def register(app: typer.Typer) -> None:
    app.command("ui")(ui)


@handles_errors
def ui(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
    allow_host: Annotated[
        list[str] | None,
        typer.Option("--allow-host", help="Another name clients reach it by (repeat)."),
    ] = None,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Serve the team server: the web UI and its API; sign in as a user of `loopml users`."""
    import uvicorn

    from loopml.interfaces.api import build_app
    from loopml.interfaces.api.app import LOCAL_HOSTS

    service = open_service(project_dir)
    if not service.list_users():
        render.error("no users yet: add one first with `loopml users add NAME --role admin`")
        raise typer.Exit(2)
    hosts = [*LOCAL_HOSTS, *(allow_host or [])]
    if host not in ("0.0.0.0", "::"):  # noqa: S104 - compared, not bound
        hosts.append(host)
    render.done(f"web UI on http://{host}:{port}/ (API /api/v1; answers to {', '.join(hosts)})")
    uvicorn.run(build_app(service, allowed_hosts=hosts), host=host, port=port, log_level="info")
