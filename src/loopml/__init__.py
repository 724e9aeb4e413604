"""loopml: the machine-learning lifecycle for tabular data, from one project spec.

The public Python API. Heavy modules load on first use, so importing loopml is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["ProjectService", "__version__", "init_project", "open_project"]

if TYPE_CHECKING:
    from loopml.service import ProjectService, init_project


def open_project(project_dir: str = ".") -> ProjectService:
    """Open the project whose ``loopml.yaml`` is in ``project_dir``."""
    from loopml.service import ProjectService

    return ProjectService.open(project_dir)


def __getattr__(name: str) -> Any:
    if name in {"ProjectService", "init_project"}:
        from loopml import service

        return getattr(service, name)
    raise AttributeError(f"module 'loopml' has no attribute {name!r}")
