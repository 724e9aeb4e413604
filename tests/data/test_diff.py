"""Snapshot diffs: rows added, removed and changed, schema changes, distribution shifts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.data.diff import diff_frames
from loopml.errors import DataError


def frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "age": rng.normal(40, 10, n).round(1),
            "city": rng.choice(["a", "b", "c"], n),
        }
    )


def test_identical_frames_have_no_difference() -> None:
    a = frame()
    diff = diff_frames(a, a.copy())
    assert (diff.added, diff.removed, diff.changed) == (0, 0, 0)
    assert diff.shifted == [] and diff.kind_changes == ()


def test_rows_added_removed_and_changed_by_key() -> None:
    a = frame()
    b = a.iloc[5:].copy()  # 5 removed
    b.loc[b.index[:3], "age"] += 1  # 3 changed
    b = pd.concat([b, frame(7, seed=1).assign(id=np.arange(1000, 1007))])  # 7 added
    diff = diff_frames(a, b, key=["id"])
    assert (diff.added, diff.removed, diff.changed) == (7, 5, 3)
    unkeyed = diff_frames(a, b)
    assert (unkeyed.added, unkeyed.removed) == (10, 8)  # a changed row = one out, one in


def test_schema_changes_and_shifts_are_named() -> None:
    a = frame(2000)
    b = frame(2000, seed=2).drop(columns=["city"]).assign(extra=1)
    b["age"] = b["age"] + 15  # 1.5 standard deviations
    b["id"] = b["id"].astype(str) + "x"  # numeric -> text
    diff = diff_frames(a, b)
    assert diff.columns_removed == ("city",) and diff.columns_added == ("extra",)
    assert diff.kind_changes[0][0] == "id"
    assert diff.shifted == ["age"]
    assert diff.to_dict()["shifted"] == ["age"]


def test_duplicate_or_missing_key_is_an_error() -> None:
    a = frame()
    with pytest.raises(DataError, match="not unique"):
        diff_frames(pd.concat([a, a.head(1)]), a, key=["id"])
    with pytest.raises(DataError, match="no key column nope"):
        diff_frames(a, a, key=["nope"])


def test_shifts_use_the_drift_engine_and_its_settings() -> None:
    from loopml.spec.monitoring import DriftSettings

    a = frame(2000)
    b = frame(2000, seed=3)
    b["age"] = b["age"] + 15
    diff = diff_frames(a, b)
    methods = {s.feature: s.method for s in diff.shifts}
    assert methods == {"id": "ks", "age": "ks", "city": "chisquare"}
    assert diff.shifted == ["age"] and diff.to_dict()["shifts"][1]["test"] == "ks"
    psi = diff_frames(a, b, settings=DriftSettings(numeric="psi", categorical="psi"))
    assert {s.method for s in psi.shifts} == {"psi"} and psi.shifted == ["age"]
