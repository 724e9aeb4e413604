"""Inferring column kinds and schemas, and checking data against a schema."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.data.ingest import clean_column_names, read_source
from loopml.data.schema import (
    MAX_CATEGORIES,
    Violation,
    category_strings,
    check_schema,
    datetime_format,
    infer_kinds,
    infer_schema,
    to_datetime,
)
from loopml.domain import ColumnKind

K = ColumnKind


@pytest.fixture
def mixed() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": [1.5, np.nan, 3.0, 4.0, 10.0, 6.0],
            "code": [1, 2, 3, 1, 2, 3],
            "city": ["paris", "rome", None, "paris", "paris", "rome"],
            "flag": [True, False, True, True, False, True],
            "maybe": [True, False, None, True, True, False],
            "day": ["1/1/11", "1/2/11", None, "2/1/12", "3/1/12", "4/1/12"],
            "stamp": pd.date_range("2020-01-01", periods=6, freq="h"),
            "note": [f"the customer called about invoice number {i} twice" for i in range(6)],
            "grade": pd.Categorical(["a", "b", "a", "a", "b", "b"]),
            "empty": [None] * 6,
        }
    )


def test_infer_kinds_by_dtype_and_content(mixed: pd.DataFrame) -> None:
    assert infer_kinds(mixed) == {
        "amount": K.NUMERIC,
        "code": K.NUMERIC,  # numeric codes stay numeric unless the spec says otherwise
        "city": K.CATEGORICAL,
        "flag": K.BOOLEAN,
        "maybe": K.BOOLEAN,
        "day": K.DATETIME,
        "stamp": K.DATETIME,
        "note": K.TEXT,
        "grade": K.CATEGORICAL,
        "empty": K.CATEGORICAL,
    }


def test_bank_is_all_numeric(bank_csv: Path) -> None:
    frame, _ = clean_column_names(read_source(bank_csv))
    assert set(infer_kinds(frame).values()) == {K.NUMERIC}


def test_bike_kinds(bike_csv: Path) -> None:
    frame, _ = clean_column_names(read_source(bike_csv))
    kinds = infer_kinds(frame)
    assert kinds["dteday"] is K.DATETIME
    assert kinds["mnth2"] is K.CATEGORICAL and kinds["hr2"] is K.CATEGORICAL
    assert kinds["temp"] is K.NUMERIC and kinds["column_0"] is K.NUMERIC


def test_infer_schema_ranges_nulls_and_categories(mixed: pd.DataFrame) -> None:
    schema = infer_schema(mixed)
    amount = schema.column("amount")
    assert (amount.min, amount.max, amount.nullable) == (1.5, 10.0, True)
    assert schema.column("code").nullable is False
    assert schema.column("city").categories == ("paris", "rome")
    assert schema.column("city").dtype == "str"
    assert schema.column("grade").categories == ("a", "b")
    assert schema.column("flag").categories is None
    assert schema.names() == list(mixed.columns)


def test_declared_kind_overrides_and_categories_sort_naturally() -> None:
    frame = pd.DataFrame({"month": [10, 2, 1, 12, 2], "x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    schema = infer_schema(frame, kinds={"month": K.CATEGORICAL})
    assert schema.column("month").kind is K.CATEGORICAL
    assert schema.column("month").categories == ("1", "2", "10", "12")
    assert schema.column("month").min is None


def test_many_levels_keep_no_categories() -> None:
    frame = pd.DataFrame({"c": [f"level{i}" for i in range(MAX_CATEGORIES + 1)] * 2})
    column = infer_schema(frame).column("c")
    assert column.kind is K.CATEGORICAL and column.categories is None


def test_category_strings_treat_int_and_integral_float_alike() -> None:
    values = category_strings(pd.Series([1, 2.0, 2.5, True, None, np.int64(7)], dtype=object))
    assert values.tolist()[:4] == ["1", "2", "2.5", "True"]
    assert pd.isna(values.iloc[4]) and values.iloc[5] == "7"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1/13/11", "2/1/11"], "%m/%d/%y"),
        (["13/01/2011", "01/02/2011"], "%d/%m/%Y"),
        (["2011-01-01", "2011-01-02T10:00:00"], "ISO8601"),
        (["Jan 5 2011", "Feb 10 2012"], "%b %d %Y"),
        (["January", "February"], None),
        (["12 AM", "1 AM"], None),
        (["2011", "2012"], None),
        (["a/b/c"], None),
    ],
)
def test_datetime_format(values: list[str], expected: str | None) -> None:
    assert datetime_format(pd.Series(values)) == expected


def test_to_datetime_parses_bike_dates_and_coerces_bad_values() -> None:
    parsed = to_datetime(pd.Series(["12/31/12", None, "not a date"]), "%m/%d/%y")
    assert parsed.iloc[0] == pd.Timestamp("2012-12-31")
    assert parsed.isna().tolist() == [False, True, True]


def test_check_schema_clean_data_has_no_violations(mixed: pd.DataFrame) -> None:
    assert check_schema(mixed, infer_schema(mixed)) == []


def test_check_schema_out_of_range_and_unseen_category() -> None:
    train = pd.DataFrame({"age": [18, 40, 95, 60], "job": ["admin", "cook", "admin", "pilot"]})
    live = pd.DataFrame(
        {
            "age": [30, 140, 17, 50, 200],
            "job": ["admin", "astronaut", "cook", "astronaut", "chef"],
        }
    )
    violations = check_schema(live, infer_schema(train))
    by_rule = {v.rule: v for v in violations}
    assert set(by_rule) == {"out_of_range", "unseen_category"}
    out = by_rule["out_of_range"]
    assert (out.column, out.count, out.row) == ("age", 3, 1)
    assert out.example.startswith("140") and "[18, 95]" in out.example
    unseen = by_rule["unseen_category"]
    assert (unseen.column, unseen.count, unseen.row) == ("job", 3, 1)
    assert "'astronaut'" in unseen.example
    assert "3 rows break 'unseen_category'" in unseen.message


def test_check_schema_missing_column_nulls_and_types() -> None:
    train = pd.DataFrame(
        {
            "n": [1.0, 2.0, 3.0],
            "when": ["2020-01-01", "2020-01-02", "2020-01-03"],
            "ok": [True, False, True],
            "gone": ["a", "b", "c"],
        }
    )
    live = pd.DataFrame(
        {
            "n": ["2", "two", None],
            "when": ["2020-01-05", "yesterday", "2020-01-02"],
            "ok": ["yes", "maybe", "no"],
        }
    )
    violations = {(v.column, v.rule): v for v in check_schema(live, infer_schema(train))}
    assert set(violations) == {
        ("n", "null"),
        ("n", "type"),
        ("when", "type"),
        ("ok", "type"),
        ("gone", "missing_column"),
    }
    assert violations[("n", "type")].example == "'two' (not a number)"
    assert violations[("n", "null")].row == 2
    assert violations[("when", "type")].count == 1
    assert "'maybe'" in violations[("ok", "type")].example
    assert "missing" in violations[("gone", "missing_column")].message


def test_violation_is_a_plain_record() -> None:
    violation = Violation("age", "out_of_range", 2, "140", 1)
    assert violation.__dict__ == {
        "column": "age",
        "rule": "out_of_range",
        "count": 2,
        "example": "140",
        "row": 1,
    }


def test_text_that_means_missing_makes_a_column_nullable_and_breaks_a_non_nullable_one() -> None:
    from loopml.data.schema import check_schema, infer_schema
    from loopml.domain import Schema

    frame = pd.DataFrame({"total": ["1,200.50", " ", "30"], "plan": ["a", "b", "a"]})
    schema = infer_schema(frame)
    assert schema.column("total").nullable and not schema.column("plan").nullable
    (found,) = check_schema(pd.DataFrame({"plan": ["a", "n/a"]}), Schema((schema.column("plan"),)))
    assert (found.rule, found.row) == ("null", 1)
