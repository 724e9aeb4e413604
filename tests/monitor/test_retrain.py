"""The evidence behind a retraining decision: labelled traffic, recency split, judgement."""

from __future__ import annotations

import pandas as pd
import pytest

from loopml.errors import DataError
from loopml.monitor.retrain import (
    judge,
    labelled_traffic,
    shadow_pairs,
    shadow_requests,
    side,
    split_recent,
)


def _log() -> pd.DataFrame:
    at = pd.date_range("2012-01-01", periods=6, freq="h", tz="UTC")
    return pd.DataFrame(
        {
            "prediction_id": ["a", "b", "c", "d", "a", "b"],
            "predicted_at": at,
            "model_version": [1, 1, 1, 1, 2, 2],
            "shadow": [False, False, False, False, True, True],
            "x": [1.0, 2.0, 3.0, 4.0, 1.0, 2.0],
            "prediction": [10.0, 20.0, 30.0, 40.0, 11.0, 19.0],
        }
    )


def test_labelled_traffic_keeps_served_rows_with_feedback_oldest_first() -> None:
    log = _log().iloc[::-1]  # newest first: the result must still be oldest first
    rows = labelled_traffic(log, {"a": 12.0, "c": 33.0, "zz": 1.0}, "cnt", ["x"])
    assert list(rows.columns) == ["x", "predicted_at", "cnt"]
    assert rows["x"].tolist() == [1.0, 3.0]  # shadow copy of "a" left out, "b"/"d" unlabelled
    assert rows["cnt"].tolist() == [12.0, 33.0]


def test_labelled_traffic_names_missing_log_columns() -> None:
    with pytest.raises(DataError, match=r"lacks the columns \['y'\]"):
        labelled_traffic(_log(), {"a": 1.0}, "cnt", ["x", "y"])


def test_no_feedback_gives_no_rows() -> None:
    assert labelled_traffic(_log(), {}, "cnt", ["x"]).empty


def test_split_recent_keeps_the_latest_share_apart() -> None:
    rows = pd.DataFrame({"i": range(10)})
    older, recent = split_recent(rows, 0.3)
    assert older["i"].tolist() == list(range(7))
    assert recent["i"].tolist() == [7, 8, 9]
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_recent(rows, 1.0)


@pytest.mark.parametrize(
    ("greater", "champion", "challenger", "margin", "better"),
    [
        (False, 100.0, 80.0, 0.1, True),  # rmse 20 % lower
        (False, 100.0, 95.0, 0.1, False),  # 5 % lower is below the margin
        (False, 100.0, 120.0, 0.0, False),  # worse
        (True, 0.70, 0.77, 0.05, True),  # auc 10 % higher
        (True, 0.70, 0.70, 0.0, False),  # equal is not better
    ],
)
def test_judge_needs_the_margin(
    greater: bool, champion: float, challenger: float, margin: float, better: bool
) -> None:
    result = judge("m", greater, champion, challenger, rows=50, margin=margin)
    assert result.better is better
    assert "50 rows" in result.reason


def test_judge_without_a_value_is_not_better() -> None:
    result = judge("rmse", False, None, 3.0, rows=0, margin=0.0)
    assert not result.better and "could not be computed" in result.reason


def test_shadow_pairs_line_up_both_answers_with_the_truth() -> None:
    log = _log()
    pairs = shadow_pairs(log, {"a": 12.0, "b": 18.0, "c": 1.0}, challenger=2)
    assert pairs["prediction_id"].tolist() == ["a", "b"]  # "c" was not shadowed
    assert side(pairs, "champion")["prediction"].tolist() == [10.0, 20.0]
    assert side(pairs, "challenger")["prediction"].tolist() == [11.0, 19.0]
    assert pairs["truth"].tolist() == [12.0, 18.0]
    assert shadow_requests(log, 2) == 2 and shadow_requests(log, 3) == 0


def test_traffic_times_take_the_training_clock_zone() -> None:
    from loopml.pipeline.lifecycle import _as_time_like

    served = pd.Series(pd.to_datetime(["2026-11-22 10:00"], utc=True))
    naive = _as_time_like(served, pd.Series(pd.to_datetime(["2011-01-01"])))
    assert naive.dt.tz is None and naive.iloc[0] == pd.Timestamp("2026-11-22 10:00")
    paris = pd.Series(pd.to_datetime(["2011-01-01"]).tz_localize("Europe/Paris"))
    aware = _as_time_like(served, paris)
    assert str(aware.dt.tz) == "Europe/Paris" and aware.iloc[0].hour == 11
