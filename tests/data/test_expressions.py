"""Row expressions: a whitelist of Python syntax, evaluated over columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.data.expressions import column_names, evaluate, evaluate_unknown
from loopml.errors import DataError


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [10, 20, np.nan, 40],
            "job": ["admin", "cook", None, "pilot"],
            "vip": [True, False, True, False],
            "monthly fee": [1.0, 2.0, 3.0, 4.0],
            "day": pd.to_datetime(pd.Series(["2011-01-01", "2012-01-01", None, "2013-06-01"])),
        }
    )


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("age >= 18", [False, True, False, True]),
        ("not (age >= 18)", [True, False, False, False]),  # unknown stays unknown: False
        ("age != 10", [False, True, False, True]),  # a missing age compares False
        ("age >= 18 or vip", [True, True, True, True]),  # three-valued: NA or True is True
        ("age >= 18 and vip", [False, False, False, False]),
        ("10 < age < 30", [False, True, False, False]),
        ("job in ['admin', 'pilot']", [True, False, False, True]),
        ("job not in ('admin',)", [False, True, False, True]),
        ("`monthly fee` * 2 > 4", [False, False, True, True]),
        ("age + 5 >= -5 * -3", [True, True, False, True]),
        ("age % 20 == 0", [False, True, False, True]),
        ("vip", [True, False, True, False]),
        ("not vip", [False, True, False, True]),
        ("day >= '2012-01-01'", [False, True, False, True]),
        ("job == 3", [False, False, False, False]),  # text met with a number: no match
        ("True", [True, True, True, True]),
    ],
)
def test_evaluate(frame: pd.DataFrame, expr: str, expected: list[bool]) -> None:
    result = evaluate(frame, expr, where="data.validation.checks[0].expr")
    assert result.dtype == bool
    assert result.tolist() == expected
    assert result.index.equals(frame.index)


def test_evaluate_unknown_keeps_what_cannot_be_told(frame: pd.DataFrame) -> None:
    result = evaluate_unknown(frame, "age >= 18", where="w")
    assert result.isna().tolist() == [False, False, True, False]


def test_text_in_a_numeric_column_is_unknown_not_an_error() -> None:
    frame = pd.DataFrame({"age": pd.Series([30, "abc", 12], dtype=object)})
    assert evaluate_unknown(frame, "age >= 18", where="w").tolist() == [True, pd.NA, False]


def test_column_names(frame: pd.DataFrame) -> None:
    names = column_names("age > 3 and `monthly fee` < age and job in ['x']", where="w")
    assert names == ["age", "monthly fee", "job"]


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("age.__class__", "attribute access"),
        ("__import__('os').system('true')", "function calls"),
        ("open('/etc/passwd')", "function calls"),
        ("age[0] > 1", "subscripts"),
        ("(lambda: 1)()", "function calls"),
        ("__builtins__ == 1", "names starting with '__'"),
        ("age > 1 & vip", "write and, or, not"),
        ("~vip", "write and, or, not"),
        ("age in ages", "list of literals"),
        ("age is None", "compare with"),
        ("age > None", "only numbers, strings and True/False"),
        ("age >= ", "not a valid expression"),
        ("1 if vip else 0", "if/else"),
        ("agee >= 18", "'agee', which is not a column. Did you mean 'age'?"),
        ("age + 1", "not true/false"),
        ("job", "not true/false"),
        ("job > 3 and age", "uses column 'age' as true/false"),
    ],
)
def test_rejected(frame: pd.DataFrame, expr: str, message: str) -> None:
    with pytest.raises(DataError) as info:
        evaluate(frame, expr, where="data.validation.checks[2].expr")
    text = str(info.value)
    assert message in text
    assert text.startswith("data.validation.checks[2].expr: expression ")
    assert expr in text


def test_incomparable_types_name_the_expression() -> None:
    frame = pd.DataFrame({"day": pd.to_datetime(["2011-01-01", "2012-01-01"])})
    with pytest.raises(DataError, match="'day > 3' cannot be evaluated on this data"):
        evaluate(frame, "day > 3", where="w")
