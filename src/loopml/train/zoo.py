"""The model zoo: built-in algorithms and user estimators, with their search spaces.

Each built-in ``ModelKind`` knows how to make its estimator for a task (with the given
hyperparameters, thread count, class weights and device), its default search space
(sensible on small data too), its default parameters, and how it stops early:

=========================  ==================================  =========================
kind                       estimator                           early stopping
=========================  ==================================  =========================
linear                     LogisticRegression / Ridge          -
random_forest              RandomForest{Classifier,Regressor}  -
hist_gradient_boosting     HistGradientBoosting*               its own validation split
lightgbm                   LGBM{Classifier,Regressor}          an eval set (``fit_model``)
xgboost                    XGB{Classifier,Regressor}           an eval set (``fit_model``)
=========================  ==================================  =========================

A user model is any scikit-learn compatible estimator named by its import path
(``CustomModel``). ``make_model`` builds either; ``fit_model`` fits one, giving the
boosted trees their early-stopping eval set.
"""

from __future__ import annotations

import importlib
import inspect
import json
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from loopml.errors import SpecError, StageError
from loopml.model.estimators import EncodedClassifier  # noqa: F401 - pickles of 0.1 name it here
from loopml.spec.models import BUILTIN_KINDS, CustomModel, ModelsSpec, ParamSpace

TASKS = ("classification", "regression")
MAX_BOOSTING_ROUNDS = 1000  # the cap when early stopping decides the number of rounds
EARLY_STOPPING_ROUNDS = 30  # rounds without improvement before a boosted tree stops
EARLY_STOPPING_FRACTION = 0.1  # share of a training part held out to stop on
EarlyStopping = Literal["none", "internal", "eval_set"]


@dataclass(frozen=True)
class BuildRequest:
    """What an estimator is made for.

    ``balanced`` asks for class weights that make each class count alike (classifiers);
    ``early_stopping`` that boosted trees stop early (on their own validation split, or
    on the eval set ``fit_model`` is given); ``device`` ``cpu`` or ``cuda``.
    """

    task: str
    params: Mapping[str, Any]
    n_threads: int = 1
    random_state: int = 42
    balanced: bool = False
    device: str = "cpu"
    early_stopping: bool = False


@dataclass(frozen=True)
class ModelKind:
    """One built-in algorithm.

    ``build`` makes the unfitted estimator; ``space(task, early_stopping)`` its default
    search space; ``defaults(task)`` the parameters a fit with no search uses (inside
    that space); ``early_stopping`` how it stops early; ``gpu`` whether ``device: cuda``
    applies to it.
    """

    name: str
    build: Callable[[BuildRequest], Any]
    space: Callable[[str, bool], dict[str, ParamSpace]]
    defaults: Callable[[str], dict[str, Any]]
    early_stopping: EarlyStopping = "none"
    gpu: bool = False


def _range(low: float, high: float, *, log: bool = False) -> ParamSpace:
    return ParamSpace(low=low, high=high, log=log)


# --- linear --------------------------------------------------------------------------


def _linear(req: BuildRequest) -> Any:
    from sklearn.linear_model import LogisticRegression, Ridge

    if req.task == "classification":
        options: dict[str, Any] = {"max_iter": 1000}
        if req.balanced:
            options["class_weight"] = "balanced"
        return LogisticRegression(**{**options, **req.params})
    return Ridge(**{"random_state": req.random_state, **req.params})


def _linear_space(task: str, early_stopping: bool) -> dict[str, ParamSpace]:
    if task == "classification":
        return {"C": _range(1e-3, 100.0, log=True)}
    return {"alpha": _range(1e-3, 1000.0, log=True)}


def _linear_defaults(task: str) -> dict[str, Any]:
    return {"C": 1.0} if task == "classification" else {"alpha": 1.0}


# --- random forest -------------------------------------------------------------------


def _random_forest(req: BuildRequest) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    options: dict[str, Any] = {"n_jobs": req.n_threads, "random_state": req.random_state}
    if req.task == "classification":
        if req.balanced:
            options["class_weight"] = "balanced_subsample"
        return RandomForestClassifier(**{**options, **req.params})
    return RandomForestRegressor(**{**options, **req.params})


