"""The bank report in a real headless browser: every chart is drawn by plotly.js, offline.

Runs Debian's chromium (``/usr/bin/chromium``), lets the page's scripts run, dumps the
DOM and counts what plotly drew (see the ``chromium`` fixture for when it is skipped).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.browser import drawn_page, run_chromium

from loopml.profile import Profile, render_profile

pytestmark = pytest.mark.usefixtures("chromium")


@pytest.fixture(scope="module")
def report_file(bank_profile: Profile, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "bank.html"
    path.write_text(render_profile(bank_profile), encoding="utf-8")
    return path


def test_every_chart_renders_in_chromium(report_file: Path, tmp_path: Path) -> None:
    page = drawn_page(report_file, tmp_path)
    assert len(page.charts) >= 20  # 12 column cards, target, scores, relations, correlation
    assert page.classes.count("boxes") >= 8  # box plots of the numeric columns
    assert "heatmaplayer" in page.classes  # the correlation matrix
    assert page.classes.count("bars") >= 12  # histograms and bar charts


def test_screenshot_is_not_blank(report_file: Path, tmp_path: Path) -> None:
    shot = tmp_path / "bank.png"
    done = run_chromium(
        tmp_path, "--window-size=1280,2400", f"--screenshot={shot}", report_file.as_uri()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.exists()
    assert shot.stat().st_size > 50_000  # a blank page compresses to a few KiB
