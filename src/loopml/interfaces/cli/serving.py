"""`loopml serve`, `predict`, `deploy`, `rollback`, `deployments` and `package`.

`serve` runs the model server in the foreground (SIGTERM flushes the prediction log);
`deploy` and `rollback` change what a running server answers with, without a restart;
`predict` scores a file in chunks; `package` writes a folder that serves one version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from loopml.interfaces.cli import render
from loopml.interfaces.cli.common import ProjectDir, handles_errors, open_service
from loopml.interfaces.cli.render import console

MODES = ("single", "shadow", "ab", "canary")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `loopml` app."""
    app.command()(serve)
    app.command()(predict)
    app.command()(deploy)
    app.command()(rollback)
    app.command()(deployments)
    app.command()(package)


@handles_errors
def serve(
    model: Annotated[str | None, typer.Argument(help="NAME@ALIAS or NAME@VERSION.")] = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "",
    port: Annotated[int, typer.Option(help="Port (default: serve.port in the spec).")] = 0,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Serve the active deployment (else MODEL, default the champion) on 127.0.0.1.

    Served from an alias (the default champion, or NAME@ALIAS), the server follows it:
    a promotion is answered within serve.watch_interval_s, without a restart.

    Routes: POST /predict, POST /explain, POST /feedback, GET /health, /ready, /metrics,
    /docs. Set LOOPML_TOKEN to require `Authorization: Bearer TOKEN` on /predict,
    /explain, /feedback and /admin.
    """
    from loopml.serve.server import run_server

    service = open_service(project_dir)
    host = host or service.spec.serve.host
    port = port or service.spec.serve.port
    app_, version = service.serving_app(model)
    url = f"http://{host}:{port}"
    deployment_id = service.start_serving(version, url, model)
    render.serving(version, url)
    try:
        run_server(app_, host=host, port=port)
    finally:
        service.stop_serving(deployment_id)


@handles_errors
def predict(
    args: Annotated[list[str], typer.Argument(help="[NAME@ALIAS] INPUT OUTPUT", metavar="ARGS")],
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", min=1, help="Rows read and scored at a time.")
    ] = 100_000,
    errors: Annotated[
        Path | None,
        typer.Option(
            "--errors", help="Write every refused, imputed or unseen value here (.csv/.parquet)."
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Processes scoring parts of a Parquet INPUT at once.")
    ] = 1,
    cluster: Annotated[
        str | None,
        typer.Option(
            help="Score the parts on a Dask cluster: local, local:N or tcp://host:port "
            "(default: the cluster setting, LOOPML_CLUSTER). A remote cluster reads INPUT "
            "from object storage.",
        ),
    ] = None,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Score a file: `loopml predict [NAME@ALIAS] INPUT OUTPUT` (.csv or .parquet out).

    INPUT and OUTPUT may be URLs (s3://bucket/in.parquet). A Parquet INPUT is scored by
    parts of its row groups with --workers N, --cluster, or a URL, the parts written to
    OUTPUT in order. Rows are checked against the model's schema first (serve.invalid,
    serve.unknown in loopml.yaml): refused rows get no prediction and make the exit
    status 1; imputed values and unseen categories are summarised as warnings."""
    if len(args) not in (2, 3):
        render.error("usage: loopml predict [NAME@ALIAS] INPUT OUTPUT")
        raise typer.Exit(2)
    ref = args[0] if len(args) == 3 else None
    source, output = args[-2], args[-1]  # text: a URL keeps its "//"
    service = open_service(project_dir)
    with render.RowProgress("scoring") as progress:
        result = service.predict_file(
            ref,
            source,
            output,
            chunk_rows=chunk_rows,
            progress=progress.update,
            errors=errors,
            workers=workers,
            cluster=cluster,
        )
    render.input_problems(result.report, errors)
    refused = len(result.report.refused_rows)
    if refused:
        render.error(
            f"{refused} of {result.rows} row(s) refused (no prediction); wrote {result.scored} "
            f"predictions to {output}"
        )
        raise typer.Exit(1)
    render.done(f"wrote {result.rows} predictions to {output}")


@handles_errors
def deploy(
    model: Annotated[str, typer.Argument(help="NAME@VERSION or NAME@ALIAS to deploy.")],
    mode: Annotated[
        str, typer.Option(help="single, shadow, ab or canary (the last three: a challenger).")
    ] = "single",
    percent: Annotated[
        float | None, typer.Option(help="Challenger's share of traffic (ab 50, canary 5).")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="Input field whose value keeps a caller on one model.")
    ] = None,
    pin: Annotated[
        bool, typer.Option(help="With NAME@ALIAS: keep the version it names now, not its moves.")
    ] = False,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Deploy a version: running servers switch within a second, without a restart.

    In mode single, NAME@ALIAS (e.g. bank@champion) is followed: when the alias moves,
    running servers answer with the new version (within serve.watch_interval_s)."""
    from loopml.serve.deploy import describe

    service = open_service(project_dir)
    deployment = service.deploy(model, mode, percent=percent, key=key, follow=not pin)
    render.done(f"deployed {describe(deployment)}  (id {deployment.deployment_id})")


@handles_errors
def rollback(project_dir: ProjectDir = Path(".")) -> None:
    """Return to the previous deployment; running servers follow without a restart."""
    from loopml.serve.deploy import describe

    rolled, restored = open_service(project_dir).rollback()
    render.done(f"rolled back {describe(rolled)}; serving {describe(restored)} again")


@handles_errors
def deployments(project_dir: ProjectDir = Path(".")) -> None:
    """List the project's deployments, newest first."""
    from loopml.serve.deploy import describe

    rows = open_service(project_dir).list_deployments()
    if not rows:
        console.print("no deployments yet: `loopml deploy NAME@VERSION` or `loopml serve`")
        return
    table = Table(title="deployments", title_justify="left")
    for column in ("id", "status", "deployment", "created"):
        table.add_column(column)
    for d in rows:
        created = d.created_at.strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(d.deployment_id[:12], d.status, describe(d), created)
    console.print(table)


@handles_errors
def package(
    model: Annotated[str | None, typer.Argument(help="NAME@VERSION or NAME@ALIAS.")] = None,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder to write (default: NAME-VERSION).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing folder.")] = False,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Write a folder that serves one version: model, requirements, Dockerfile.

    `python serve.py --port 8080` in the folder runs the server without a project store.
    """
    service = open_service(project_dir)
    if output is None:
        version, _ = service.load_model(model)
        output = Path(f"{version.name}-{version.version}")
    path = service.package_model(model, output, force=force)
    render.done(f"wrote {path}  (run: cd {path} && python serve.py --port 8080)")