def _random_forest_space(task: str, early_stopping: bool) -> dict[str, ParamSpace]:
    return {
        "n_estimators": ParamSpace(low=50, high=300, step=50),
        "max_depth": ParamSpace(low=4, high=24),
        "min_samples_leaf": ParamSpace(low=1, high=50, log=True),
        "max_features": _range(0.2, 1.0),
        "max_samples": _range(0.3, 1.0),
    }


def _random_forest_defaults(task: str) -> dict[str, Any]:
    features = 0.5 if task == "classification" else 1.0
    return {
        "n_estimators": 100,
        "max_depth": 16,
        "min_samples_leaf": 2,
        "max_features": features,
        "max_samples": 1.0,
    }


# --- HistGradientBoosting ------------------------------------------------------------


def _hist_gradient_boosting(req: BuildRequest) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    options: dict[str, Any] = {"random_state": req.random_state}
    if req.early_stopping:
        options.update(
            max_iter=MAX_BOOSTING_ROUNDS // 2,
            early_stopping=True,
            validation_fraction=EARLY_STOPPING_FRACTION,
            n_iter_no_change=EARLY_STOPPING_ROUNDS // 2,
        )
    else:
        options["early_stopping"] = False
    if req.task == "classification":
        if req.balanced:
            options["class_weight"] = "balanced"
        return HistGradientBoostingClassifier(**{**options, **req.params})
    return HistGradientBoostingRegressor(**{**options, **req.params})


def _hist_gradient_boosting_space(task: str, early_stopping: bool) -> dict[str, ParamSpace]:
    space = {
        "learning_rate": _range(0.02, 0.3, log=True),
        "max_leaf_nodes": ParamSpace(low=8, high=128, log=True),
        "min_samples_leaf": ParamSpace(low=5, high=100, log=True),
        "l2_regularization": _range(1e-6, 10.0, log=True),
        "max_features": _range(0.4, 1.0),
    }
    if not early_stopping:
        space["max_iter"] = ParamSpace(low=50, high=500, step=50)
    return space


def _hist_gradient_boosting_defaults(task: str) -> dict[str, Any]:
    return {
        "learning_rate": 0.1,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 20,
        "l2_regularization": 1e-6,
        "max_features": 1.0,
        "max_iter": 100,
    }


# --- LightGBM ------------------------------------------------------------------------


def _lightgbm(req: BuildRequest) -> Any:
    import lightgbm

    options: dict[str, Any] = {
        "n_jobs": req.n_threads,
        "random_state": req.random_state,
        "verbosity": -1,
        "subsample_freq": 1,
    }
    if req.early_stopping:
        options.update(n_estimators=MAX_BOOSTING_ROUNDS, early_stopping_round=EARLY_STOPPING_ROUNDS)
    if req.device == "cuda":
        options["device_type"] = "cuda"
    if req.task == "classification":
        if req.balanced:
            options["class_weight"] = "balanced"
        return lightgbm.LGBMClassifier(**{**options, **req.params})
    return lightgbm.LGBMRegressor(**{**options, **req.params})


def _lightgbm_space(task: str, early_stopping: bool) -> dict[str, ParamSpace]:
    space = {
        "learning_rate": _range(0.02, 0.3, log=True),
        "num_leaves": ParamSpace(low=8, high=128, log=True),
        "min_child_samples": ParamSpace(low=5, high=100, log=True),
        "subsample": _range(0.5, 1.0),
        "colsample_bytree": _range(0.5, 1.0),
        "reg_lambda": _range(1e-6, 10.0, log=True),
    }
    if not early_stopping:
        space["n_estimators"] = ParamSpace(low=50, high=500, step=50)
    return space


def _lightgbm_defaults(task: str) -> dict[str, Any]:
    return {
        "learning_rate": 0.1,
        "num_leaves": 31,
        "min_child_samples": 20,
        "subsample": 1.0,
        "colsample_bytree": 1.0,
        "reg_lambda": 1e-6,
        "n_estimators": 100,
    }


# --- XGBoost -------------------------------------------------------------------------


def _xgboost(req: BuildRequest) -> Any:
    import xgboost

    options: dict[str, Any] = {
        "n_jobs": req.n_threads,
        "random_state": req.random_state,
        "tree_method": "hist",
        "verbosity": 0,
    }
    if req.early_stopping:
        options.update(
            n_estimators=MAX_BOOSTING_ROUNDS, early_stopping_rounds=EARLY_STOPPING_ROUNDS
        )
    if req.device == "cuda":
        options["device"] = "cuda"
    if req.task == "classification":
        inner = xgboost.XGBClassifier(**{**options, **req.params})
        return EncodedClassifier(inner, balanced=req.balanced)
    return xgboost.XGBRegressor(**{**options, **req.params})


