"""Drift of one column: pick the test by type and sample size, score it, judge it.

The rule (``DriftSettings.choose``; document changes in the spec's docstring too):
the smaller of the reference's and the window's non-missing counts decides. Below
``large_sample`` (10,000) rows a p-value test answers "could these samples come from one
distribution?": KS for numbers, chi-square for categories. From ``large_sample`` rows
up every p-value is tiny for a shift too small to matter, so an effect size decides:
the Wasserstein distance divided by the reference's standard deviation for numbers
(0.05 by default: a 0.1-std shift scores 0.1, noise at 10,000 rows about 0.01) and the
Jensen-Shannon distance for categories (0.025). An ordinal column is tested as numbers
are, on the ranks of its levels (KS over the levels' cumulative shares; Wasserstein in
rank steps over the reference's rank standard deviation), so a move up the scale counts
more than the same mass swapped between neighbours. Every other statistic that is cheap
is measured too and kept in ``FeatureDrift.stats``.

A p-value test alerts only when the Jensen-Shannon distance also reaches
``min_effect`` (0.03): below it the change is real but too small to matter (a handful of
odd rows). A categorical column that drifted says which levels moved most in its
``note``: ``'Premium' 25% -> 41%, 'Ideal' 40% -> 30%``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from loopml.distributions import statistics as st
from loopml.distributions.columns import (
    CategoricalReference,
    CategoricalWindow,
    ColumnReference,
    ColumnWindow,
    NumericReference,
    NumericWindow,
    categorical_reference,
    numeric_reference,
    numeric_values,
    ordinal_reference,
)
from loopml.domain import ColumnKind, FeatureDrift, Schema
from loopml.errors import DataError
from loopml.spec.monitoring import DriftSettings

COLUMN_TYPES = ("numeric", "categorical", "ordinal")


def column_types(frame: pd.DataFrame, schema: Schema | None = None) -> dict[str, str]:
    """``numeric``, ``categorical`` or ``ordinal`` for each column worth measuring.

    With ``schema``, its numeric columns are numeric, its categorical and boolean ones
    categorical, its ordinal ones with their levels ordinal (see ``column_orders``;
    datetime and text are skipped). Without, by dtype: numbers (not booleans) are
    numeric; booleans, strings and categories categorical.
    """
    if schema is not None:
        kinds = {ColumnKind.NUMERIC: "numeric", ColumnKind.CATEGORICAL: "categorical"}
        kinds[ColumnKind.BOOLEAN] = kinds[ColumnKind.ORDINAL] = "categorical"
        orders = column_orders(schema)
        return {
            c.name: "ordinal" if c.name in orders else kinds[c.kind]
            for c in schema.columns
            if c.kind in kinds
        }
    types = {}
    for name, dtype in frame.dtypes.items():
        if pd.api.types.is_bool_dtype(dtype):
            types[str(name)] = "categorical"
        elif pd.api.types.is_numeric_dtype(dtype):
            types[str(name)] = "numeric"
        elif pd.api.types.is_string_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
            types[str(name)] = "categorical"
    return types


def column_orders(schema: Schema) -> dict[str, tuple[str, ...]]:
    """The levels, lowest first, of ``schema``'s ordinal columns that list them."""
    return {
        c.name: c.categories
        for c in schema.columns
        if c.kind is ColumnKind.ORDINAL and c.categories
    }


def build_references(
    reference: pd.DataFrame,
    types: Mapping[str, str],
    orders: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, ColumnReference]:
    """Bin each column of ``reference`` named in ``types``; DataError when one is missing.

    An ``ordinal`` column's levels come from ``orders`` (else its categories sorted), so
    that its ranks can be compared (KS and Wasserstein on the ranks)."""
    check_columns(reference, types, "reference")
    references: dict[str, ColumnReference] = {}
    for name, kind in types.items():
        if kind not in COLUMN_TYPES:
            raise DataError(f"column '{name}': type '{kind}' is not one of {COLUMN_TYPES}")
        if kind == "numeric":
            values = numeric_values(reference[name], name, "reference")
            references[name] = numeric_reference(name, values)
        elif kind == "ordinal":
            order = (orders or {}).get(name)
            references[name] = ordinal_reference(name, reference[name], order)
        else:
            references[name] = categorical_reference(name, reference[name])
    return references


