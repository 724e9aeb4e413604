"""Feature drift between the training reference and logged traffic, by PSI.

The population stability index of a feature compares the share of rows falling in each
bin of the reference with the share of the current rows in the same bins::

    PSI = sum over bins of (current% - reference%) * ln(current% / reference%)

Numeric features are binned at the reference's deciles (duplicate edges merged, outer
bins open-ended); categorical and boolean features by category, with one more bin for
categories the reference never saw. Missing values always have a bin of their own, so a
rise in missing values is drift too. Shares are floored (``statistics.psi``) so that an
empty bin gives a large but finite score. Usual reading: < 0.1 stable, 0.1-0.2 moderate,
>= 0.2 significant. Datetime and free-text columns are not measured.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loopml.domain import ColumnKind, ColumnSchema, FeatureDrift, Schema
from loopml.errors import DataError
from loopml.model.values import category_strings
from loopml.monitor.statistics import psi

N_BINS = 10
MEASURED_KINDS = (ColumnKind.NUMERIC, ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)


def numeric_bin_counts(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, ...]:
    """Counts of both samples in the reference's decile bins, plus a last bin for NaN."""
    finite = reference[~np.isnan(reference)]
    inner = np.linspace(0.0, 1.0, N_BINS + 1)[1:-1]
    edges = np.unique(np.quantile(finite, inner)) if finite.size else np.empty(0)
    n_bins = edges.size + 2  # edges.size + 1 value bins, then NaN

    def counts(values: np.ndarray) -> np.ndarray:
        index = np.searchsorted(edges, values, side="right")
        index[np.isnan(values)] = n_bins - 1
        return np.bincount(index, minlength=n_bins)

    return counts(reference), counts(current)


def categorical_bin_counts(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, ...]:
    """Counts per reference category, then one bin for unseen categories, then missing."""
    ref_keys, ref_missing = _category_keys(reference)
    categories = pd.Index(pd.unique(ref_keys[~ref_missing]))
    n_bins = len(categories) + 2

    def counts(keys: np.ndarray, missing: np.ndarray) -> np.ndarray:
        index = categories.get_indexer(keys)
        index[index < 0] = len(categories)  # unseen
        index[missing] = len(categories) + 1
        return np.bincount(index, minlength=n_bins)

    return counts(ref_keys, ref_missing), counts(*_category_keys(current))


def _category_keys(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each value as the category string training used (``1``, ``1.0`` and ``"1"`` alike),
    and the missing mask."""
    strings = category_strings(values)
    missing = strings.isna().to_numpy()
    keys = strings.to_numpy(dtype=object, copy=True)
    keys[missing] = ""
    return keys, missing


def compute_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    schema: Schema,
    *,
    threshold: float = 0.2,
    min_rows: int = 30,
    subject: str = "the current data",
) -> list[FeatureDrift]:
    """PSI of every numeric, categorical and boolean column of ``schema``.

    Args:
        reference: the training rows the model learnt from.
        current: logged live rows (extra columns such as ``prediction`` are ignored).
        schema: the model's input signature; its datetime and text columns are skipped.
        threshold: a score at or above it marks the feature as drifted.
        min_rows: fewest current rows worth measuring.
        subject: names the current rows in error messages, e.g. ``bank@2``.

    Returns:
        One ``FeatureDrift(method="psi")`` per measured column, in schema order.

    Raises:
        DataError: too few current rows, an empty reference, a missing column, or a
            numeric column holding values that are not numbers.
    """
    if len(current) < min_rows:
        raise DataError(
            f"only {len(current)} predictions logged for {subject}; need at least "
            f"{min_rows} to measure drift. Send more traffic or lower monitor.min_rows."
        )
    if len(reference) == 0:
        raise DataError("the reference data is empty; drift needs the training rows")
    columns = [c for c in schema.columns if c.kind in MEASURED_KINDS]
    for name, frame in (("reference", reference), ("current", current)):
        missing = [c.name for c in columns if c.name not in frame.columns]
        if missing:
            raise DataError(
                f"the {name} data has no column {', '.join(repr(m) for m in missing)} "
                f"(it has {', '.join(map(str, frame.columns))}); drift needs every "
                "feature of the model's signature"
            )
    return [
        FeatureDrift(col.name, "psi", _feature_psi(col, reference, current), threshold)
        for col in columns
    ]


def _feature_psi(col: ColumnSchema, reference: pd.DataFrame, current: pd.DataFrame) -> float:
    if col.kind is ColumnKind.NUMERIC:
        ref = _as_float(reference[col.name], col.name, "reference")
        cur = _as_float(current[col.name], col.name, "current")
        return psi(*numeric_bin_counts(ref, cur))
    return psi(*categorical_bin_counts(reference[col.name], current[col.name]))


def _as_float(values: pd.Series, name: str, where: str) -> np.ndarray:
    try:
        return pd.to_numeric(values, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise DataError(f"column '{name}' of the {where} data should be numeric: {exc}") from exc
