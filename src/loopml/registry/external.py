"""Models trained outside loopml (a notebook, a script): a fitted scikit-learn-compatible
estimator wrapped as a ``ModelBundle``, its signature inferred from a sample of its input
rows, checked to predict as the model server will call it, and its provenance recorded.

The estimator is kept as it is (the bundle's ``pipeline``): loopml adds no cleaning and no
transform, so the rows it is given are the rows the estimator was fitted on.
"""

from __future__ import annotations

import getpass
import platform
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd

from loopml.data.ingest import clean_name
from loopml.data.schema import infer_schema
from loopml.domain import ColumnKind, Schema
from loopml.errors import DataError
from loopml.model.bundle import ModelBundle
from loopml.model.values import category_string

EXTERNAL = "external"  # the bundle's model_kind and the lineage's origin
_PROBE_ROWS = 5
_LIBRARIES = ("scikit-learn", "numpy", "pandas", "loopml")


def estimator_name(model: Any) -> str:
    """``module.Class`` of ``model`` (``sklearn.pipeline.Pipeline``)."""
    kind = type(model)
    return f"{kind.__module__}.{kind.__qualname__}"


def infer_task(model: Any, task: str | None = None) -> str:
    """``classification`` for a model with ``predict_proba`` and ``classes_``, else
    ``regression``; a given ``task`` is checked against what the model can do."""
    classifier = callable(getattr(model, "predict_proba", None)) and _has(model, "classes_")
    if task is None:
        return "classification" if classifier else "regression"
    if task not in ("classification", "regression"):
        raise DataError(f"register_model: task must be classification or regression, not {task!r}")
    if task == "classification" and not classifier:
        raise DataError(
            f"register_model: a classifier needs predict_proba and classes_ (loopml serves "
            f"probabilities and thresholds them); this {estimator_name(model)} has not both"
        )
    return task


