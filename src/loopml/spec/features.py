"""Spec section ``features``: how the input columns become the model's numbers.

Everything here is compiled into one scikit-learn transform that is fitted on the training
rows and saved with the model (``loopml.features.compile``). In YAML::

    features:
      exclude: [duration]                     # never a feature (leakage, ids)
      numeric: {impute: median, scale: standard}
      categorical: {encoding: onehot, rare_min_frequency: 0.01, max_categories: 50}
      dates: [year, month, dayofweek, hour]
      text: {max_features: 2000, ngram_max: 2}
      derived:
        - {name: balance_per_campaign, expr: "balance / (campaign + 1)"}
      bins:
        age: {bins: 5, strategy: quantile}
      custom:
        - {function: "my_package.features:add_ratios", columns: [balance, campaign]}
      overrides:
        month: {encoding: onehot}             # a numeric code read as a category
        cut: {encoding: ordinal, order: [Fair, Good, Very Good, Premium, Ideal]}
        pdays: {impute: constant, scale: none}
        previous: {drop: true}
      selection: {method: mutual_info, k: 20}
"""

from __future__ import annotations

import ast
import re
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from loopml.spec.base import Section
from loopml.spec.columns import check_order

NumericImpute = Literal["median", "mean", "most_frequent", "constant", "none"]
CategoricalImpute = Literal["most_frequent", "constant"]
Scale = Literal["standard", "robust", "minmax", "none"]
Encoding = Literal["onehot", "ordinal", "target"]
DatePart = Literal["year", "month", "day", "dayofweek", "hour", "dayofyear", "is_weekend"]
DATE_PARTS: tuple[DatePart, ...] = (
    "year",
    "month",
    "day",
    "dayofweek",
    "hour",
    "dayofyear",
    "is_weekend",
)
DEFAULT_DATE_PARTS: tuple[DatePart, ...] = ("year", "month", "dayofweek", "hour")
SelectionMethod = Literal["importance", "correlation", "mutual_info"]
DEFAULT_CORRELATION = 0.95  # |r| above which one of a pair of features is dropped
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IMPORT_PATH = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
    r"(:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)?$"
)
_BACKTICKED = re.compile(r"`[^`]*`")


class NumericSpec(Section):
    """Numeric columns: missing values filled (``constant`` fills 0; ``none`` leaves them
    for models that take NaN), then scaled."""

    impute: NumericImpute = "median"
    scale: Scale = "standard"


class CategoricalSpec(Section):
    """Categorical and boolean columns.

    Categories in less than ``rare_min_frequency`` of the training rows, and those beyond
    the ``max_categories`` most frequent, are grouped into one ``__rare__`` category
    (which also takes the categories first seen after training). Missing values become
    ``__missing__`` (``constant``) or the most frequent category. ``encoding``: ``onehot``
    (unknown categories give all zeros), ``ordinal`` (unknown ones give -1) or ``target``
    (the cross-fitted mean of the target; unknown ones give its overall mean).
    """

    encoding: Encoding = "onehot"
    rare_min_frequency: float = Field(default=0.01, ge=0.0, lt=1.0)
    max_categories: int | None = Field(default=50, ge=1)
    impute: CategoricalImpute = "constant"


class TextSpec(Section):
    """Text columns become TF-IDF weights of their ``max_features`` most frequent words
    and word n-grams of up to ``ngram_max`` words (a dense block: keep it modest)."""

    max_features: int = Field(default=2000, ge=1, le=5000)
    ngram_max: int = Field(default=2, ge=1, le=3)


class Derived(Section):
    """A new numeric column computed from others by a row expression (the language of
    ``data.validation.checks``, with arithmetic): ``balance / (campaign + 1)``. A division
    by zero gives a missing value; comparisons give 1 or 0 (missing where a value they
    compare is missing). Missing values are then imputed as numeric ones are."""

    name: str
    expr: str

    @field_validator("name")
    @classmethod
    def _identifier(cls, name: str) -> str:
        if not _NAME.match(name) or "__" in name:
            raise ValueError(
                f"'{name}' is not a usable column name: letters, digits and single '_', "
                "not starting with a digit"
            )
        return name

    @field_validator("expr")
    @classmethod
    def _parses(cls, expr: str) -> str:
        try:
            ast.parse(_BACKTICKED.sub("_", expr).strip(), mode="eval")
        except SyntaxError as exc:
            raise ValueError(f"'{expr}' is not a valid expression ({exc.msg})") from None
        return expr


class BinSpec(Section):
    """A numeric column cut into ``bins`` intervals (``quantile``: equal counts;
    ``uniform``: equal widths), encoded ``onehot`` or as the ``ordinal`` bin number.
    The bins replace the raw column."""

    bins: int = Field(default=5, ge=2, le=100)
    strategy: Literal["quantile", "uniform"] = "quantile"
    encode: Literal["onehot", "ordinal"] = "onehot"


