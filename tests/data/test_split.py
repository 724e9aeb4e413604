"""Cutting the hold-out (stratified, random, group, by time) and the search's folds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.data.ingest import clean_column_names, read_source
from loopml.data.split import cv_splitter, split_frame
from loopml.errors import DataError
from loopml.spec.splits import SplitSpec


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


def bike_days(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame["dteday"], format="%m/%d/%y")


def test_out_of_time_from_a_date(bike: pd.DataFrame) -> None:
    spec = SplitSpec(method="time", time_column="dteday", test_from="2012-01-01")
    train, test = split_frame(bike, spec, "cnt", "regression")
    year = bike_days(bike).dt.year
    assert (bike_days(train).dt.year == 2011).all() and (bike_days(test).dt.year == 2012).all()
    assert len(train) == int((year == 2011).sum()) and len(test) == int((year == 2012).sum())


def test_out_of_time_gap_drops_the_last_days_of_train(bike: pd.DataFrame) -> None:
    spec = SplitSpec(method="time", time_column="dteday", test_from="2012-01-01", gap="30D")
    train, test = split_frame(bike, spec, "cnt", "regression")
    days = bike_days(bike)
    assert bike_days(train).max() == pd.Timestamp("2011-12-01")
    assert len(train) == int((days < pd.Timestamp("2011-12-02")).sum())
    assert bike_days(test).min() == pd.Timestamp("2012-01-01")


def test_gap_with_test_size() -> None:
    frame = pd.DataFrame({"t": pd.date_range("2021-01-01", periods=10, freq="D"), "y": range(10)})
    spec = SplitSpec(method="time", time_column="t", test_size=0.2, gap="2D")
    train, test = split_frame(frame, spec, "y", "regression")
    assert test["y"].tolist() == [8, 9] and train["y"].tolist() == list(range(6))


def test_test_from_in_a_time_zone() -> None:
    times = pd.date_range("2021-01-01", periods=6, freq="D", tz="Europe/Paris")
    frame = pd.DataFrame({"t": times, "y": range(6)})
    spec = SplitSpec(method="time", time_column="t", test_from="2021-01-05")
    train, test = split_frame(frame, spec, "y", "regression")
    assert test["y"].tolist() == [4, 5] and len(train) == 4


def test_test_from_after_the_data_or_gap_before_it() -> None:
    frame = pd.DataFrame({"t": ["2021-01-01", "2021-01-02", "2021-01-03"], "y": range(3)})
    late = SplitSpec(method="time", time_column="t", test_from="2022-01-01")
    with pytest.raises(DataError, match="no row of 't' is at or after test_from 2022-01-01"):
        split_frame(frame, late, "y", "regression")
    wide = SplitSpec(method="time", time_column="t", test_from="2021-01-03", gap="5D")
    with pytest.raises(DataError, match="less the gap 5D"):
        split_frame(frame, wide, "y", "regression")


def grouped_frame(n_groups: int = 30, rows: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    groups = np.repeat([f"c{i}" for i in range(n_groups)], rows)
    return pd.DataFrame(
        {
            "customer": groups,
            "x": rng.normal(size=len(groups)),
            "y": rng.integers(0, 2, len(groups)),
        }
    )


def test_group_split_never_shares_a_group() -> None:
    frame = grouped_frame()
    spec = SplitSpec(method="group", group_column="customer", test_size=0.2)
    train, test = split_frame(frame, spec, "y", "classification")
    assert not set(train["customer"]) & set(test["customer"])
    assert test["customer"].nunique() == 6 and len(train) + len(test) == len(frame)
    again = split_frame(frame, spec, "y", "classification")[1]
    assert again.index.equals(test.index)


def test_group_split_needs_two_groups_and_the_column() -> None:
    frame = grouped_frame(n_groups=1)
    with pytest.raises(DataError, match="holds 1 group"):
        split_frame(frame, SplitSpec(method="group", group_column="customer"), "y", "regression")
    with pytest.raises(DataError, match="group column 'shop'"):
        split_frame(frame, SplitSpec(method="group", group_column="shop"), "y", "regression")


def test_rows_without_a_group_form_one_group() -> None:
    frame = grouped_frame()
    frame.loc[:9, "customer"] = None
    spec = SplitSpec(method="group", group_column="customer", random_state=3)
    train, test = split_frame(frame, spec, "y", "classification")
    missing = [part["customer"].isna().sum() for part in (train, test)]
    assert sorted(missing) == [0, 10]


def test_an_older_split_spec_is_read() -> None:
    from loopml.spec.model import SplitSpec as OlderSplitSpec

    frame = pd.DataFrame({"x": range(10), "y": range(10)})
    train, test = split_frame(frame, OlderSplitSpec(method="random"), "y", "regression")
    assert (len(train), len(test)) == (8, 2)


def test_time_folds_never_use_future_rows(bike: pd.DataFrame) -> None:
    spec = SplitSpec(method="time", time_column="dteday", test_from="2012-01-01", gap="7D")
    train, _ = split_frame(bike, spec, "cnt", "regression")
    train = train.sample(frac=1, random_state=0)  # folds follow time, not row order
    folds = cv_splitter(spec, "regression", 4, train, "cnt")
    days = bike_days(train).to_numpy()
    assert len(folds) == 4
    covered = np.concatenate([valid for _, valid in folds])
    assert len(np.unique(covered)) == len(covered)
    for fit_rows, valid in folds:
        assert days[fit_rows].max() < days[valid].min()
        assert days[valid].min() - days[fit_rows].max() > pd.Timedelta("7D")
    assert bike_days(train.iloc[folds[-1][1]]).max() == pd.Timestamp("2011-12-24")


def test_time_folds_need_enough_times() -> None:
    frame = pd.DataFrame({"t": ["2021-01-01", "2021-01-02", "2021-01-03"] * 2, "y": range(6)})
    spec = SplitSpec(method="time", time_column="t")
    with pytest.raises(DataError, match="3 distinct times"):
        cv_splitter(spec, "regression", 3, frame, "y")
    wide = SplitSpec(method="time", time_column="t", gap="5D")
    with pytest.raises(DataError, match="shorter split.gap"):
        cv_splitter(wide, "regression", 2, frame, "y")


def test_group_folds_never_split_a_group() -> None:
    frame = grouped_frame()
    spec = SplitSpec(method="group", group_column="customer")
    folds = cv_splitter(spec, "classification", 5, frame, "y")
    assert len(folds) == 5
    groups = frame["customer"].to_numpy()
    for fit_rows, valid in folds:
        assert not set(groups[fit_rows]) & set(groups[valid])
    with pytest.raises(DataError, match="holds 30 groups"):
        cv_splitter(spec, "classification", 31, frame, "y")


def test_stratified_and_random_folds(bank: pd.DataFrame) -> None:
    sample = bank.iloc[:2000]
    folds = cv_splitter(SplitSpec(), "classification", 5, sample, "subscribed")
    rate = sample["subscribed"].mean()
    for _, valid in folds:
        assert abs(sample["subscribed"].iloc[valid].mean() - rate) < 0.01
    again = cv_splitter(SplitSpec(), "classification", 5, sample, "subscribed")
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    random = cv_splitter(SplitSpec(method="random"), "regression", 3, sample, "balance")
    assert sorted(len(v) for _, v in random) == [666, 667, 667]
    regression = cv_splitter(SplitSpec(), "regression", 3, sample, "balance")
    assert [len(v) for _, v in regression] == [len(v) for _, v in random]


def test_fold_errors() -> None:
    frame = pd.DataFrame({"x": range(6), "y": ["a"] * 5 + ["b"]})
    with pytest.raises(DataError, match="class 'b' of 'y' has 1 training rows"):
        cv_splitter(SplitSpec(), "classification", 2, frame, "y")
    with pytest.raises(DataError, match="at least 2 folds"):
        cv_splitter(SplitSpec(), "classification", 1, frame, "y")
    with pytest.raises(DataError, match="6 training rows cannot make 7 folds"):
        cv_splitter(SplitSpec(method="random"), "regression", 7, frame, "y")
