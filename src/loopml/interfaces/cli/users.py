"""`loopml users ...`: the team server's users, their roles and API tokens.

loopml users add alice --role approver          # the password is asked twice
echo "$PW" | loopml users add ci --role editor --password-stdin
loopml users token ci                           # a new API token, shown once
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from loopml.domain.users import ROLES
from loopml.interfaces.cli import render
from loopml.interfaces.cli.common import ProjectDir, handles_errors, open_service

users_app = typer.Typer(
    help=f"Users of `loopml ui`, one role each ({', '.join(ROLES)}).", no_args_is_help=True
)


def _audit(service: Any, action: str, target: str) -> None:
    """Record a local change of users in the audit log (the OS account as the user)."""
    try:
        account = getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment
        account = "unknown"
    service.audit(f"local:{account}", f"loopml users {action}", target, "cli", "ok")


def _read_password(name: str, from_stdin: bool) -> str:
    """The password from stdin's first line, or asked twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("add")
@handles_errors
def add(
    name: Annotated[str, typer.Argument(help="The user's name (letters, digits, . _ @ -).")],
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin's first line.")
    ] = False,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Add a user with ROLE; there is no default password: it is asked for (twice)."""
    service = open_service(project_dir)
    user = service.add_user(name, role, _read_password(name, password_stdin))
    _audit(service, "add", f"{user.name} as {user.role}")
    render.done(f"added {user.name} as {user.role}")


@users_app.command("list")
@handles_errors
def list_(project_dir: ProjectDir = Path(".")) -> None:
    """The users, their roles and when each was added."""
    users = open_service(project_dir).list_users()
    if not users:
        render.console.print("no users yet: `loopml users add NAME --role admin`")
        return
    table = Table("user", "role", "added")
    for user in users:
        table.add_row(escape(user.name), user.role, f"{user.created_at:%Y-%m-%d %H:%M}")
    render.console.print(table)


@users_app.command("token")
@handles_errors
def token(
    name: Annotated[str, typer.Argument(help="The user the token acts as.")],
    project_dir: ProjectDir = Path("."),
) -> None:
    """Make a new API token for NAME and print it once (send it as `Authorization:
    Bearer TOKEN`); only its hash is kept, so it cannot be shown again."""
    service = open_service(project_dir)
    value = service.issue_token(name)
    _audit(service, "token", name)
    typer.echo(value)


@users_app.command("remove")
@handles_errors
def remove(
    name: Annotated[str, typer.Argument(help="The user to remove, with all its tokens.")],
    project_dir: ProjectDir = Path("."),
) -> None:
    """Remove NAME and every token it holds."""
    service = open_service(project_dir)
    service.remove_user(name)
    _audit(service, "remove", name)
    render.done(f"removed {name} and its tokens")