class CustomFeature(Section):
    """A function of yours, ``f(DataFrame) -> DataFrame | ndarray``, given ``columns``
    and returning new numeric features (prefixed ``name_prefix``).

    ``function`` is an import path, ``package.module:function`` or
    ``package.module.function``. The fitted model keeps the path, not the code: the module
    must be importable wherever the model is trained, loaded and served.
    """

    function: str
    columns: list[str] = Field(min_length=1)
    name_prefix: str | None = None

    @field_validator("function")
    @classmethod
    def _import_path(cls, function: str) -> str:
        if not _IMPORT_PATH.match(function) or ("." not in function and ":" not in function):
            raise ValueError(f"'{function}' is not an import path; write 'package.module:function'")
        return function

    @field_validator("name_prefix")
    @classmethod
    def _prefix(cls, prefix: str | None) -> str | None:
        if prefix is not None and (not _NAME.match(prefix) or "__" in prefix):
            raise ValueError(f"'{prefix}' is not a usable prefix: letters, digits and '_'")
        return prefix


class ColumnOverride(Section):
    """Settings for one column instead of its kind's. ``encoding`` on a numeric or
    boolean column reads its values as categories (``hr: {encoding: onehot}``);
    ``order`` with ``encoding: ordinal`` gives the codes' order, lowest first
    (``cut: {encoding: ordinal, order: [Fair, Good, Very Good, Premium, Ideal]}``;
    without it an ordinal column keeps its own order and another column's categories
    are coded alphabetically); ``drop: true`` keeps the column out of the features
    (derived and custom features may still use it)."""

    encoding: Encoding | None = None
    order: list[str | int | float | bool] | None = None
    impute: NumericImpute | None = None
    scale: Scale | None = None
    drop: bool = False

    @model_validator(mode="after")
    def _order_fits(self) -> Self:
        if self.order is not None:
            if self.encoding not in (None, "ordinal"):
                raise ValueError(f"'order' needs 'encoding: ordinal', not '{self.encoding}'")
            check_order(self.order, "order")
        return self

    @property
    def levels(self) -> list[str] | None:
        """``order`` as category strings (``1`` is ``"1"``), or None."""
        return None if self.order is None else check_order(self.order, "order")


class SelectionSpec(Section):
    """Feature selection, fitted with the transform on the training rows only.

    ``importance``: a quick tree ensemble's importances; keep the ``k`` most important,
    or those of at least ``threshold``, or else those above the mean importance.
    ``correlation``: of each pair of features with |r| above ``threshold`` (default
    0.95) drop the later one. ``mutual_info``: keep the ``k`` features with the most
    mutual information with the target, or those with at least ``threshold``.
    """

    method: SelectionMethod
    k: int | None = Field(default=None, ge=1)
    threshold: float | None = Field(default=None, ge=0.0)

    @model_validator(mode="after")
    def _fits_method(self) -> Self:
        if self.method == "correlation":
            if self.k is not None:
                raise ValueError("method 'correlation' takes 'threshold' (|r|), not 'k'")
            if self.threshold is not None and not 0.0 < self.threshold <= 1.0:
                raise ValueError("method 'correlation': threshold is an |r| in (0, 1]")
        elif self.k is not None and self.threshold is not None:
            raise ValueError(f"method '{self.method}': give 'k' or 'threshold', not both")
        if self.method == "mutual_info" and self.k is None and self.threshold is None:
            raise ValueError("method 'mutual_info' needs 'k' (features to keep) or 'threshold'")
        return self

    @property
    def correlation_threshold(self) -> float:
        return DEFAULT_CORRELATION if self.threshold is None else self.threshold


class FeaturesSpec(Section):
    """How feature columns become the model's input; see the module docstring."""

    exclude: list[str] = Field(default_factory=list)
    numeric: NumericSpec = Field(default_factory=NumericSpec)
    categorical: CategoricalSpec = Field(default_factory=CategoricalSpec)
    dates: list[DatePart] = Field(default_factory=lambda: list(DEFAULT_DATE_PARTS))
    text: TextSpec = Field(default_factory=TextSpec)
    derived: list[Derived] = Field(default_factory=list)
    bins: dict[str, BinSpec] = Field(default_factory=dict)
    custom: list[CustomFeature] = Field(default_factory=list)
    overrides: dict[str, ColumnOverride] = Field(default_factory=dict)
    selection: SelectionSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names = [d.name for d in self.derived]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"derived: the name '{twice[0]}' is given twice")
        if len(set(self.dates)) != len(self.dates):
            raise ValueError("dates: a part is listed twice")
        prefixes = [c.name_prefix for c in self.custom if c.name_prefix]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError("custom: two functions share a name_prefix")
        for column, override in self.overrides.items():
            if column in self.bins and (override.encoding or override.impute or override.scale):
                raise ValueError(
                    f"overrides.{column}: the column is binned (bins.{column}); only 'drop' applies"
                )
        return self

    def named_columns(self) -> list[tuple[str, str]]:
        """``(field, column)`` for every input column this section names (not the derived
        ones), so the project spec can check them against ``data.columns``."""
        derived = {d.name for d in self.derived}
        named = [("features.exclude", c) for c in self.exclude]
        named += [("features.bins", c) for c in self.bins]
        named += [("features.overrides", c) for c in self.overrides]
        for i, custom in enumerate(self.custom):
            named += [(f"features.custom[{i}].columns", c) for c in custom.columns]
        return [(where, c) for where, c in named if c not in derived]
