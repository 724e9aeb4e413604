"""The split section of the spec."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from loopml.spec.splits import SplitSpec


def parse(**fields: Any) -> SplitSpec:
    return SplitSpec.model_validate(fields)


def test_out_of_time_from_yaml() -> None:
    text = "{method: time, time_column: dteday, test_from: 2012-01-01, gap: 30D}"
    spec = SplitSpec.model_validate(yaml.safe_load(text))  # YAML reads the date as a date
    assert spec.test_from == "2012-01-01"
    assert spec.test_start == pd.Timestamp("2012-01-01")
    assert spec.gap_delta == pd.Timedelta(days=30)
    assert spec.model_dump(mode="json")["test_from"] == "2012-01-01"


def test_dates_and_times() -> None:
    assert parse(method="time", time_column="t", test_from=dt.date(2012, 1, 1)).test_from == (
        "2012-01-01"
    )
    stamp = parse(method="time", time_column="t", test_from="2012-01-01T06:00")
    assert stamp.test_start == pd.Timestamp("2012-01-01 06:00")
    assert parse().gap_delta == pd.Timedelta(0)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"method": "time"}, "needs 'time_column'"),
        ({"method": "group"}, "needs 'group_column'"),
        ({"method": "random", "test_from": "2012-01-01"}, "'test_from' applies to method 'time'"),
        ({"method": "random", "gap": "7D"}, "'gap' applies to method 'time'"),
        ({"method": "time", "time_column": "t", "test_from": "soon"}, "not an ISO date"),
        ({"method": "time", "time_column": "t", "gap": "a month"}, "not a duration"),
        ({"method": "time", "time_column": "t", "gap": "-3D"}, "zero or more"),
        ({"method": "kfold"}, "method"),
        ({"test_size": 1.0}, "test_size"),
    ],
)
def test_errors(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse(**fields)


def test_group_split() -> None:
    spec = parse(method="group", group_column="customer")
    assert spec.group_column == "customer" and spec.test_from is None
