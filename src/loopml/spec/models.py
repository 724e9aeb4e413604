"""Spec section ``models``: the candidate algorithms, their search spaces and the search.

In YAML::

    models:
      candidates: [linear, lightgbm, xgboost, my_svm]   # default: the five built-ins
      custom:                                           # any scikit-learn estimator
        - name: my_svm
          estimator: sklearn.svm:SVC                    # or sklearn.svm.SVC
          params: {probability: true}                   # fixed arguments
          space: {C: {low: 0.01, high: 100, log: true}}
      spaces:                                           # change built-in spaces per name
        lightgbm:
          num_leaves: {low: 8, high: 64}                # int: low and high are ints
          learning_rate: {low: 0.02, high: 0.2, log: true}
          boosting_type: {choices: [gbdt, dart]}
      search: {trials: 50, timeout_s: 600, folds: 3, pruning: true, workers: 2, seed: 42}
      imbalance: balanced        # class weights for classifiers; none leaves them equal
      early_stopping: true       # boosted trees stop on a slice of each fold's training part
      device: cpu                # cuda: XGBoost and LightGBM train on the GPU
      random_state: 42           # the estimators' seed

``search.trials: 0`` skips the search: the first candidate is fitted with its default
parameters (a run of n trials, n the number of candidates, first tries each default).
"""

from __future__ import annotations

import math
from typing import Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from loopml.spec.base import Section

BuiltinKind = Literal["linear", "random_forest", "hist_gradient_boosting", "lightgbm", "xgboost"]
BUILTIN_KINDS: tuple[BuiltinKind, ...] = (
    "linear",
    "random_forest",
    "hist_gradient_boosting",
    "lightgbm",
    "xgboost",
)
Imbalance = Literal["none", "balanced"]
Device = Literal["cpu", "cuda"]
Scalar = str | int | float | bool | None
_MODEL_NAME = r"^[A-Za-z][A-Za-z0-9_]*$"


def _number(value: Any, field: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"'{field}' must be a number, got {value!r}")
    return value


