"""The feature transform built from a schema."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from loopml.data.schema import infer_schema
from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.errors import DataError
from loopml.features.transform import DateParts, build_transform, to_float, to_strings


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 40
    return pd.DataFrame(
        {
            "amount": np.where(rng.random(n) < 0.1, np.nan, rng.normal(100, 10, n)),
            "city": pd.Series(rng.choice(["paris", "rome", None], n), dtype="str"),
            "member": rng.random(n) < 0.5,
            "day": [f"{d.month}/{d.day}/{d:%y}" for d in pd.date_range("2011-01-01", periods=n)],
            "note": [f"a long free text comment number {i} about the order" for i in range(n)],
        }
    )


def test_dense_float_output_without_missing_values(frame: pd.DataFrame) -> None:
    schema = infer_schema(frame)
    assert frame["city"].dtype == "str"  # pandas 3 strings
    transform = build_transform(schema)
    X = transform.fit_transform(frame)
    assert isinstance(X, np.ndarray) and X.dtype == np.float64
    assert not np.isnan(X).any()
    names = list(transform.get_feature_names_out())
    assert X.shape == (40, len(names))
    assert "numeric__amount" in names
    assert {"categorical__city_paris", "categorical__city_rome"} <= set(names)
    assert {"categorical__member_True", "categorical__member_False"} <= set(names)
    assert [n for n in names if n.startswith("datetime__")] == [
        "datetime__day_year",
        "datetime__day_month",
        "datetime__day_day",
        "datetime__day_day_of_week",
    ]
    assert not any("note" in n for n in names)  # text is dropped for now


def test_unseen_category_and_one_row(frame: pd.DataFrame) -> None:
    transform = build_transform(infer_schema(frame)).fit(frame)
    row = frame.iloc[:1].copy()
    row["city"] = "tokyo"
    out = transform.transform(row)
    names = list(transform.get_feature_names_out())
    city = [i for i, n in enumerate(names) if n.startswith("categorical__city")]
    assert out.shape == (1, len(names))
    assert out[0, city].sum() == 0  # unknown: no column lights up


def test_rare_categories_share_the_infrequent_column() -> None:
    frame = pd.DataFrame({"c": ["a"] * 5000 + ["b"] * 4996 + ["rare"] * 4})
    schema = Schema((ColumnSchema("c", ColumnKind.CATEGORICAL, "str"),))
    transform = build_transform(schema).fit(frame)
    names = list(transform.get_feature_names_out())
    assert names == ["categorical__c_a", "categorical__c_b", "categorical__c_infrequent_sklearn"]
    unseen = transform.transform(pd.DataFrame({"c": ["never"]}))
    assert unseen.tolist() == [[0.0, 0.0, 1.0]]


def test_numeric_codes_declared_categorical_match_across_types() -> None:
    train = pd.DataFrame({"month": [1, 2, 3, 1, 2, 3]})
    schema = infer_schema(train, kinds={"month": ColumnKind.CATEGORICAL})
    transform = build_transform(schema).fit(train)
    live = pd.DataFrame({"month": [2.0, np.nan]})  # JSON floats, a missing value
    out = transform.transform(live)
    assert out[0].tolist() == [0.0, 1.0, 0.0]
    assert out[1].sum() == 1.0  # imputed with the most frequent month


def test_pickled_transform_gives_the_same_output(frame: pd.DataFrame) -> None:
    transform = build_transform(infer_schema(frame)).fit(frame)
    again = pickle.loads(pickle.dumps(transform))
    np.testing.assert_array_equal(again.transform(frame), transform.transform(frame))


def test_only_text_columns_is_an_error() -> None:
    schema = Schema((ColumnSchema("note", ColumnKind.TEXT, "str"),))
    with pytest.raises(DataError, match="no usable feature column"):
        build_transform(schema)


def test_date_parts_learn_the_format_once() -> None:
    train = pd.DataFrame({"d": ["1/13/11", "2/1/11", "12/31/12"]})
    parts = DateParts().fit(train)
    assert parts.formats_ == ["%m/%d/%y"]
    # an ambiguous day alone still reads month-first, as in training
    assert parts.transform(pd.DataFrame({"d": ["3/4/12"]})).tolist() == [[2012, 3, 4, 6]]
    assert np.isnan(parts.transform(pd.DataFrame({"d": [None]}))).all()


def test_date_parts_add_the_hour_when_times_are_present() -> None:
    stamps = pd.DataFrame({"t": pd.to_datetime(["2020-05-01 10:00", "2020-05-02 23:00"])})
    parts = DateParts().fit(stamps)
    assert parts.transform(stamps)[:, -1].tolist() == [10.0, 23.0]
    assert list(parts.get_feature_names_out())[-1] == "t_hour"


def test_helpers_convert_values() -> None:
    frame = pd.DataFrame({"n": ["1.5", "x", None], "b": [True, False, None]})
    assert np.isnan(to_float(frame[["n"]])).tolist() == [[False], [True], [True]]
    strings = to_strings(frame[["b"]])
    assert strings[0, 0] == "True" and strings[1, 0] == "False" and strings[2, 0] != strings[2, 0]
