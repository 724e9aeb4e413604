"""A monotone numeric transform folded into a tree model's cuts: no transform at all.

A tree asks ``T(x) <= t`` of the transformed value. When ``T`` is, per column, a
non-decreasing function of the raw value (``to_float`` on numbers, a median, mean or
constant ``SimpleImputer``, a ``StandardScaler`` or ``RobustScaler``, and for XGBoost its
rounding to float32), the raw values with ``T(x) <= t`` are exactly those up to one raw
cut, and a missing value goes where its fill value goes. ``fold_model`` finds each cut by
bisection over the ordered float64 values, asking the compiled transform itself
(``loopml.serve.arrays``), so the decisions, and the predictions, are the model's own to
the bit. Then the raw columns go straight to the tree kernel.

Anything else (another step, a step after the ``ColumnTransformer``, LightGBM's zero as
missing, a categorical split) is not folded: ``fold_model`` returns None and the caller
keeps the transform.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from loopml.serve.trees import CompiledHGB, Tables, Tree, build_tables

ColumnFunction = Callable[[np.ndarray], np.ndarray]  # raw float64 values -> transformed
Columns = dict[str, np.ndarray]

_SIGN = np.uint64(1 << 63)
_LOW = np.uint64((1 << 63) - 1)


@dataclass(frozen=True)
class Part:
    """One group of the ColumnTransformer: its output columns ``where`` from the raw
    ``columns``; ``run`` (its compiled transform) when it is not folded."""

    where: slice
    columns: list[str]
    run: Callable[[Columns], np.ndarray] | None


@dataclass(frozen=True)
class FoldedModel:
    """A tree model whose numeric groups read raw columns (see the module docstring)."""

    parts: list[Part]
    width: int
    tables: Tables
    estimator: Any  # CompiledBooster or CompiledHGB: its link

    @property
    def columns(self) -> list[str]:
        """The raw column of each folded output column (None for the others)."""
        out: list[Any] = [None] * self.width
        for part in self.parts:
            if part.run is None:
                out[part.where] = part.columns
        return out

    def accepts(self, columns: Columns) -> bool:
        """Every column a folded group reads holds numbers (float64) already."""
        return all(
            columns[name].dtype == np.float64
            for part in self.parts
            if part.run is None
            for name in part.columns
        )

    def outputs(self, columns: Columns) -> np.ndarray:
        """What the estimator's ``predict_proba`` (classifier) or ``predict`` gives."""
        n = len(next(iter(columns.values())))
        X = np.empty((n, self.width), dtype=np.float64)
        for part in self.parts:
            if part.run is None:
                _copy_columns(X, part.where.start, [columns[name] for name in part.columns])
            else:
                X[:, part.where] = part.run({c: columns[c] for c in part.columns})
        raw = self.tables.raw_predict(X)
        estimator = self.estimator
        if isinstance(estimator, CompiledHGB):
            loss = estimator.model._loss
            if hasattr(estimator.model, "classes_"):
                return np.asarray(loss.predict_proba(raw))
            return np.asarray(loss.link.inverse(raw.ravel()))
        return np.asarray(estimator.link(raw))


COPY_ROWS = 8192  # rows copied at a time: the block of X stays in cache


def _copy_columns(X: np.ndarray, first: int, arrays: list[np.ndarray]) -> None:
    """``arrays`` into ``X``'s columns from ``first`` on, a block of rows at a time (a
    third faster than a column at a time down the whole of X)."""
    for start in range(0, X.shape[0], COPY_ROWS):
        rows = slice(start, start + COPY_ROWS)
        for offset, array in enumerate(arrays):
            X[rows, first + offset] = array[rows]


def fold_model(ct: Any, after: list[Any], estimator: Any) -> FoldedModel | None:
    """``estimator`` (compiled) with the numeric groups of the fitted ColumnTransformer
    ``ct`` folded into its cuts; None when none can be (see the module docstring)."""
    from loopml.serve.boosters import CompiledBooster

    if after or not isinstance(estimator, CompiledBooster | CompiledHGB):
        return None
    if isinstance(estimator, CompiledHGB) and estimator._finite_only:
        return None
    found = _parts(ct)
    if found is None:
        return None
    parts, functions = found
    tables = estimator.tables
    if not tables.trees or all(part.run is not None for part in parts):
        return None
    if isinstance(estimator, CompiledBooster) and estimator.float32_input:
        functions = [_rounded(f) for f in functions]  # every column: XGBoost rounds them all
    trees = fold_trees(list(tables.trees), functions)
    if trees is None:
        return None
    folded = build_tables(trees, tables.baseline, tables.per_iteration)
    if folded is None:
        return None
    return FoldedModel(parts, _width(ct), folded, estimator)