def check_columns(frame: pd.DataFrame, names: Iterable[str], where: str) -> None:
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise DataError(
            f"the {where} data has no column {', '.join(repr(m) for m in missing)} "
            f"(it has {', '.join(map(str, frame.columns))})"
        )


def measure_frames(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    types: Mapping[str, str],
    settings: DriftSettings | None = None,
    orders: Mapping[str, Sequence[str]] | None = None,
) -> list[FeatureDrift]:
    """Drift of each column named in ``types`` (``numeric``, ``categorical`` or
    ``ordinal``, with its levels in ``orders``) from ``reference`` to ``current``, both in
    memory; one FeatureDrift per column, in order.

    Raises DataError for a missing column or a numeric column holding text.
    """
    references = build_references(reference, types, orders)
    windows = new_windows(references)
    accumulate(windows, references, current)
    settings = settings or DriftSettings()
    return [measure(references[name], windows[name], settings) for name in types]


def feature_dict(feature: FeatureDrift) -> dict[str, Any]:
    """One column's drift, JSON-ready: its test, score (None when unmeasured), verdict."""
    score = None if feature.score != feature.score else round(feature.score, 6)
    return {
        "column": feature.feature,
        "type": feature.column_type,
        "test": feature.method,
        "score": score,
        "threshold": feature.threshold,
        "drifted": feature.drifted,
        "rows": feature.rows,
        "note": feature.note,
    }


def new_windows(references: Mapping[str, ColumnReference]) -> dict[str, ColumnWindow]:
    return {name: ref.window() for name, ref in references.items()}


def accumulate(
    windows: Mapping[str, ColumnWindow],
    references: Mapping[str, ColumnReference],
    chunk: pd.DataFrame,
    where: str = "current",
) -> None:
    """Add one chunk of rows to every column's window."""
    check_columns(chunk, windows, where)
    for name, window in windows.items():
        reference = references[name]
        if isinstance(window, NumericWindow):
            assert isinstance(reference, NumericReference)
            window.add(numeric_values(chunk[name], name, where), reference)
        else:
            assert isinstance(reference, CategoricalReference)
            window.add(chunk[name], reference)


def measure(
    reference: ColumnReference, window: ColumnWindow, settings: DriftSettings
) -> FeatureDrift:
    """Score one column's window against its reference (see the module docstring)."""
    present = window.rows - window.missing
    ref_present = reference.rows - reference.missing
    test = settings.choose(reference.column_type, min(present, ref_present))
    threshold = settings.thresholds.for_test(test)
    if window.rows == 0:
        return _unjudged(reference, window, test, threshold, "no rows in this window")
    stats = _statistics(reference, window, sample_test=test in ("ks", "chisquare"))
    stats["missing_share"] = window.missing / window.rows
    if present == 0 and ref_present > 0:
        note = f"all {window.rows} value(s) missing (reference: {_share(reference)} missing)"
        return replace(
            _unjudged(reference, window, test, threshold, note), verdict=True, stats=stats
        )
    if ref_present == 0:
        note = "the reference has no values: nothing to compare with"
        return _unjudged(reference, window, test, threshold, note)
    feature = FeatureDrift(
        reference.name, test, stats[test], threshold, reference.column_type, window.rows,
        stats=stats,
    )  # fmt: skip
    return _explained(feature, reference, window, settings)


MOVED_LEVELS = 3  # a drifted categorical column names at most this many levels


def _explained(
    feature: FeatureDrift, reference: ColumnReference, window: ColumnWindow, settings: DriftSettings
) -> FeatureDrift:
    """``feature`` held back by the effect-size floor, or with the levels that moved; a
    categorical column that did not drift but holds new categories names them."""
    if not feature.drifted:
        return _with_new_categories(feature, window)
    effect = feature.stats.get("jensenshannon", math.inf)
    if feature.method in ("ks", "chisquare") and effect < settings.min_effect:
        note = (
            f"{feature.method} p={feature.score:.3g}, but the change is small "
            f"(Jensen-Shannon {effect:.3f} < min_effect {settings.min_effect:g})"
        )
        return replace(feature, verdict=False, note=note)
    if isinstance(reference, CategoricalReference):
        assert isinstance(window, CategoricalWindow)
        return replace(feature, note=moved_levels(reference, window))
    return feature


