"""loopml: the machine-learning lifecycle for tabular data, from one project spec.

The public Python API. Heavy modules load on first use, so importing loopml is cheap.

Tracking from any script (see ``loopml.tracking.client``)::

    import loopml

    with loopml.start_run("train", params={"lr": 0.1}):
        loopml.log_metric("loss", 0.25, step=1)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = [
    "ActiveRun",
    "ProjectService",
    "Tracker",
    "__version__",
    "active_run",
    "drift",
    "end_run",
    "flush",
    "init_project",
    "load_model",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "open_project",
    "set_tag",
    "set_tags",
    "start_run",
]

if TYPE_CHECKING:
    from loopml.registry import LoadedModel
    from loopml.service import ProjectService, init_project
    from loopml.tracking.client import (
        ActiveRun,
        Tracker,
        active_run,
        end_run,
        flush,
        log_artifact,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        set_tag,
        set_tags,
        start_run,
    )

_SERVICE = frozenset({"ProjectService", "init_project"})
_TRACKING = frozenset(
    {
        "ActiveRun",
        "Tracker",
        "active_run",
        "end_run",
        "flush",
        "log_artifact",
        "log_metric",
        "log_metrics",
        "log_param",
        "log_params",
        "set_tag",
        "set_tags",
        "start_run",
    }
)


def open_project(project_dir: str = ".") -> ProjectService:
    """Open the project whose ``loopml.yaml`` is in ``project_dir``."""
    from loopml.service import ProjectService

    return ProjectService.open(project_dir)


def load_model(ref: str, project_dir: str = ".") -> LoadedModel:
    """Load a registered model (``"churn@champion"``, ``"churn@3"``) to predict with.

    The store is found as the CLI finds it (``LOOPML_DB``/``LOOPML_ARTIFACTS``, else
    ``project_dir/.loopml``); the artifact's sha256 is checked before it is unpickled::

        model = loopml.load_model("churn@champion")
        model.predict([{"age": 41, "balance": 1200}])
    """
    from loopml.service import load_model as load

    return load(ref, project_dir)


def drift(reference: Any, current: Any, **options: Any) -> Any:
    """Drift of each column between two tables (DataFrames or .csv/.parquet paths).

    Per column a test chosen by type and size (KS or Wasserstein for numbers,
    chi-square or Jensen-Shannon for categories), its score, threshold and verdict; see
    ``loopml.monitor.compare.drift`` for the options (columns, thresholds, settings).
    """
    from loopml.monitor.compare import drift as compare

    return compare(reference, current, **options)


def __getattr__(name: str) -> Any:
    if name in _SERVICE:
        from loopml import service

        return getattr(service, name)
    if name in _TRACKING:
        from loopml.tracking import client

        value = getattr(client, name)
        globals()[name] = value  # later lookups skip this hook: log_metric stays cheap
        return value
    raise AttributeError(f"module 'loopml' has no attribute {name!r}")
