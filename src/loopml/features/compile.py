"""Compile the ``features`` spec and the input signature into one scikit-learn transform.

The transform is a ``Pipeline``: derived columns (when the spec has some), then a
``ColumnTransformer`` with one transformer per kind of column and per set of settings,
then feature selection (when asked). It is fitted on the training rows, pickled into the
model bundle and unpickled for serving: serving applies the same fitted object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, RobustScaler, StandardScaler

from loopml.data.expressions import column_names
from loopml.domain import ColumnKind, Schema
from loopml.errors import DataError, SpecError
from loopml.features.binning import Binner
from loopml.features.custom import ImportedFunction, resolve_function
from loopml.features.dates import DateFeatures
from loopml.features.derived import DerivedColumns
from loopml.features.encoders import (
    MISSING,
    RareCategoryGrouper,
    make_encoder,
    ordinal_pipeline,
)
from loopml.features.select import FeatureSelector
from loopml.features.text import TfidfColumns
from loopml.features.transform import to_float, to_strings
from loopml.spec.features import BinSpec, ColumnOverride, FeaturesSpec

TASKS = ("classification", "regression")
_CATEGORICAL_IMPUTE = ("most_frequent", "constant")


@dataclass(frozen=True)
class _Group:
    """Columns that share one transformer: a role and its settings."""

    role: str  # numeric, categorical, datetime, text, binned
    settings: tuple[Any, ...]


def compile_transform(
    signature: Schema, spec: FeaturesSpec, task: str, *, random_state: int = 42
) -> Pipeline:
    """An unfitted transform from a DataFrame of ``signature``'s columns to a dense float
    array, as ``spec`` declares.

    - derived columns are computed first and are numeric from then on;
    - numeric: to float (text that is not a number becomes missing), imputed, scaled;
    - categorical and boolean (and numeric columns given an ``encoding`` override): as
      category strings, imputed, rare categories grouped, encoded;
    - ordinal (and columns given an ``order`` override): as category strings, coded
      0, 1, ... in their order (``OrdinalEncoder`` with that order); a missing or unknown
      level is imputed (the most frequent code, or -1 under ``impute: constant``);
    - datetime: the date parts ``spec.dates``, imputed and scaled as numbers;
    - text: TF-IDF; binned columns: bins instead of the raw values; custom functions:
      their outputs, as they are;
    - ``spec.selection``: a final step that keeps the chosen columns.

    ``get_feature_names_out()`` of the fitted pipeline names every output column
    (``numeric__age``, ``categorical__job_admin``, ``text__note_late``...).

    Args:
        signature: the feature columns (names and kinds) the model takes.
        spec: the ``features`` section of the project spec.
        task: ``classification`` or ``regression`` (target encoding and selection).
        random_state: seed of target encoding's folds, binning samples and selection.

    Raises:
        SpecError: the spec names a column that is not a feature, gives a setting that
            does not apply to a column's kind, an expression that does not parse, or a
            custom function that does not import.
        DataError: no column is left to use.
    """
    if task not in TASKS:
        raise SpecError(f"problem.task: unknown task '{task}'; use one of {', '.join(TASKS)}")
    kinds = {col.name: col.kind for col in signature.columns}
    _check_derived(spec, kinds)
    for d in spec.derived:
        kinds[d.name] = ColumnKind.NUMERIC
    _check_columns(spec, kinds)
    orders = {
        col.name: col.categories
        for col in signature.columns
        if col.kind is ColumnKind.ORDINAL and col.categories
    }
    transformers = _column_transformers(spec, kinds, orders, task, random_state)
    if not transformers:
        raise DataError(
            f"no usable feature column among {signature.names()}; add feature columns or "
            "remove features.overrides.*.drop"
        )
    steps: list[tuple[str, Any]] = []
    if spec.derived:
        steps.append(("derive", DerivedColumns(tuple((d.name, d.expr) for d in spec.derived))))
    columns = ColumnTransformer(
        transformers, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=True
    )
    steps.append(("columns", columns))
    if spec.selection is not None:
        selection = spec.selection
        selector = FeatureSelector(
            method=selection.method,
            k=selection.k,
            threshold=selection.threshold,
            task=task,
            random_state=random_state,
        )
        steps.append(("select", selector))
    return Pipeline(steps)


def _check_derived(spec: FeaturesSpec, kinds: dict[str, ColumnKind]) -> None:
    known = set(kinds)
    for i, derived in enumerate(spec.derived):
        where = f"features.derived[{i}]"
        if derived.name in known:
            raise SpecError(f"{where}: '{derived.name}' is already a column; choose another name")
        try:
            names = column_names(derived.expr, where=f"{where}.expr")
        except DataError as exc:
            raise SpecError(str(exc)) from exc
        unknown = [n for n in names if n not in known]
        if unknown:
            raise SpecError(
                f"{where}.expr: '{unknown[0]}' is not a feature column or an earlier derived "
                f"column (they are: {', '.join(sorted(known))})"
            )
        known.add(derived.name)


def _check_columns(spec: FeaturesSpec, kinds: dict[str, ColumnKind]) -> None:
    def known(where: str, column: str) -> None:
        if column not in kinds:
            raise SpecError(
                f"{where}: '{column}' is not a feature column (they are: "
                f"{', '.join(kinds)}); excluded, key and time columns are not features"
            )

    for column in spec.bins:
        known("features.bins", column)
        if kinds[column] is not ColumnKind.NUMERIC:
            raise SpecError(
                f"features.bins: '{column}' is {kinds[column]}; only numeric columns are binned"
            )
    for i, custom in enumerate(spec.custom):
        for column in custom.columns:
            known(f"features.custom[{i}].columns", column)
        resolve_function(custom.function)
    for column, override in spec.overrides.items():
        known("features.overrides", column)
        _check_override(column, kinds[column], override)


def _check_override(column: str, kind: ColumnKind, override: ColumnOverride) -> None:
    where = f"features.overrides.{column}"
    as_category = override.encoding is not None or kind in (
        ColumnKind.CATEGORICAL,
        ColumnKind.ORDINAL,
        ColumnKind.BOOLEAN,
    )
    if kind in (ColumnKind.DATETIME, ColumnKind.TEXT) and override.encoding is not None:
        raise SpecError(f"{where}: 'encoding' does not apply to a {kind} column")
    if kind in (ColumnKind.DATETIME, ColumnKind.TEXT) and override.order is not None:
        raise SpecError(f"{where}: 'order' does not apply to a {kind} column")
    if kind is ColumnKind.TEXT and (override.impute or override.scale):
        raise SpecError(f"{where}: only 'drop' applies to a text column")
    if as_category and kind is not ColumnKind.DATETIME:
        if override.scale is not None:
            raise SpecError(f"{where}: 'scale' does not apply to a categorical column")
        if override.impute is not None and override.impute not in _CATEGORICAL_IMPUTE:
            raise SpecError(
                f"{where}: impute '{override.impute}' does not apply to a categorical column; "
                f"use {' or '.join(_CATEGORICAL_IMPUTE)}"
            )


def _column_transformers(
    spec: FeaturesSpec,
    kinds: dict[str, ColumnKind],
    orders: dict[str, tuple[str, ...]],
    task: str,
    random_state: int,
) -> list[tuple[str, Any, list[str]]]:
    groups: dict[_Group, list[str]] = {}
    levels: dict[str, tuple[str, ...]] = {}
    for column, kind in kinds.items():
        order = _ordinal_levels(column, kind, orders, spec)
        if order is not None:
            levels[column] = order
            impute = spec.overrides.get(column, ColumnOverride()).impute
            group: _Group | None = _Group("ordinal", (impute or spec.categorical.impute,))
        else:
            group = _group_of(column, kind, spec)
        if group is not None:
            groups.setdefault(group, []).append(column)
    transformers: list[tuple[str, Any, list[str]]] = []
    names: set[str] = set()
    for group, columns in groups.items():
        name = _unique(_group_name(group, spec), names)
        if group.role == "ordinal":
            maker = ordinal_pipeline([levels[c] for c in columns], group.settings[0])
        else:
            maker = _make(group, spec, task, random_state)
        transformers.append((name, maker, columns))
    for custom in spec.custom:
        short = custom.function.replace(":", ".").rsplit(".", 1)[-1]
        name = _unique(custom.name_prefix or f"custom_{short}", names)
        transformers.append((name, ImportedFunction(custom.function), list(custom.columns)))
    return transformers


def _ordinal_levels(
    column: str, kind: ColumnKind, orders: dict[str, tuple[str, ...]], spec: FeaturesSpec
) -> tuple[str, ...] | None:
    """The levels, lowest first, of a column coded in a given order: an ``order``
    override, or an ordinal column's own order (unless an override encodes it otherwise)."""
    override = spec.overrides.get(column, ColumnOverride())
    if override.drop or column in spec.bins:
        return None
    if override.levels is not None:
        return tuple(override.levels)
    if kind is ColumnKind.ORDINAL and column in orders and override.encoding in (None, "ordinal"):
        return orders[column]
    return None