def _with_new_categories(feature: FeatureDrift, window: ColumnWindow) -> FeatureDrift:
    if not isinstance(window, CategoricalWindow) or not window.counts[-1] or feature.note:
        return feature
    examples = ", ".join(repr(e) for e in sorted(window.examples)[:3])
    return replace(feature, note=f"{int(window.counts[-1])} new value(s): {examples}")


def moved_levels(reference: CategoricalReference, window: CategoricalWindow) -> str:
    """The levels whose share moved most, largest first: ``'Premium' 25% -> 41%``
    (levels training never saw as ``new ('x', 'y')``, missing values as ``missing``)."""
    examples = ", ".join(repr(e) for e in sorted(window.examples)[:3])
    labels = [repr(c) for c in reference.categories] + [f"new ({examples})", "missing"]
    before = np.append(reference.counts, reference.missing) / max(reference.rows, 1)
    after = np.append(window.counts, window.missing) / max(window.rows, 1)
    order = np.argsort(-np.abs(after - before), kind="stable")[:MOVED_LEVELS]
    return ", ".join(
        f"{labels[i]} {before[i]:.0%} -> {after[i]:.0%}" for i in order if after[i] != before[i]
    )


def _unjudged(
    reference: ColumnReference, window: ColumnWindow, test: str, threshold: float, note: str
) -> FeatureDrift:
    return FeatureDrift(
        reference.name, test, math.nan, threshold, reference.column_type, window.rows, note
    )


def _statistics(
    reference: ColumnReference, window: ColumnWindow, sample_test: bool
) -> dict[str, float]:
    if isinstance(reference, NumericReference):
        assert isinstance(window, NumericWindow)
        return _numeric_statistics(reference, window, sample_test)
    assert isinstance(window, CategoricalWindow)
    ref_counts = np.append(reference.counts, reference.missing)
    cur_counts = np.append(window.counts, window.missing)
    stats = {
        "psi": st.psi(ref_counts, cur_counts),
        "jensenshannon": st.js_distance(ref_counts, cur_counts),
        "new_category_share": float(window.counts[-1] / max(window.rows, 1)),
    }
    if sample_test:
        stats["chisquare"] = st.chisquare_pvalue(reference.counts, window.counts)
    if reference.column_type == "ordinal":  # the levels' ranks; new levels left out
        levels = len(reference.categories)
        ref_levels, cur_levels = reference.counts[:levels], window.counts[:levels]
        stats["wasserstein"] = st.ordered_wasserstein(ref_levels, cur_levels)
        stats["ks_statistic"], stats["ks"] = st.ordered_ks(ref_levels, cur_levels)
    return stats


def _numeric_statistics(
    reference: NumericReference, window: NumericWindow, sample_test: bool
) -> dict[str, float]:
    ref_coarse = reference.coarse(reference.counts, reference.missing)
    cur_coarse = reference.coarse(window.counts, window.missing)
    scale = reference.std if reference.std > 0 else 1.0
    present = max(window.rows - window.missing, 1)
    stats = {
        "psi": st.psi(ref_coarse, cur_coarse),
        "jensenshannon": st.js_distance(ref_coarse, cur_coarse),
        "wasserstein": st.wasserstein_binned(
            reference.counts, reference.sums, window.counts, window.sums
        )
        / scale,
        "below_range_share": float(window.counts[0] / present),
        "above_range_share": float(window.counts[-1] / present),
    }
    if window.counts.sum() and present:
        stats["mean_shift_std"] = float(
            (window.sums.sum() / window.counts.sum() - reference.sums.sum() / max(
                reference.counts.sum(), 1
            )) / scale
        )  # fmt: skip
    if sample_test:
        statistic, p_value = st.ks_test(reference.sample, window.sample)
        stats["ks"], stats["ks_statistic"] = p_value, statistic
    return stats


def _share(reference: ColumnReference) -> str:
    return f"{reference.missing / max(reference.rows, 1):.0%}"
