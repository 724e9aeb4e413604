"""Cutting the hold-out: stratified, random and by time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.data.ingest import clean_column_names, read_source
from loopml.data.split import split_frame
from loopml.errors import DataError
from loopml.spec import SplitSpec


@pytest.fixture(scope="module")
def bank(bank_csv: Path) -> pd.DataFrame:
    return clean_column_names(read_source(bank_csv))[0]


@pytest.fixture(scope="module")
def bike(bike_csv: Path) -> pd.DataFrame:
    return clean_column_names(read_source(bike_csv))[0]


def test_stratified_keeps_the_positive_rate(bank: pd.DataFrame) -> None:
    train, test = split_frame(bank, SplitSpec(), "subscribed", "classification")
    rate = bank["subscribed"].mean()
    assert rate == pytest.approx(0.117, abs=0.001)
    assert abs(train["subscribed"].mean() - rate) < 0.005
    assert abs(test["subscribed"].mean() - rate) < 0.005
    assert len(test) == pytest.approx(0.2 * len(bank), abs=1)
    assert len(train) + len(test) == len(bank)
    assert not set(train.index) & set(test.index)


def test_split_is_deterministic(bank: pd.DataFrame) -> None:
    spec = SplitSpec(method="random", random_state=7)
    first = split_frame(bank, spec, "subscribed", "classification")[1].index
    again = split_frame(bank, spec, "subscribed", "classification")[1].index
    other = split_frame(bank, SplitSpec(random_state=8), "subscribed", "classification")[1]
    assert first.equals(again)
    assert not first.equals(other.index)


def test_time_split_puts_the_latest_rows_last(bike: pd.DataFrame) -> None:
    spec = SplitSpec(method="time", time_column="dteday")
    train, test = split_frame(bike, spec, "cnt", "regression")
    train_days = pd.to_datetime(train["dteday"], format="%m/%d/%y")
    test_days = pd.to_datetime(test["dteday"], format="%m/%d/%y")
    assert train_days.max() < test_days.min()  # no day on both sides
    assert (test_days.dt.year == 2012).all()
    assert test_days.max() == pd.Timestamp("2012-12-31")
    assert len(test) / len(bike) == pytest.approx(0.2, abs=0.01)
    assert len(train) + len(test) == len(bike)


def test_time_split_sorts_shuffled_rows() -> None:
    frame = pd.DataFrame(
        {"t": pd.date_range("2021-01-01", periods=10, freq="D"), "y": np.arange(10.0)}
    ).sample(frac=1, random_state=1)
    train, test = split_frame(frame, SplitSpec(method="time", time_column="t"), "y", "regression")
    assert test["y"].tolist() == [8.0, 9.0]
    assert train["t"].is_monotonic_increasing


def test_time_split_does_not_cut_through_a_timestamp() -> None:
    frame = pd.DataFrame({"day": ["2021-01-01"] * 6 + ["2021-01-02"] * 4, "y": range(10)})
    spec = SplitSpec(method="time", time_column="day", test_size=0.3)
    train, test = split_frame(frame, spec, "y", "regression")
    assert set(train["day"]) == {"2021-01-01"} and set(test["day"]) == {"2021-01-02"}


def test_time_split_with_one_timestamp_fails() -> None:
    frame = pd.DataFrame({"day": ["2021-01-01"] * 10, "y": range(10)})
    with pytest.raises(DataError, match="1 distinct times"):
        split_frame(frame, SplitSpec(method="time", time_column="day"), "y", "regression")


def test_time_split_with_unparsable_time() -> None:
    frame = pd.DataFrame({"day": ["2021-01-01", "2021-01-02", "soon", "2021-01-04"], "y": range(4)})
    with pytest.raises(DataError, match="row 2: 'soon'"):
        split_frame(frame, SplitSpec(method="time", time_column="day"), "y", "regression")


def test_time_split_unknown_column() -> None:
    frame = pd.DataFrame({"y": range(4)})
    with pytest.raises(DataError, match="time column 'when'"):
        split_frame(frame, SplitSpec(method="time", time_column="when"), "y", "regression")


def test_stratified_regression_falls_back_to_random() -> None:
    frame = pd.DataFrame({"x": range(100), "y": np.linspace(0, 1, 100)})
    train, test = split_frame(frame, SplitSpec(), "y", "regression")
    assert (len(train), len(test)) == (80, 20)


def test_class_with_one_row_cannot_be_stratified() -> None:
    frame = pd.DataFrame({"x": range(20), "y": ["a"] * 10 + ["b"] * 9 + ["c"]})
    with pytest.raises(DataError, match="class 'c' of 'y' has 1 row") as info:
        split_frame(frame, SplitSpec(), "y", "classification")
    assert "split.method: random" in str(info.value)


def test_too_few_rows_for_every_class_in_both_parts() -> None:
    frame = pd.DataFrame({"x": range(6), "y": ["a", "a", "b", "b", "c", "c"]})
    with pytest.raises(DataError, match="cannot hold all 3 classes"):
        split_frame(frame, SplitSpec(test_size=0.2), "y", "classification")


def test_rows_without_a_target_are_dropped() -> None:
    frame = pd.DataFrame({"x": range(10), "y": [0, 1] * 4 + [None, None]})
    train, test = split_frame(frame, SplitSpec(method="random"), "y", "classification")
    assert len(train) + len(test) == 8
    assert train["y"].notna().all() and test["y"].notna().all()


def test_unknown_target() -> None:
    with pytest.raises(DataError, match="target column 'y'"):
        split_frame(pd.DataFrame({"x": [1, 2]}), SplitSpec(), "y", "classification")
