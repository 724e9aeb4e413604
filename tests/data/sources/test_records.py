"""Lineage records and the frame hash used for SQL sources."""

from __future__ import annotations

import decimal

import pandas as pd

from loopml.data.sources import SourceData
from loopml.data.sources.records import frame_hash


def test_frame_hash_is_stable_and_handles_nested_and_mixed_values() -> None:
    frame = pd.DataFrame(
        {
            "doc": [{"a": 1, "b": [1, 2]}, [1, 2], None],
            "mixed": [1, "a", decimal.Decimal("2.5")],
            "when": pd.to_datetime(["2024-01-01", "2024-01-02", None]).tz_localize("UTC"),
            "kind": pd.Categorical(["x", "y", "x"]),
        }
    )
    same = frame.copy()
    same.at[0, "doc"] = {"b": [1, 2], "a": 1}  # equal dict, other key order
    assert frame_hash(same) == frame_hash(frame)
    assert frame_hash(frame.set_axis([5, 6, 7])) == frame_hash(frame)  # index ignored
    assert frame_hash(frame.iloc[::-1]) != frame_hash(frame)
    assert frame_hash(frame.rename(columns={"kind": "type"})) != frame_hash(frame)
    assert frame_hash(frame.astype({"kind": object})) != frame_hash(frame)  # dtypes count


def test_record_drops_the_frame() -> None:
    frame = pd.DataFrame({"a": [1]})
    part = SourceData("s", "sql", "sqlite:///x.db", "select 1", "f" * 64, 1, frame)
    assert part.record().to_dict() == {
        "name": "s",
        "type": "sql",
        "location": "sqlite:///x.db",
        "query": "select 1",
        "source_hash": "f" * 64,
        "rows": 1,
    }
