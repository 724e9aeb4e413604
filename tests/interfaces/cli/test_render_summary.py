"""The run summary's lines for the champion comparison and the prediction interval."""

from __future__ import annotations

import pytest

from loopml.interfaces.cli import render

INTERVAL = {"level": 0.9, "halfwidth": 56.9, "mean_width": 113.8, "scale": "original"}


def test_an_interval_that_covers_as_asked_has_no_warning(capsys: pytest.CaptureFixture) -> None:
    render.interval_line({**INTERVAL, "coverage": 0.91})
    out = capsys.readouterr().out
    assert "prediction interval: 90%, ± 56.90" in out and "coverage 91.0%" in out
    assert "warn" not in out


def test_an_interval_that_undercovers_warns(capsys: pytest.CaptureFixture) -> None:
    render.interval_line({**INTERVAL, "coverage": 0.71, "scale": "log"})
    out = capsys.readouterr().out
    assert "(of log1p)" in out and "covered less often than asked" in out


def test_a_held_back_version_says_so(capsys: pytest.CaptureFixture) -> None:
    render.champion_check({"promote": False, "reason": "rmse 9 is worse than champion m@1"})
    render.champion_check(None)
    out = capsys.readouterr().out
    assert out.count("champion:") == 1 and "held back" in out and "m@1" in out