def _xgboost_space(task: str, early_stopping: bool) -> dict[str, ParamSpace]:
    space = {
        "learning_rate": _range(0.02, 0.3, log=True),
        "max_depth": ParamSpace(low=3, high=10),
        "min_child_weight": _range(0.5, 20.0, log=True),
        "subsample": _range(0.5, 1.0),
        "colsample_bytree": _range(0.5, 1.0),
        "reg_lambda": _range(1e-3, 10.0, log=True),
    }
    if not early_stopping:
        space["n_estimators"] = ParamSpace(low=50, high=500, step=50)
    return space


def _xgboost_defaults(task: str) -> dict[str, Any]:
    return {
        "learning_rate": 0.1,
        "max_depth": 6,
        "min_child_weight": 1.0,
        "subsample": 1.0,
        "colsample_bytree": 1.0,
        "reg_lambda": 1.0,
        "n_estimators": 100,
    }


MODEL_KINDS: dict[str, ModelKind] = {
    kind.name: kind
    for kind in (
        ModelKind("linear", _linear, _linear_space, _linear_defaults),
        ModelKind("random_forest", _random_forest, _random_forest_space, _random_forest_defaults),
        ModelKind(
            "hist_gradient_boosting",
            _hist_gradient_boosting,
            _hist_gradient_boosting_space,
            _hist_gradient_boosting_defaults,
            early_stopping="internal",
        ),
        ModelKind(
            "lightgbm",
            _lightgbm,
            _lightgbm_space,
            _lightgbm_defaults,
            early_stopping="eval_set",
            gpu=True,
        ),
        ModelKind(
            "xgboost",
            _xgboost,
            _xgboost_space,
            _xgboost_defaults,
            early_stopping="eval_set",
            gpu=True,
        ),
    )
}
assert tuple(MODEL_KINDS) == BUILTIN_KINDS


def resolve_model(name: str, models: ModelsSpec) -> str | CustomModel:
    """The built-in kind or the custom model that ``name`` names in ``models``.

    Raises:
        SpecError: ``name`` is neither.
    """
    if name in MODEL_KINDS:
        return name
    custom = models.custom_model(name)
    if custom is None:
        known = [*MODEL_KINDS, *(c.name for c in models.custom)]
        raise SpecError(f"models: unknown model '{name}'; use one of {', '.join(known)}")
    return custom


def model_name(model: str | CustomModel) -> str:
    return model if isinstance(model, str) else model.name


def search_space(model: str | CustomModel, task: str, models: ModelsSpec) -> dict[str, ParamSpace]:
    """The space searched for ``model``: its default (built-ins) or ``space`` (custom),
    updated with ``models.spaces[name]`` (entries there replace or add parameters)."""
    if isinstance(model, CustomModel):
        base = dict(model.space)
    else:
        base = MODEL_KINDS[model].space(task, models.early_stopping)
    return {**base, **models.spaces.get(model_name(model), {})}


def default_params(model: str | CustomModel, task: str, models: ModelsSpec) -> dict[str, Any]:
    """The parameters of a fit with no search: a built-in's defaults for the parameters
    its search space holds (none for custom models: their ``params`` apply)."""
    if isinstance(model, CustomModel):
        return {}
    space = search_space(model, task, models)
    defaults = MODEL_KINDS[model].defaults(task)
    return {k: v for k, v in defaults.items() if k in space}


def uses_eval_set(model: str | CustomModel, early_stopping: bool) -> bool:
    """Whether fitting ``model`` wants an early-stopping eval set (LightGBM, XGBoost)."""
    if not early_stopping or isinstance(model, CustomModel):
        return False
    return MODEL_KINDS[model].early_stopping == "eval_set"


