"""loopml: the machine-learning lifecycle for tabular data, from one project spec.

The public Python API. Heavy modules load on first use, so importing loopml is cheap.

Tracking from any script (see ``loopml.tracking.client``)::

    import loopml

    with loopml.start_run("train", params={"lr": 0.1}):
        loopml.log_metric("loss", 0.25, step=1)

A model fitted in a notebook joins the lifecycle with ``loopml.register_model``.
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
    "register_model",
    "set_tag",
    "set_tags",
    "start_run",
]

if TYPE_CHECKING:
    from collections.abc import Mapping
    from os import PathLike

    from loopml.domain import ModelVersion
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
    loopml.toml or loopml.yaml, else ``project_dir/.loopml``); the artifact's sha256 is
    checked before it is unpickled::

        model = loopml.load_model("churn@champion")
        model.predict([{"age": 41, "balance": 1200}])
    """
    from loopml.service import load_model as load

    return load(ref, project_dir)


def register_model(
    model: Any,
    *,
    sample: Any,
    name: str | None = None,
    project_dir: str | PathLike[str] = ".",
    task: str | None = None,
    target: str | None = None,
    positive_class: Any = None,
    threshold: float | None = None,
    metrics: Mapping[str, float] | None = None,
    holdout: Any = None,
    description: str = "",
    tags: Mapping[str, Any] | None = None,
    alias: str | None = None,
) -> ModelVersion:
    """Register a fitted scikit-learn-compatible ``model`` trained elsewhere (a notebook)
    as the next version of ``name`` (default: the project's name), after the project's
    gate judged it; it then goes through approval, serve, deploy and monitor like any::

        version = loopml.register_model(pipe, sample=X_train, holdout=(X_test, y_test))

    ``sample`` (a DataFrame of input rows, the target column allowed) gives the signature:
    the model's ``feature_names_in_`` (else the sample's columns), kinds from the spec,
    ranges and categories from the rows; it is kept as the version's reference rows for
    monitoring. ``holdout`` (a frame holding the target, or ``(X, y)``) is scored for the
    gate's metrics; without it ``metrics`` (name -> value) are judged as supplied, and a
    criterion they do not name fails, saying so. Task (classifier when the model has
    ``predict_proba`` and ``classes_``), target and positive class default to the spec's;
    a binary classifier predicts its positive class from ``threshold`` (0.5) on.
    The lineage marks it external: estimator, Python and library versions, who, where.

    Raises DataError for an unfitted model, an empty sample, columns the model rejects or
    lacks; SpecError when its task is not the project's.
    """
    from pathlib import Path

    from loopml.service import ProjectService

    service = ProjectService.open(Path(project_dir))
    try:
        return service.register_external(
            model,
            sample=sample,
            name=name,
            task=task,
            target=target,
            positive_class=positive_class,
            threshold=threshold,
            metrics=metrics,
            holdout=holdout,
            description=description,
            tags=tags,
            alias=alias,
        )
    finally:
        service.close()


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


def __dir__() -> list[str]:
    """The public API (``__all__``), lazily loaded names included: what ``dir(loopml)``
    and tab completion show."""
    return sorted(__all__)
