"""Compare two data snapshots: rows added, removed and changed, schema changes, shifts.

Shifts are measured by the drift engine monitoring uses (``loopml.distributions``): the
test chosen by column type and size, with the project's ``monitor.drift`` settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from loopml.data.schema import infer_kinds, infer_schema
from loopml.distributions.measure import (
    column_orders,
    column_types,
    feature_dict,
    measure_frames,
)
from loopml.domain import FeatureDrift
from loopml.errors import DataError
from loopml.spec.monitoring import DriftSettings


@dataclass(frozen=True)
class SnapshotDiff:
    """What changed from snapshot A to snapshot B.

    Without a key, rows are compared whole: ``added`` are rows of B not in A (counting
    repeats), ``removed`` rows of A not in B, and ``changed`` is always 0. With a key,
    rows are matched by key and ``changed`` counts matched rows whose values differ.
    """

    rows_a: int
    rows_b: int
    added: int
    removed: int
    changed: int
    key: tuple[str, ...]
    columns_added: tuple[str, ...]
    columns_removed: tuple[str, ...]
    kind_changes: tuple[tuple[str, str, str], ...]
    shifts: tuple[FeatureDrift, ...] = field(default=())

    @property
    def shifted(self) -> list[str]:
        return [s.feature for s in self.shifts if s.drifted]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": {"a": self.rows_a, "b": self.rows_b},
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "key": list(self.key),
            "columns_added": list(self.columns_added),
            "columns_removed": list(self.columns_removed),
            "kind_changes": [list(c) for c in self.kind_changes],
            "shifts": [feature_dict(s) for s in self.shifts],
            "shifted": self.shifted,
        }


def diff_frames(
    a: pd.DataFrame,
    b: pd.DataFrame,
    *,
    key: Sequence[str] = (),
    settings: DriftSettings | None = None,
) -> SnapshotDiff:
    """Diff two frames; ``key`` names the columns that identify a row (optional) and
    ``settings`` the drift tests and thresholds (the spec's ``monitor.drift``; default:
    the ``auto`` tests).

    Raises DataError when a key column is missing from either frame.
    """
    common = [c for c in a.columns if c in b.columns]
    for name, frame in (("A", a), ("B", b)):
        missing = [k for k in key if k not in frame.columns]
        if missing:
            raise DataError(f"snapshot {name} has no key column {', '.join(missing)}")
    if key:
        added, removed, changed = _keyed_counts(a, b, list(key), common)
    else:
        added, removed = _row_counts(a[common], b[common])
        changed = 0
    kinds_a, kinds_b = infer_kinds(a[common]), infer_kinds(b[common])
    kind_changes = tuple(
        (c, str(kinds_a[c]), str(kinds_b[c])) for c in common if kinds_a[c] != kinds_b[c]
    )
    unchanged = [c for c in common if kinds_a[c] == kinds_b[c] and c not in key]
    return SnapshotDiff(
        rows_a=len(a),
        rows_b=len(b),
        added=added,
        removed=removed,
        changed=changed,
        key=tuple(key),
        columns_added=tuple(c for c in b.columns if c not in a.columns),
        columns_removed=tuple(c for c in a.columns if c not in b.columns),
        kind_changes=kind_changes,
        shifts=tuple(_shifts(a, b, unchanged, settings)),
    )


def _row_hashes(frame: pd.DataFrame) -> pd.Series:
    return pd.util.hash_pandas_object(frame.astype(str), index=False)


def _row_counts(a: pd.DataFrame, b: pd.DataFrame) -> tuple[int, int]:
    counts = pd.concat(
        [_row_hashes(a).value_counts().rename("a"), _row_hashes(b).value_counts().rename("b")],
        axis=1,
    ).fillna(0)
    delta = counts["b"] - counts["a"]
    return int(delta.clip(lower=0).sum()), int((-delta).clip(lower=0).sum())


def _keyed_counts(
    a: pd.DataFrame, b: pd.DataFrame, key: list[str], common: list[str]
) -> tuple[int, int, int]:
    values = [c for c in common if c not in key]
    left = _keyed(a, key, values)
    right = _keyed(b, key, values)
    both = left.index.intersection(right.index)
    changed = int(np.sum(left.loc[both].to_numpy() != right.loc[both].to_numpy()))
    return len(right.index.difference(left.index)), len(left.index.difference(right.index)), changed


def _keyed(frame: pd.DataFrame, key: list[str], values: list[str]) -> pd.Series:
    keys = frame[key].astype(str).agg("\x1f".join, axis=1)
    if keys.duplicated().any():
        example = keys[keys.duplicated()].iloc[0].replace("\x1f", ", ")
        raise DataError(f"key {', '.join(key)} is not unique: ({example}) repeats")
    return pd.Series(_row_hashes(frame[values]).to_numpy(), index=keys.to_numpy())


def _shifts(
    a: pd.DataFrame, b: pd.DataFrame, columns: list[str], settings: DriftSettings | None
) -> list[FeatureDrift]:
    """Drift of the numeric, categorical and boolean columns of A to B (not dates, text)."""
    if not columns or a.empty or b.empty:
        return []
    schema = infer_schema(a[columns])
    return measure_frames(a, b, column_types(a[columns], schema), settings, column_orders(schema))