class ParamSpace(Section):
    """The values one hyperparameter may take: a range or a list of choices.

    ``{low, high}`` is a range of integers when both bounds are integers (``{low: 8,
    high: 64}``), of floats otherwise (``{low: 0.01, high: 0.3}``); ``log: true`` samples
    it on a log scale (bounds above 0), ``step`` on a grid. ``{choices: [...]}`` picks one
    of the listed values (strings, numbers, booleans or null); one choice fixes the value.
    """

    low: int | float | None = None
    high: int | float | None = None
    log: bool = False
    step: int | float | None = None
    choices: list[Scalar] | None = None

    @field_validator("low", "high", "step", mode="before")
    @classmethod
    def _numbers(cls, value: Any, info: Any) -> Any:
        return None if value is None else _number(value, info.field_name)

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        ranged = self.low is not None or self.high is not None
        if self.choices is not None:
            if ranged or self.step is not None or self.log:
                raise ValueError("give either 'choices' or 'low'/'high' (with log, step), not both")
            if not self.choices:
                raise ValueError("'choices' needs at least one value")
            return self
        if self.low is None or self.high is None:
            raise ValueError("give 'low' and 'high' (a range) or 'choices' (a list)")
        if not math.isfinite(self.low) or not math.isfinite(self.high) or self.low > self.high:
            raise ValueError(f"need finite low <= high, got low {self.low}, high {self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0, got {self.low}")
        if self.step is not None:
            if self.step <= 0:
                raise ValueError(f"'step' must be above 0, got {self.step}")
            if self.log:
                raise ValueError("'step' and 'log: true' cannot be combined")
            if self.kind == "int" and not isinstance(self.step, int):
                raise ValueError(f"an integer range needs an integer step, got {self.step}")
        return self

    @property
    def kind(self) -> Literal["int", "float", "categorical"]:
        """``int`` (both bounds integers), ``float`` or ``categorical``."""
        if self.choices is not None:
            return "categorical"
        if isinstance(self.low, int) and isinstance(self.high, int):
            return "int"
        return "float"

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one this space can produce (for default starting points)."""
        if self.choices is not None:
            return any(type(value) is type(c) and value == c for c in self.choices)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.kind == "int" and not isinstance(value, int):
            return False
        assert self.low is not None and self.high is not None
        return self.low <= value <= self.high


class CustomModel(Section):
    """A scikit-learn compatible estimator named by its import path.

    ``estimator`` is ``package.module:Class`` or ``package.module.Class``; ``params`` are
    fixed constructor arguments; ``space`` the hyperparameters to search. ``n_jobs``,
    ``random_state`` and ``class_weight`` are set by loopml when the estimator has them
    and ``params`` does not.
    """

    name: str = Field(pattern=_MODEL_NAME)
    estimator: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    space: dict[str, ParamSpace] = Field(default_factory=dict)

    @field_validator("estimator")
    @classmethod
    def _import_path(cls, value: str) -> str:
        path = value.strip()
        module, sep, attr = path.rpartition(":") if ":" in path else path.rpartition(".")
        if not module or not attr or not sep:
            raise ValueError(
                f"'{value}' is not an import path; write e.g. sklearn.svm:SVC or sklearn.svm.SVC"
            )
        return path


class SearchSpec(Section):
    """The hyperparameter search: budget, cross-validation, pruning, parallelism, seed.

    ``trials`` is the most trials (0: fit each candidate once with its defaults);
    ``timeout_s`` stops starting new trials after that many seconds; ``folds`` is the
    number of cross-validation folds; ``pruning`` stops a trial early when its running
    score is worse than the median of earlier trials after the same fold; ``workers``
    processes share the trials (each with cores / workers threads); ``seed`` fixes the
    sampler and the folds.
    """

    trials: int = Field(default=50, ge=0)
    timeout_s: float | None = Field(default=None, gt=0)
    folds: int = Field(default=3, ge=2, le=20)
    pruning: bool = True
    workers: int = Field(default=1, ge=1)
    seed: int = 42


def _builtin_names() -> list[str]:
    return [str(kind) for kind in BUILTIN_KINDS]


class ModelsSpec(Section):
    """Which models to try and how to search them (see the module docstring)."""

    candidates: list[str] = Field(default_factory=lambda: _builtin_names(), min_length=1)
    custom: list[CustomModel] = Field(default_factory=list)
    spaces: dict[str, dict[str, ParamSpace]] = Field(default_factory=dict)
    search: SearchSpec = Field(default_factory=SearchSpec)
    imbalance: Imbalance = "balanced"
    early_stopping: bool = True
    device: Device = "cpu"
    random_state: int = 42

    @model_validator(mode="after")
    def _names_known(self) -> Self:
        custom = [c.name for c in self.custom]
        clash = sorted(set(custom) & set(BUILTIN_KINDS))
        if clash:
            raise ValueError(f"custom model name '{clash[0]}' is a built-in kind; rename it")
        dupes = sorted({n for n in custom if custom.count(n) > 1})
        if dupes:
            raise ValueError(f"custom model '{dupes[0]}' is defined twice")
        known = [*BUILTIN_KINDS, *custom]
        for name in self.candidates:
            if name not in known:
                raise ValueError(
                    f"candidates: unknown model '{name}'; use one of {', '.join(known)} "
                    "(or define it under models.custom)"
                )
        repeated = sorted({n for n in self.candidates if self.candidates.count(n) > 1})
        if repeated:
            raise ValueError(f"candidates: '{repeated[0]}' is listed twice")
        for name in self.spaces:
            if name not in known:
                raise ValueError(f"spaces: unknown model '{name}'; use one of {', '.join(known)}")
        return self

    def custom_model(self, name: str) -> CustomModel | None:
        """The custom model called ``name``, or None (a built-in kind or unknown)."""
        return next((c for c in self.custom if c.name == name), None)