def _group_of(column: str, kind: ColumnKind, spec: FeaturesSpec) -> _Group | None:
    override = spec.overrides.get(column, ColumnOverride())
    if override.drop:
        return None
    if column in spec.bins:
        bins: BinSpec = spec.bins[column]
        return _Group("binned", (bins.bins, bins.strategy, bins.encode))
    if override.encoding is not None or kind in (
        ColumnKind.CATEGORICAL,
        ColumnKind.ORDINAL,
        ColumnKind.BOOLEAN,
    ):
        defaults = spec.categorical
        return _Group(
            "categorical",
            (override.encoding or defaults.encoding, override.impute or defaults.impute),
        )
    if kind is ColumnKind.TEXT:
        return _Group("text", ())
    numeric = (override.impute or spec.numeric.impute, override.scale or spec.numeric.scale)
    if kind is ColumnKind.DATETIME:
        return _Group("datetime", numeric) if spec.dates else None
    return _Group("numeric", numeric)


def _group_name(group: _Group, spec: FeaturesSpec) -> str:
    defaults: dict[str, tuple[Any, ...]] = {
        "numeric": (spec.numeric.impute, spec.numeric.scale),
        "datetime": (spec.numeric.impute, spec.numeric.scale),
        "categorical": (spec.categorical.encoding, spec.categorical.impute),
        "ordinal": (spec.categorical.impute,),
        "text": (),
        "binned": (BinSpec().bins, BinSpec().strategy, BinSpec().encode),
    }
    if defaults.get(group.role) == group.settings:
        return group.role
    return "_".join([group.role, *map(str, group.settings)])


