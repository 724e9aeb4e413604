"""The monitoring report's charts: one window is a labelled point or bar, not a time axis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loopml.domain import FeatureDrift
from loopml.monitor.checks import OperationsSummary, QualityIssue, WindowSummary
from loopml.monitor.dashboard import (
    drift_figure,
    latency_figure,
    quality_figure,
    traffic_figure,
)

START = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)


def _window(index: int, rows: int = 506) -> WindowSummary:
    start = START + timedelta(days=index)
    return WindowSummary(
        index=index,
        start=start,
        first_at=start + timedelta(minutes=3),
        last_at=start + timedelta(minutes=42, seconds=10),
        rows=rows,
        drift=(FeatureDrift(feature="cut", method="psi", score=0.05, threshold=0.2),),
        quality=(QualityIssue("cut", "new_category", 0.002, 0.05, "1 new value", alert=False),),
        performance=None,
        operations=(OperationsSummary(1, rows, 1.0, 2.0, 3.0, 0.0, 50.0, alert=False),),
    )


FIGURES = (drift_figure, quality_figure, latency_figure, traffic_figure)


def test_one_window_is_one_labelled_category_not_a_time_axis() -> None:
    windows = (_window(0),)
    for figure in FIGURES:
        chart = figure(windows)
        assert chart is not None
        assert chart["layout"]["xaxis"]["type"] == "category", figure.__name__
        xs = {x for trace in chart["data"] for x in trace["x"]}
        assert xs == {"2026-12-04 18:03 to 18:42 UTC (506 rows)"}, figure.__name__


def test_several_windows_keep_a_time_axis_named_by_their_start() -> None:
    windows = (_window(0), _window(1), _window(2))
    for figure in FIGURES:
        chart = figure(windows)
        assert chart is not None
        assert "type" not in chart["layout"]["xaxis"], figure.__name__
        assert chart["data"][0]["x"] == ["2026-12-04 18:00", "2026-12-05 18:00", "2026-12-06 18:00"]


def test_one_window_without_times_is_named_by_its_number() -> None:
    window = WindowSummary(0, None, None, None, 12, (), (), None, ())
    chart = quality_figure((window,))
    assert chart is not None and chart["data"][0]["x"] == ["window 1 (12 rows)"]