def make_model(
    model: str | CustomModel,
    task: str,
    params: Mapping[str, Any] | None = None,
    *,
    n_threads: int = 1,
    random_state: int = 42,
    imbalance: str = "none",
    device: str = "cpu",
    early_stopping: bool = False,
) -> Any:
    """An unfitted estimator of ``model`` (a built-in kind or a ``CustomModel``).

    Args:
        model: one of ``MODEL_KINDS`` or a custom model.
        task: ``classification`` or ``regression``.
        params: hyperparameters (they win over every other setting).
        n_threads: the most threads the estimator may use (``n_jobs``, ``num_threads``).
        random_state: the estimator's seed.
        imbalance: ``balanced`` gives classifiers class weights (``class_weight``,
            XGBoost's ``scale_pos_weight`` or balanced sample weights); ``none`` does not.
        device: ``cuda`` trains XGBoost and LightGBM on the GPU; other kinds ignore it.
        early_stopping: boosted trees stop early: HistGradientBoosting on its own
            validation split, LightGBM and XGBoost on the eval set given to ``fit_model``
            (which they then need).

    Raises:
        SpecError: unknown kind or task; a custom estimator that does not import or is not
            an estimator; a parameter the estimator does not take.
    """
    if task not in TASKS:
        raise SpecError(f"problem.task: unknown task '{task}'; use one of {', '.join(TASKS)}")
    params = dict(params or {})
    balanced = imbalance == "balanced" and task == "classification"
    if isinstance(model, CustomModel):
        return _make_custom(model, task, params, n_threads, random_state, balanced)
    kind = MODEL_KINDS.get(model)
    if kind is None:
        raise SpecError(
            f"models.candidates: unknown model '{model}'; use one of {', '.join(MODEL_KINDS)}"
        )
    request = BuildRequest(
        task=task,
        params=params,
        n_threads=max(1, n_threads),
        random_state=random_state,
        balanced=balanced,
        device=device if kind.gpu else "cpu",
        early_stopping=early_stopping and kind.early_stopping != "none",
    )
    try:
        return kind.build(request)
    except TypeError as exc:  # an unknown keyword argument
        raise SpecError(f"models.spaces.{model}: {exc}") from exc


def fit_model(
    model: str | CustomModel,
    estimator: Any,
    X: Any,
    y: Any,
    *,
    eval_set: tuple[Any, Any] | None = None,
) -> Any:
    """Fit ``estimator`` (made by ``make_model`` for ``model``) and return it.

    ``eval_set`` (rows never used to score the model) is where LightGBM and XGBoost stop
    early; other models ignore it. Warnings of the fit (convergence, feature names) are
    silenced: a poor trial shows in its score.
    """
    fit_params: dict[str, Any] = {}
    name = model_name(model)
    if eval_set is not None and name in ("lightgbm", "xgboost"):
        fit_params["eval_set"] = [eval_set]
        if name == "xgboost":
            fit_params["verbose"] = False
        elif getattr(estimator, "class_weight", None) is not None:
            # stop on the loss that the fit minimizes: weighted as the training rows are
            fit_params["eval_class_weight"] = [estimator.class_weight]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X, y, **fit_params)
    return estimator


def fitted_rounds(estimator: Any) -> int | None:
    """The number of boosting rounds a fitted boosted tree kept, else None."""
    inner = getattr(estimator, "estimator_", estimator)
    for attribute in ("best_iteration_", "n_iter_"):
        value = getattr(inner, attribute, None)
        if value is not None and np.size(value) and int(np.max(value)) > 0:
            return int(np.max(value))
    best = getattr(inner, "best_iteration", None)
    if best is not None:
        return int(best) + 1
    return None


def check_device(models: ModelsSpec, task: str) -> None:
    """With ``device: cuda``, fit a tiny model of each GPU kind among the candidates on
    the GPU, so that a missing GPU fails at once, not in every trial.

    Raises:
        StageError: no usable GPU, or a library built without GPU support.
    """
    if models.device != "cuda":
        return
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    y = (X[:, 0] > 0).astype(int) if task == "classification" else X[:, 0]
    for name in models.candidates:
        if name == "xgboost":
            _check_xgboost_gpu(X, y, task)
        elif name == "lightgbm":
            _check_lightgbm_gpu(X, y, task)