def _unique(name: str, taken: set[str]) -> str:
    name = name.replace("__", "_")
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    taken.add(candidate)
    return candidate


def _make(group: _Group, spec: FeaturesSpec, task: str, random_state: int) -> Any:
    if group.role == "categorical":
        encoding, impute = group.settings
        return _categorical(encoding, impute, spec, task, random_state)
    if group.role == "text":
        return TfidfColumns(spec.text.max_features, spec.text.ngram_max)
    if group.role == "binned":
        n_bins, strategy, encode = group.settings
        return Pipeline(
            [
                ("to_float", _to_float()),
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                ("bin", Binner(n_bins, strategy, encode, random_state)),
            ]
        )
    impute, scale = group.settings
    first: tuple[str, Any] = (
        ("parts", DateFeatures(tuple(spec.dates)))
        if group.role == "datetime"
        else ("to_float", _to_float())
    )
    return Pipeline([first, *_numeric_steps(impute, scale)])


def _to_float() -> FunctionTransformer:
    return FunctionTransformer(to_float, feature_names_out="one-to-one")


def _numeric_steps(impute: str, scale: str) -> list[tuple[str, Any]]:
    steps: list[tuple[str, Any]] = []
    if impute != "none":
        fill = {"fill_value": 0.0} if impute == "constant" else {}
        steps.append(("impute", SimpleImputer(strategy=impute, keep_empty_features=True, **fill)))
    scalers = {"standard": StandardScaler, "robust": RobustScaler, "minmax": MinMaxScaler}
    if scale != "none":
        steps.append(("scale", scalers[scale]()))
    return steps


def _categorical(
    encoding: str, impute: str, spec: FeaturesSpec, task: str, random_state: int
) -> Pipeline:
    fill = {"fill_value": MISSING} if impute == "constant" else {}
    return Pipeline(
        [
            ("to_str", FunctionTransformer(to_strings, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy=impute, keep_empty_features=True, **fill)),
            (
                "group",
                RareCategoryGrouper(
                    min_frequency=spec.categorical.rare_min_frequency,
                    max_categories=spec.categorical.max_categories,
                ),
            ),
            ("encode", make_encoder(encoding, task, random_state)),
        ]
    )