def check_fitted(model: Any) -> None:
    """DataError unless ``model`` has ``predict`` and, for a scikit-learn estimator, is
    fitted (other estimators are judged by predicting on the sample)."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    if not callable(getattr(model, "predict", None)):
        raise DataError(
            f"register_model: a {estimator_name(model)} has no predict method; give a fitted "
            "scikit-learn-compatible estimator or pipeline"
        )
    try:
        check_is_fitted(model)
    except NotFittedError as exc:
        raise DataError(
            f"register_model: this {estimator_name(model)} is not fitted; call "
            "model.fit(X, y) before registering it"
        ) from exc
    except TypeError:  # not a scikit-learn estimator: predicting on the sample tells
        pass


def find_column(frame: pd.DataFrame, name: str) -> str | None:
    """The column of ``frame`` called ``name``, or whose clean name is ``name`` (the spec
    says ``subscribed`` for a file whose header says ``subscribed ``), or None."""
    if name in frame.columns:
        return name
    for position, column in enumerate(frame.columns):
        if clean_name(column, position) == name:
            return str(column)
    return None


def input_columns(model: Any, sample: pd.DataFrame, target: str | None) -> list[str]:
    """The columns the model takes: its ``feature_names_in_`` when it knows them (each
    must be in ``sample``), else every column of ``sample`` but the ``target``."""
    known = getattr(model, "feature_names_in_", None)
    if known is not None:
        names = [str(c) for c in known]
        missing = [c for c in names if c not in sample.columns]
        if missing:
            raise DataError(
                f"register_model: the sample lacks columns {missing} that the model was "
                f"fitted on (it takes {names})"
            )
        return names
    columns = [str(c) for c in sample.columns if c != target]
    expected = getattr(model, "n_features_in_", None)
    if expected is not None and int(expected) != len(columns):
        raise DataError(
            f"register_model: the model takes {int(expected)} features but the sample has "
            f"{len(columns)} columns besides the target: {columns}. Give sample= the rows "
            "the model takes, its columns in the order it was fitted on"
        )
    return columns


def external_bundle(
    model: Any,
    sample: pd.DataFrame,
    columns: Sequence[str],
    *,
    task: str,
    target: str,
    positive_class: Any = None,
    threshold: float | None = None,
    kinds: Mapping[str, ColumnKind] | None = None,
) -> ModelBundle:
    """``model`` as a bundle whose signature is inferred from ``sample[columns]`` (kinds
    from ``kinds`` where named, ranges and categories from the sample), checked to
    predict the sample as given and as the model server builds rows. A column accepts
    nulls when the model predicts a row with it missing. A binary classifier predicts
    its positive class from ``threshold`` (default 0.5) on.

    Raises DataError naming the problem: no rows, a positive class the model does not
    know, predictions that fail or are not finite.
    """
    if len(sample) == 0:
        raise DataError("register_model: the sample has no rows; give some rows the model takes")
    features = sample[list(columns)]
    schema = infer_schema(features, kinds={c: k for c, k in (kinds or {}).items() if c in columns})
    classes = _classes(model) if task == "classification" else None
    bundle = ModelBundle(
        pipeline=model,
        signature=schema,
        task=task,
        target=target,
        model_kind=EXTERNAL,
        classes=classes,
        positive_class=_positive(classes, positive_class),
        info={"estimator": estimator_name(model), **_threshold(classes, threshold)},
    )
    check_predicts(bundle, features, "the sample")
    served = as_served(features.head(_PROBE_ROWS), schema)
    check_predicts(bundle, served, "sample rows as the model server passes them")
    nullable = _nullable_columns(bundle, served)
    bundle.signature = Schema(
        tuple(replace(c, nullable=c.nullable or c.name in nullable) for c in schema.columns)
    )
    return bundle


def check_predicts(bundle: ModelBundle, rows: pd.DataFrame, what: str) -> None:
    """DataError unless ``bundle`` predicts ``rows``: one finite answer per row."""
    try:
        prediction = bundle.predict(rows)
    except Exception as exc:  # noqa: BLE001 - any failure is the user's model refusing
        raise DataError(
            f"register_model: the model cannot predict {what}: {type(exc).__name__}: {exc}"
        ) from exc
    values = prediction.predictions if bundle.task == "regression" else prediction.probabilities
    array = np.asarray(values, dtype=float)
    if len(array) != len(rows) or not np.isfinite(array).all():
        answer = "predictions" if bundle.task == "regression" else "probabilities"
        raise DataError(
            f"register_model: the model's {answer} for {what} are not one finite number "
            f"per row ({len(rows)} rows gave {array.shape})"
        )


def as_served(rows: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """``rows`` with the types the model server gives a DataFrame model: numbers as
    float64, everything else as Python objects."""
    out = pd.DataFrame(index=range(len(rows)))
    for column in schema.columns:
        values = rows[column.name]
        if column.kind is ColumnKind.NUMERIC:
            out[column.name] = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
        else:
            out[column.name] = pd.Series(values.to_numpy(dtype=object), dtype=object)
    return out


def _nullable_columns(bundle: ModelBundle, rows: pd.DataFrame) -> set[str]:
    """The columns the model predicts with when they are missing (every one at once
    first: most models that impute accept all)."""
    names = bundle.feature_names

    def accepts(columns: Sequence[str]) -> bool:
        probe = rows.head(1).copy()
        for name in columns:
            probe[name] = pd.Series([np.nan], dtype=probe[name].dtype)
        try:
            check_predicts(bundle, probe, "a row with missing values")
        except DataError:
            return False
        return True

    if accepts(names):
        return set(names)
    return {name for name in names if accepts([name])}


def _threshold(classes: list[Any] | None, threshold: float | None) -> dict[str, float]:
    if threshold is None:
        return {}
    if classes is None or len(classes) != 2:
        raise DataError("register_model: threshold= applies to a binary classifier only")
    if not 0.0 < float(threshold) < 1.0:
        raise DataError(f"register_model: threshold must be between 0 and 1, not {threshold}")
    return {"threshold": float(threshold)}


def _classes(model: Any) -> list[Any]:
    classes = [c.item() if hasattr(c, "item") else c for c in np.asarray(model.classes_)]
    if len(classes) < 2:
        raise DataError(f"register_model: the classifier knows {len(classes)} class; it needs 2+")
    return classes


def _positive(classes: list[Any] | None, wanted: Any) -> Any:
    """The class that is positive for a binary classifier: ``wanted`` (compared as
    text: 1, "1" and 1.0 name one class), else the last class, as scikit-learn does."""
    if not classes or len(classes) != 2:
        return None
    if wanted is None:
        return classes[-1]
    for value in classes:
        if category_string(value) == category_string(wanted):
            return value
    raise DataError(
        f"register_model: the positive class {wanted!r} is not one of the model's classes "
        f"{classes}; pass positive_class= one of them"
    )


def environment(model: Any) -> dict[str, Any]:
    """Where the model comes from: its estimator (and a pipeline's steps), the Python and
    library versions here, who registered it, on which host, from which script."""
    steps = getattr(model, "steps", None)
    info: dict[str, Any] = {
        "origin": EXTERNAL,
        "estimator": estimator_name(model),
        "python": platform.python_version(),
        "libraries": {name: _version(name) for name in _LIBRARIES},
        "registered_by": _user(),
        "host": socket.gethostname(),
        "script": _script(),
    }
    if isinstance(steps, list):
        info["steps"] = [f"{name}: {estimator_name(step)}" for name, step in steps]
    return info


def _has(model: Any, attribute: str) -> bool:
    try:
        getattr(model, attribute)
    except AttributeError:  # a property of an unfitted pipeline raises it
        return False
    return True


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return ""


def _script() -> str:
    """``notebook`` inside Jupyter, ``interactive`` in a REPL, else the script's path."""
    if "ipykernel" in sys.modules:
        return "notebook"
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return str(path) if path else "interactive"