def fold_trees(trees: list[Tree], functions: list[ColumnFunction | None]) -> list[Tree] | None:
    """``trees`` deciding on raw values as they decided on ``functions[f](x)`` (each
    non-decreasing; None: the value itself); None for a categorical or zero-as-missing
    split on a folded feature."""
    per_feature: dict[int, list[tuple[int, int]]] = {}
    for t, tree in enumerate(trees):
        for node in map(int, np.flatnonzero(tree.left >= 0)):
            feature = int(tree.feature[node])
            if functions[feature] is None:
                continue
            zero = tree.zero_band is not None and bool(tree.zero_band[node])
            if zero or node in tree.categories:
                return None
            per_feature.setdefault(feature, []).append((t, node))
    thresholds = [tree.threshold.copy() for tree in trees]
    nan_left = [tree.nan_left.copy() for tree in trees]
    for feature, nodes in per_feature.items():
        function = functions[feature]
        assert function is not None
        cuts = np.array([trees[t].threshold[n] for t, n in nodes])
        raw = raw_cuts(function, cuts)
        if raw is None:
            return None
        fill = function(np.array([np.nan]))
        for (t, n), cut in zip(nodes, raw, strict=True):
            thresholds[t][n] = cut
            nan_left[t][n] = bool(trees[t].goes_left(n, fill)[0])
    return [
        replace(tree, threshold=thresholds[t], nan_left=nan_left[t]) for t, tree in enumerate(trees)
    ]


def raw_cuts(function: ColumnFunction, cuts: np.ndarray) -> np.ndarray | None:
    """For each cut ``t``, the largest raw float64 ``x`` with ``function(x) <= t``
    (``function`` non-decreasing); None when even -inf is above a cut."""
    with np.errstate(over="ignore"):  # scaling the largest floats overflows to inf: fine
        return _bisect(function, cuts)


def _bisect(function: ColumnFunction, cuts: np.ndarray) -> np.ndarray | None:
    low = _key(np.full(len(cuts), -np.inf))
    high = _key(np.full(len(cuts), np.inf))
    if not np.all(function(_value(low)) <= cuts):
        return None
    top = function(_value(high)) <= cuts
    # invariant: function(value(low)) <= t < function(value(high)), unless ``top``
    for _ in range(64):
        if np.all(high - low <= 1):
            break
        middle = low + (high - low) // np.uint64(2)
        left = function(_value(middle)) <= cuts
        low = np.where(left, middle, low)
        high = np.where(left, high, middle)
    return np.where(top, np.inf, _value(low))


def _key(x: np.ndarray) -> np.ndarray:
    """float64 -> uint64 in the same order (NaN aside)."""
    bits = x.view(np.uint64)
    return np.where(bits & _SIGN, ~bits, bits | _SIGN)


def _value(key: np.ndarray) -> np.ndarray:
    bits = np.where(key & _SIGN, key & ~_SIGN, ~key)
    return np.ascontiguousarray(bits, dtype=np.uint64).view(np.float64)


def _rounded(function: ColumnFunction | None) -> ColumnFunction:
    """``function`` then XGBoost's rounding to float32."""

    def run(x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            y = x if function is None else function(x)
            return np.asarray(y, dtype=np.float64).astype(np.float32).astype(np.float64)

    return run


def _width(ct: Any) -> int:
    return max((where.stop for where in ct.output_indices_.values()), default=0)


def _parts(ct: Any) -> tuple[list[Part], list[ColumnFunction | None]] | None:
    """The groups of ``ct`` and, per output column, the function a folded group applies
    (None for the others); None when ``ct`` cannot be compiled whole."""
    from loopml.serve.arrays import _compile_group

    names_in = list(getattr(ct, "feature_names_in_", []))
    if not names_in or getattr(ct, "sparse_output_", False):
        return None
    functions: list[ColumnFunction | None] = [None] * _width(ct)
    parts = []
    for name, transformer, cols in ct.transformers_:
        where = ct.output_indices_[name]
        if transformer == "drop" or where.stop == where.start:
            continue
        cols = [names_in[c] if isinstance(c, int | np.integer) else c for c in cols]
        steps = _monotone_steps(transformer)
        if steps is not None and len(cols) == where.stop - where.start:
            parts.append(Part(where, cols, None))
            for offset in range(len(cols)):
                functions[where.start + offset] = _one_column(steps, offset, len(cols))
            continue
        fallbacks: list[str] = []
        run = _compile_group(name, transformer, fallbacks)
        if fallbacks:
            return None
        parts.append(Part(where, cols, run))
    return parts, functions


def _one_column(
    steps: list[Callable[[np.ndarray], np.ndarray]], offset: int, width: int
) -> ColumnFunction:
    """Column ``offset`` of the group's steps (which act on each column alone)."""

    def run(x: np.ndarray) -> np.ndarray:
        X = np.zeros((len(x), width))
        X[:, offset] = x
        for step in steps:
            X = step(X)
        return np.asarray(X[:, offset], dtype=np.float64)

    return run


def _monotone_steps(transformer: Any) -> list[Callable[[np.ndarray], np.ndarray]] | None:
    """The group's compiled steps after ``to_float``, when each is non-decreasing per
    column; None otherwise."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import RobustScaler, StandardScaler

    from loopml.serve.arrays import _columns_to_float, _flatten, _known_first, _known_step

    if transformer == "passthrough":
        return []
    steps = [step for _, step in _flatten(transformer)]
    if _known_first(steps[0]) is not _columns_to_float:  # the group starts with to_float
        return None
    out = []
    for step in steps[1:]:
        if type(step) is SimpleImputer:
            missing = step.missing_values
            if not (isinstance(missing, float) and math.isnan(missing)) or step.add_indicator:
                return None
            if np.asarray(step.statistics_).dtype.kind != "f":
                return None
        elif type(step) in (StandardScaler, RobustScaler):
            scale = step.scale_
            if scale is not None and not np.all(np.asarray(scale) > 0):
                return None
        else:
            return None
        fast = _known_step(step)
        if fast is None:
            return None
        out.append(fast)
    return out
