"""Combining sources: append with matching columns, join on keys with suffixes."""

from __future__ import annotations

import pandas as pd
import pytest

from loopml.data.sources import SourceData, combine
from loopml.errors import DataError
from loopml.spec.sources import Combine


def _part(name: str, frame: pd.DataFrame) -> SourceData:
    return SourceData(name, "file", f"{name}.csv", None, "0" * 64, len(frame), frame)


CUSTOMERS = _part("customers", pd.DataFrame({"id": [1, 2, 3], "score": [0.1, 0.2, 0.3]}))
ORDERS = _part("orders", pd.DataFrame({"id": [2, 3, 4], "total": [20, 30, 40], "score": [9, 8, 7]}))
REGIONS = _part("regions", pd.DataFrame({"id": [1, 2, 3], "region": ["n", "s", "e"]}))


def test_append_stacks_rows_in_order_with_the_first_column_order() -> None:
    first = _part("jan", pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    second = _part("feb", pd.DataFrame({"b": ["z"], "a": [3]}))
    frame = combine([first, second], Combine())
    assert frame.to_dict("list") == {"a": [1, 2, 3], "b": ["x", "y", "z"]}
    assert frame.index.tolist() == [0, 1, 2]


def test_append_with_different_columns_lists_the_differences() -> None:
    first = _part("jan", pd.DataFrame({"a": [1], "b": [2]}))
    second = _part("feb", pd.DataFrame({"a": [1], "c": [2]}))
    with pytest.raises(DataError) as caught:
        combine([first, second], Combine(how="append"))
    assert "compared with source 'jan', source 'feb' lacks 'b' and has extra 'c'" in str(
        caught.value
    )


def test_left_join_suffixes_shared_columns_with_source_names() -> None:
    frame = combine([CUSTOMERS, ORDERS, REGIONS], Combine(how="join", on=["id"]))
    assert list(frame.columns) == ["id", "score_customers", "total", "score_orders", "region"]
    assert frame["id"].tolist() == [1, 2, 3]
    assert frame["total"].tolist()[1:] == [20, 30]
    assert pd.isna(frame["total"].iloc[0])
    assert frame["region"].tolist() == ["n", "s", "e"]


def test_inner_and_outer_joins() -> None:
    inner = combine([CUSTOMERS, ORDERS], Combine(how="join", on=["id"], join="inner"))
    assert inner["id"].tolist() == [2, 3]
    outer = combine([CUSTOMERS, ORDERS], Combine(how="join", on=["id"], join="outer"))
    assert sorted(outer["id"].tolist()) == [1, 2, 3, 4]


def test_join_key_missing_names_the_source() -> None:
    other = _part("other", pd.DataFrame({"key": [1], "v": [2]}))
    with pytest.raises(DataError, match="source 'other' has no column 'id'"):
        combine([CUSTOMERS, other], Combine(how="join", on=["id"]))


def test_join_refuses_repeated_keys_that_would_repeat_rows() -> None:
    events = _part("events", pd.DataFrame({"id": [1, 1, 2], "kind": ["a", "b", "c"]}))
    with pytest.raises(DataError, match="2 of its rows share a key"):
        combine([CUSTOMERS, events], Combine(how="join", on=["id"]))


def test_join_keys_of_incompatible_types_are_reported() -> None:
    text_ids = _part("text", pd.DataFrame({"id": ["1", "2"], "v": [1, 2]}))
    with pytest.raises(DataError, match="cannot join source 'text'"):
        combine([CUSTOMERS, text_ids], Combine(how="join", on=["id"]))


def test_a_single_part_is_returned_as_is() -> None:
    assert combine([CUSTOMERS], Combine(how="join", on=["nope"])) is CUSTOMERS.frame
    with pytest.raises(DataError, match="no data sources"):
        combine([], Combine())
