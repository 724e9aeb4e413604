"""What every CLI command shares: the project folder option, error handling, the service."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from loopml.interfaces.cli import render

F = TypeVar("F", bound=Callable[..., Any])
ProjectDir = Annotated[
    Path, typer.Option("--dir", "-C", help="Project folder (default: the current one).")
]


def handles_errors(func: F) -> F:
    """Turn loopml errors into a red message and the documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from loopml.errors import LoopMLError, exit_code_for

        try:
            return func(*args, **kwargs)
        except LoopMLError as exc:
            render.error(str(exc))
            raise typer.Exit(exit_code_for(exc)) from None
        except KeyboardInterrupt:
            render.error("interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def open_service(project_dir: Path) -> Any:
    from loopml.service import ProjectService

    return ProjectService.open(project_dir)
