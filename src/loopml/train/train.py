"""Fit a candidate model (the feature transform and an estimator) into a ModelBundle."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from loopml.data.schema import category_string, infer_schema
from loopml.domain import Schema
from loopml.errors import DataError, SpecError
from loopml.features.compile import compile_transform
from loopml.spec.model import ProjectSpec
from loopml.train.bundle import ModelBundle

BASELINE_KIND = "dummy"  # the majority-class / mean baseline, not a candidate
SIMPLE_KINDS = ("linear", "hist_gradient_boosting")  # the zoo (train/zoo.py) has them all
TASKS = ("classification", "regression")
_TRUE_WORDS = {"1", "true", "yes", "y", "t"}
_BOOL_WORDS = _TRUE_WORDS | {"0", "false", "no", "n", "f"}


def make_estimator(kind: str, task: str, random_state: int = 42) -> Any:
    """An unfitted estimator of ``kind`` (one of ``MODEL_KINDS``, or ``"dummy"``).

    ``linear`` is LogisticRegression or Ridge; ``hist_gradient_boosting`` stops early on
    a 10 % validation split; ``dummy`` predicts the class priors or the mean.

    Raises:
        SpecError: unknown kind or task.
    """
    if task not in TASKS:
        raise SpecError(f"problem.task: unknown task '{task}'; use one of {', '.join(TASKS)}")
    classify = task == "classification"
    if kind == "linear":
        return LogisticRegression(max_iter=1000) if classify else Ridge(alpha=1.0)
    if kind == "hist_gradient_boosting":
        cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        return cls(
            max_iter=300,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=10,
            random_state=random_state,
        )
    if kind == BASELINE_KIND:
        return DummyClassifier(strategy="prior") if classify else DummyRegressor()
    raise SpecError(f"models.candidates: unknown model '{kind}'; use one of {SIMPLE_KINDS}")


def infer_signature(df: pd.DataFrame, spec: ProjectSpec) -> Schema:
    """The input signature of ``spec``'s feature columns in ``df``, with the kinds the spec
    declares (``data.columns``) and ranges and categories taken from ``df``. Every column
    accepts missing values: the fitted transform imputes them."""
    missing = [c for c in spec.feature_columns if c not in df.columns]
    if missing:
        raise DataError(f"feature columns {missing} are not in the data")
    features = df[spec.feature_columns]
    kinds = {c: k for c, k in spec.data.columns.items() if c in features.columns}
    schema = infer_schema(features, kinds=kinds)
    return Schema(tuple(replace(c, nullable=True) for c in schema.columns))


def fit_bundle(
    kind: str,
    train_df: pd.DataFrame,
    spec: ProjectSpec,
    signature: Schema,
    *,
    n_threads: int = 2,
) -> ModelBundle:
    """Fit ``Pipeline([transform, estimator])`` on ``spec.feature_columns`` of ``train_df``.

    Args:
        kind: a model kind (see ``make_estimator``).
        train_df: training rows; rows without a target value are left out.
        spec: the project spec (task, target, positive class, features, random state).
        signature: the schema of (at least) the feature columns; the bundle keeps the
            feature columns' part, in ``spec.feature_columns`` order.
        n_threads: the most BLAS/OpenMP threads the fit may use.

    Returns:
        The fitted bundle. For classifiers ``classes`` holds the original labels and
        ``positive_class`` (binary only) the label that ``spec.problem.positive_class``
        names, compared as text ("1" finds 1, "yes" finds "Yes"); without one, the last
        label in sorted order (1, True).

    Raises:
        DataError: a feature column is missing from the data or the signature, the target
            has fewer than 2 classes or is not numeric for regression, or the positive
            class is not a label.
        SpecError: unknown kind.
    """
    problem = spec.problem
    target = problem.target
    features = spec.feature_columns
    missing = [c for c in [*features, target] if c not in train_df.columns]
    if missing:
        raise DataError(
            f"training data lacks columns {missing} (it has {list(map(str, train_df.columns))})"
        )
    signature = _feature_signature(signature, features)
    rows = train_df[train_df[target].notna()]
    X = rows[features]
    y = _target(rows[target], problem.task, target)
    estimator = make_estimator(kind, problem.task, spec.models.random_state)
    transform = compile_transform(
        signature, spec.features, spec.problem.task, random_state=spec.models.random_state
    )
    pipeline = Pipeline([("transform", transform), ("model", estimator)])
    started = time.perf_counter()
    with threadpool_limits(limits=n_threads):
        pipeline.fit(X, y)
    info: dict[str, Any] = {
        "train_rows": len(rows),
        "fit_seconds": round(time.perf_counter() - started, 3),
        "params": _plain_params(estimator),
        "sklearn_version": sklearn.__version__,
    }
    n_iter = getattr(estimator, "n_iter_", None)
    if n_iter is not None:
        info["n_iter"] = int(np.max(n_iter))
    bundle = ModelBundle(
        pipeline=pipeline,
        signature=signature,
        task=problem.task,
        target=target,
        model_kind=kind,
        info=info,
    )
    if problem.task == "classification":
        bundle.classes = [_plain(c) for c in pipeline.classes_]
        if len(bundle.classes) == 2:
            bundle.positive_class = _positive(bundle.classes, problem.positive_class, target)
    return bundle


def _feature_signature(signature: Schema, features: Sequence[str]) -> Schema:
    known = set(signature.names())
    missing = [c for c in features if c not in known]
    if missing:
        raise DataError(
            f"the input signature lacks feature columns {missing}; infer it from the "
            "training data (infer_signature) or exclude them in features.exclude"
        )
    return Schema(tuple(signature.column(c) for c in features))


def _target(y: pd.Series, task: str, name: str) -> pd.Series:
    if task == "regression":
        numbers = pd.to_numeric(y, errors="coerce")
        bad = numbers.isna()
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"target '{name}' must be numeric for regression, but {int(bad.sum())} rows "
                f"are not (e.g. row {first}: {y.iloc[first]!r}); fix the data or set "
                "problem.task: classification"
            )
        return numbers.astype(float)
    if y.nunique() < 2:
        values = y.unique()[:1].tolist()
        raise DataError(
            f"target '{name}' holds {len(values)} class {values} in the training rows; "
            "a classifier needs at least 2"
        )
    if isinstance(y.dtype, pd.StringDtype) or y.dtype == object:
        return y.astype(object)
    return y


def match_label(labels: Sequence[Any], wanted: Any) -> Any | None:
    """The label in ``labels`` that ``wanted`` names, or None.

    Tried in turn: equality; the same text (``1`` and ``1.0`` are ``"1"``); the same text
    ignoring case and spaces; for boolean labels, ``1``/``yes``/``true`` for True."""
    if wanted is None:
        return None
    for label in labels:
        if type(label) is type(wanted) and label == wanted:
            return label
    key = category_string(wanted)
    for label in labels:
        if category_string(label) == key:
            return label
    for label in labels:
        if category_string(label).strip().lower() == key.strip().lower():
            return label
    word = key.strip().lower()
    if all(isinstance(label, bool | np.bool_) for label in labels) and word in _BOOL_WORDS:
        truth = word in _TRUE_WORDS
        return next((label for label in labels if bool(label) is truth), None)
    return None


def _positive(classes: list[Any], wanted: Any, target: str) -> Any:
    if wanted is None:
        return classes[-1]
    label = match_label(classes, wanted)
    if label is None:
        raise DataError(
            f"problem.positive_class {wanted!r} is not a label of '{target}' "
            f"(labels: {', '.join(map(repr, classes))}); fix it in loopml.yaml"
        )
    return label


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _plain_params(estimator: Any) -> dict[str, Any]:
    params = estimator.get_params(deep=False)
    return {k: v for k, v in params.items() if isinstance(v, int | float | str | bool | None)}
