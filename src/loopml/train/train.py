"""Fit a candidate model (the feature transform and an estimator) into a ModelBundle."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
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

from loopml.data.schema import infer_schema
from loopml.domain import Schema
from loopml.errors import DataError, SpecError
from loopml.features.compile import compile_transform
from loopml.model.bundle import ModelBundle
from loopml.model.labels import plain_value, positive_label, target_values
from loopml.model.target import forward_target
from loopml.spec.model import ProjectSpec

BASELINE_KIND = "dummy"  # the majority-class / mean baseline, not a candidate
SIMPLE_KINDS = ("linear", "hist_gradient_boosting")  # the zoo (train/zoo.py) has them all
TASKS = ("classification", "regression")


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


def infer_signature(
    df: pd.DataFrame, spec: ProjectSpec, not_nullable: Collection[str] = ()
) -> Schema:
    """The input signature of ``spec``'s feature columns in ``df``, with the kinds the spec
    declares (``data.columns``, ordinal ones in their declared order) and ranges and
    categories taken from ``df``. A column accepts missing values (the fitted transform
    imputes them) unless it is one of ``not_nullable``: those the project's schema.yaml
    marks ``nullable: false``, where a missing value to score breaks the schema (see
    ``loopml.model.checks``). DataError when an ordinal column holds a level its order
    lacks."""
    missing = [c for c in spec.feature_columns if c not in df.columns]
    if missing:
        raise DataError(f"feature columns {missing} are not in the data")
    features = df[spec.feature_columns]
    kinds = {c: k for c, k in spec.data.columns.items() if c in features.columns}
    orders = {c: o for c, o in spec.data.orders.items() if c in features.columns}
    schema = infer_schema(features, kinds=kinds, orders=orders)
    strict = set(not_nullable)
    return Schema(tuple(replace(c, nullable=c.name not in strict) for c in schema.columns))


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
    y = target_values(rows[target], problem.task, target)
    if problem.target_transform is not None:
        y = pd.Series(forward_target(y, problem.target_transform, target), index=y.index)
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
    if problem.target_transform is not None:
        info["target_transform"] = problem.target_transform
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
        bundle.classes = [plain_value(c) for c in pipeline.classes_]
        if len(bundle.classes) == 2:
            bundle.positive_class = positive_label(bundle.classes, problem.positive_class, target)
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


def _plain_params(estimator: Any) -> dict[str, Any]:
    params = estimator.get_params(deep=False)
    return {k: v for k, v in params.items() if isinstance(v, int | float | str | bool | None)}
