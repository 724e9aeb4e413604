"""The random out-of-sample hold-out kept from the training part of a time split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from loopml.data.split import sample_holdout, split_frame
from loopml.spec.splits import SplitSpec


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    days = pd.date_range("2020-01-01", periods=1000, freq="D")
    return pd.DataFrame(
        {"day": days.strftime("%Y-%m-%d"), "x": rng.normal(size=1000), "y": rng.random(1000) < 0.3}
    )


def test_time_split_keeps_a_tenth_of_the_training_period(frame: pd.DataFrame) -> None:
    spec = SplitSpec(method="time", time_column="day", test_from="2022-06-01")
    train, test = split_frame(frame, spec, "y", "classification")
    rest, sample = sample_holdout(train, spec, "y", "classification")
    assert len(sample) == int(0.1 * len(train)) and len(rest) + len(sample) == len(train)
    assert set(rest.index).isdisjoint(sample.index) and set(sample.index) <= set(train.index)
    assert sample["day"].max() < "2022-06-01"  # from the training period only
    assert sample["day"].min() < train["day"].iloc[len(train) // 2]  # random, not the end
    assert list(rest["day"]) == sorted(rest["day"])  # training rows stay in time order
    assert abs(sample["y"].mean() - train["y"].mean()) < 0.02  # stratified
    again = sample_holdout(train, spec, "y", "classification")[1]
    assert list(again.index) == list(sample.index)


def test_other_splits_keep_none_unless_asked(frame: pd.DataFrame) -> None:
    train = frame.iloc[:800]
    rest, sample = sample_holdout(train, SplitSpec(), "y", "classification")
    assert sample.empty and len(rest) == 800
    asked = SplitSpec(holdout_sample=0.25)
    rest, sample = sample_holdout(train, asked, "y", "classification")
    assert (len(rest), len(sample)) == (600, 200)
    off = SplitSpec(method="time", time_column="day", holdout_sample=0)
    assert sample_holdout(train, off, "y", "classification")[1].empty


def test_share_is_validated() -> None:
    with pytest.raises(ValidationError, match="holdout_sample"):
        SplitSpec(holdout_sample=0.7)
