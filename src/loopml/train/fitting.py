"""Fitting one configuration: a fresh feature transform and a model on chosen rows.

Shared by the search (each fold of each trial) and the final fits (the best
configuration, the defaults, the baseline) so that all fit the same way: LightGBM and
XGBoost stop early on a slice carved from the rows they are given (the latest rows when
the split goes by time), never on the rows that score them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from loopml.compute.executor import available_cores
from loopml.domain import Schema
from loopml.errors import DataError
from loopml.model.bundle import ModelBundle
from loopml.model.estimators import EncodedClassifier
from loopml.model.labels import plain_value, positive_label, target_values
from loopml.model.target import forward_target
from loopml.model.values import to_datetime
from loopml.spec.model import ProjectSpec
from loopml.spec.models import CustomModel, ModelsSpec
from loopml.train.cv import carve_early_stopping
from loopml.train.train import _feature_signature, _plain_params
from loopml.train.zoo import (
    check_device,
    fit_model,
    fitted_rounds,
    make_model,
    model_name,
    resolve_model,
    uses_eval_set,
)


@dataclass(frozen=True)
class FitSetup:
    """How every model of one search or fit is built and fitted."""

    task: str
    models: ModelsSpec
    make_transform: Callable[[], Any]
    time_keys: np.ndarray | None  # sortable time of each row, when folds go by time
    seed: int
    threads: int


def models_of(spec: ProjectSpec) -> ModelsSpec:
    """``spec.models`` as a ``loopml.spec.models.ModelsSpec`` (an older section object,
    with candidates and random_state only, is read into one)."""
    models: Any = spec.models
    if isinstance(models, ModelsSpec):
        return models
    return ModelsSpec.model_validate(models.model_dump())


def fit_setup(
    spec: ProjectSpec,
    models: ModelsSpec,
    make_transform: Callable[[], Any],
    rows: pd.DataFrame,
    threads: int,
) -> FitSetup:
    """The setup of fits for ``spec``; ``rows`` (the training rows with a target) give
    each row's time when the split goes by time."""
    time_keys = None
    column = spec.split.time_column
    if spec.split.method == "time" and column and column in rows.columns:
        times = to_datetime(rows[column])
        time_keys = times.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return FitSetup(
        task=spec.problem.task,
        models=models,
        make_transform=make_transform,
        time_keys=time_keys,
        seed=models.search.seed,
        threads=max(1, threads),
    )


def training_rows(
    train_df: pd.DataFrame, spec: ProjectSpec
) -> tuple[pd.DataFrame, np.ndarray, Any]:
    """The feature columns, the target (as the task wants it) and all columns of the rows
    of ``train_df`` that have a target value. Raises DataError for missing columns."""
    target = spec.problem.target
    features = spec.feature_columns
    missing = [c for c in [*features, target] if c not in train_df.columns]
    if missing:
        raise DataError(
            f"training data lacks columns {missing} (it has {list(map(str, train_df.columns))})"
        )
    rows = train_df[train_df[target].notna()]
    y = np.asarray(target_values(rows[target], spec.problem.task, target))
    if spec.problem.target_transform is not None:
        y = forward_target(y, spec.problem.target_transform, target)
    return rows[features], y, rows


def fit_rows(
    setup: FitSetup,
    model: str | CustomModel,
    params: Mapping[str, Any],
    X: pd.DataFrame,
    y: np.ndarray,
    positions: np.ndarray,
) -> tuple[Any, Any]:
    """Fit a new transform and ``model`` on rows ``positions``; LightGBM and XGBoost stop
    early on a slice of those rows (the latest, when folds go by time)."""
    models = setup.models
    carved = None
    wants_eval_set = uses_eval_set(model, models.early_stopping)
    if wants_eval_set:
        keys = None if setup.time_keys is None else setup.time_keys[positions]
        carved = carve_early_stopping(positions, time_keys=keys, seed=setup.seed)
    fit_rows, stop_rows = carved if carved is not None else (positions, None)
    estimator = make_model(
        model,
        setup.task,
        params,
        n_threads=setup.threads,
        random_state=models.random_state,
        imbalance=models.imbalance,
        device=models.device,
        early_stopping=models.early_stopping and (carved is not None or not wants_eval_set),
    )
    transform = setup.make_transform()
    X_fit = transform.fit_transform(X.iloc[fit_rows], y[fit_rows])
    eval_set = None
    if stop_rows is not None:
        eval_set = (transform.transform(X.iloc[stop_rows]), y[stop_rows])
    fit_model(model, estimator, X_fit, y[fit_rows], eval_set=eval_set)
    return transform, estimator


def fit_bundle_with(
    name: str,
    params: Mapping[str, Any],
    train_df: pd.DataFrame,
    spec: ProjectSpec,
    make_transform: Callable[[], Any],
    signature: Schema,
    n_threads: int | None,
    extra: Mapping[str, Any],
) -> ModelBundle:
    """Fit model ``name`` with ``params`` on all rows of ``train_df`` into a bundle whose
    ``info`` also holds ``extra``. Raises DataError, SpecError, StageError (device)."""
    models = models_of(spec)
    model = resolve_model(name, models)
    problem = spec.problem
    check_device(models, problem.task)
    signature = _feature_signature(signature, spec.feature_columns)
    X, y, rows = training_rows(train_df, spec)
    setup = fit_setup(spec, models, make_transform, rows, n_threads or available_cores())
    started = time.perf_counter()
    with threadpool_limits(limits=setup.threads):
        transform, estimator = fit_rows(setup, model, params, X, y, np.arange(len(y)))
    info: dict[str, Any] = {
        "train_rows": len(y),
        "fit_seconds": round(time.perf_counter() - started, 3),
        "params": dict(params),
        "estimator_params": _plain_params(_inner(estimator)),
        "sklearn_version": sklearn.__version__,
        **extra,
    }
    if problem.target_transform is not None:
        info["target_transform"] = problem.target_transform
    rounds = fitted_rounds(estimator)
    if rounds is not None:
        info["n_iter"] = rounds
    bundle = ModelBundle(
        pipeline=Pipeline([("transform", transform), ("model", estimator)]),
        signature=signature,
        task=problem.task,
        target=problem.target,
        model_kind=model_name(model),
        info=info,
    )
    if problem.task == "classification":
        bundle.classes = [plain_value(c) for c in estimator.classes_]
        if len(bundle.classes) == 2:
            bundle.positive_class = positive_label(
                bundle.classes, problem.positive_class, problem.target
            )
    return bundle


def _inner(estimator: Any) -> Any:
    return estimator.estimator_ if isinstance(estimator, EncodedClassifier) else estimator