def _check_xgboost_gpu(X: np.ndarray, y: np.ndarray, task: str) -> None:
    estimator = make_model("xgboost", task, {"n_estimators": 2}, device="cuda")
    try:
        fitted = fit_model("xgboost", estimator, X, y)
    except Exception as exc:  # noqa: BLE001 - any failure means no usable GPU
        raise StageError(
            f"models.device is cuda but XGBoost cannot train on a GPU here: {exc}. Set "
            "models.device: cpu, or run where a CUDA GPU is visible",
            step="train",
        ) from exc
    booster = getattr(fitted, "estimator_", fitted).get_booster()
    device = json.loads(booster.save_config())["learner"]["generic_param"].get("device", "")
    if not str(device).startswith("cuda"):
        raise StageError(
            "models.device is cuda but no GPU is visible to XGBoost (it fell back to "
            f"'{device}'). Set models.device: cpu, or run where a CUDA GPU is visible",
            step="train",
        )


def _check_lightgbm_gpu(X: np.ndarray, y: np.ndarray, task: str) -> None:
    estimator = make_model("lightgbm", task, {"n_estimators": 2}, device="cuda")
    try:
        fit_model("lightgbm", estimator, X, y)
    except Exception as exc:  # noqa: BLE001 - any failure means no usable GPU
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StageError(
            f"models.device is cuda but LightGBM cannot train on a GPU here ({first}). "
            "LightGBM from PyPI has no CUDA support: build it with CUDA "
            "(pip install lightgbm --config-settings=cmake.define.USE_CUDA=ON), drop "
            "lightgbm from models.candidates, or set models.device: cpu",
            step="train",
        ) from exc


# --- custom estimators ---------------------------------------------------------------


def import_estimator(path: str) -> type:
    """The estimator class at ``path`` (``pkg.mod:Class`` or ``pkg.mod.Class``).

    Raises:
        SpecError: the module or attribute does not exist, or it is not a class with
            ``fit`` and ``get_params`` (a scikit-learn compatible estimator).
    """
    module_name, _, attr = path.rpartition(":") if ":" in path else path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - ImportError and whatever the module raises
        raise SpecError(
            f"models.custom: cannot import '{module_name}' for estimator '{path}': "
            f"{type(exc).__name__}: {exc}. Install the package or fix the path"
        ) from exc
    target: Any = module
    for part in attr.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise SpecError(
                f"models.custom: module '{module_name}' has no '{attr}' (estimator '{path}')"
            )
    if not isinstance(target, type) or not all(
        callable(getattr(target, m, None)) for m in ("fit", "get_params", "set_params")
    ):
        raise SpecError(
            f"models.custom: '{path}' is not a scikit-learn compatible estimator class "
            "(a class with fit, get_params and set_params)"
        )
    return target


def _make_custom(
    model: CustomModel,
    task: str,
    params: dict[str, Any],
    n_threads: int,
    random_state: int,
    balanced: bool,
) -> Any:
    cls = import_estimator(model.estimator)
    arguments = {**model.params, **params}
    try:
        estimator = cls(**arguments)
    except TypeError as exc:
        raise SpecError(f"models.custom.{model.name}: {model.estimator}: {exc}") from exc
    known = estimator.get_params(deep=False)
    automatic: dict[str, Any] = {"n_jobs": n_threads, "random_state": random_state}
    if balanced:
        automatic["class_weight"] = "balanced"
    extra = {k: v for k, v in automatic.items() if k in known and k not in arguments}
    if extra:
        estimator.set_params(**extra)
    if task == "classification" and not hasattr(estimator, "predict_proba"):
        raise SpecError(
            f"models.custom.{model.name}: {model.estimator} gives no predict_proba; a "
            "classifier must give class probabilities (e.g. SVC needs probability: true)"
        )
    return estimator


def check_params(model: str | CustomModel, task: str, names: Sequence[str]) -> None:
    """Raise SpecError when ``model``'s estimator takes none of some parameter ``names``
    (a typo in ``models.spaces`` would otherwise fail every trial)."""
    estimator = make_model(model, task)
    inner = estimator.estimator if isinstance(estimator, EncodedClassifier) else estimator
    if _takes_any_keyword(type(inner)):  # LightGBM, XGBoost: library parameters pass on
        return
    allowed = set(inner.get_params(deep=False))
    unknown = [n for n in names if n not in allowed]
    if unknown:
        where = f"models.spaces.{model_name(model)}"
        if isinstance(model, CustomModel):
            where = f"models.custom.{model.name}.space"
        raise SpecError(
            f"{where}: {type(inner).__name__} has no parameter '{unknown[0]}'; "
            f"it takes {', '.join(sorted(allowed))}"
        )


def _takes_any_keyword(cls: type) -> bool:
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
