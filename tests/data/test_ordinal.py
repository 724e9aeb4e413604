"""Ordered categories: known scales, numeric prefixes, the schema and its files."""

from __future__ import annotations

import pandas as pd
import pytest

from loopml.data.ordinal import ordinal_order
from loopml.data.schema import check_schema, infer_kinds, infer_schema
from loopml.data.schema_file import dump_schema, parse_schema
from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.errors import DataError


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["high", "low", "very high", "medium"], ("low", "medium", "high", "very high")),
        (["Good", "Ideal", "Fair", "Premium", "Very Good"],
         ("Fair", "Good", "Very Good", "Premium", "Ideal")),
        (["agree", "Strongly disagree", "neutral"], ("Strongly disagree", "neutral", "agree")),
        (["XL", "S", "M"], ("S", "M", "XL")),
        (["Two year", "Month-to-month", "One year"], ("Month-to-month", "One year", "Two year")),
        (["10 - best", "2 - fair", "1 - poor"], ("1 - poor", "2 - fair", "10 - best")),
        (["3. often", "1. never", "2. rarely"], ("1. never", "2. rarely", "3. often")),
    ],
)  # fmt: skip
def test_values_on_a_known_scale_or_with_numeric_prefixes_come_in_order(values, expected):
    assert ordinal_order(values) == expected


@pytest.mark.parametrize(
    "values",
    [
        ["yes", "no"],  # two values are no evidence
        ["low", "high"],
        ["red", "green", "blue"],  # no scale
        ["low", "medium", "purple"],  # one value off the scale
        ["High", "high", "low"],  # a spelling problem, not a scale
        ["1 - a", "1 - b", "2 - c"],  # repeated prefix
        ["admin", "1 - poor", "2 - fair"],
    ],
)
def test_other_values_are_not_a_scale(values):
    assert ordinal_order(values) is None


def test_churn_satisfaction_and_contract_are_inferred_ordinal(churn_csv):
    frame = pd.read_csv(churn_csv)
    kinds = infer_kinds(frame)
    assert kinds["satisfaction"] is ColumnKind.ORDINAL
    assert kinds["contract"] is ColumnKind.ORDINAL
    assert kinds["plan"] is ColumnKind.CATEGORICAL  # unchanged: no known scale
    assert kinds["region"] is ColumnKind.CATEGORICAL
    schema = infer_schema(frame)
    assert schema.column("satisfaction").categories == (
        "very low", "low", "medium", "high", "very high",
    )  # fmt: skip
    assert schema.column("contract").categories == ("Month-to-month", "One year", "Two year")
    assert schema.column("plan").categories == ("basic", "premium", "standard")  # sorted


def test_an_ordered_pandas_categorical_is_ordinal_in_its_order():
    series = pd.Series(pd.Categorical(["b", "c", "a"], categories=["c", "a", "b"], ordered=True))
    frame = pd.DataFrame({"grade": series})
    assert infer_kinds(frame)["grade"] is ColumnKind.ORDINAL
    assert infer_schema(frame).column("grade").categories == ("c", "a", "b")


def test_a_declared_order_wins_and_must_hold_every_value():
    frame = pd.DataFrame({"size": ["small", "big", "huge", None]})
    kinds = {"size": ColumnKind.ORDINAL}
    schema = infer_schema(frame, kinds, orders={"size": ["small", "big", "huge", "giant"]})
    assert schema.column("size").categories == ("small", "big", "huge", "giant")
    assert infer_schema(frame, kinds).column("size").categories == ("big", "huge", "small")
    with pytest.raises(DataError, match=r"column 'size': 1 value\(s\) not in its declared order"):
        infer_schema(frame, kinds, orders={"size": ["small", "big"]})


def test_an_unseen_level_of_an_ordinal_column_breaks_the_schema():
    schema = infer_schema(pd.DataFrame({"s": ["low", "medium", "high"]}))
    found = check_schema(pd.DataFrame({"s": ["low", "extreme"]}), schema)
    assert [(v.column, v.rule, v.count) for v in found] == [("s", "unseen_category", 1)]


def test_ordinal_columns_round_trip_through_schema_yaml_and_stored_dicts():
    schema = Schema(
        (
            ColumnSchema("s", ColumnKind.ORDINAL, "str", categories=("very low", "low", "high")),
            ColumnSchema("job", ColumnKind.CATEGORICAL, "str", categories=("a", "b")),
        )
    )
    text = dump_schema(schema)
    assert "kind: ordinal" in text and "categories: [very low, low, high]" in text
    assert parse_schema(text)[0] == schema
    assert Schema.from_dict(schema.to_dict()) == schema


def test_a_stored_schema_from_before_ordinal_columns_still_loads():
    column = {"name": "job", "kind": "categorical", "dtype": "object", "nullable": True}
    old = {"columns": [column | {"min": None, "max": None, "categories": ["a"]}]}
    schema = Schema.from_dict(old)
    assert schema.column("job").kind is ColumnKind.CATEGORICAL
    assert schema.column("job").categories == ("a",)
