"""The bank report in a real headless browser: every chart is drawn by plotly.js, offline.

Runs Debian's chromium (``/usr/bin/chromium``), lets the page's scripts run, dumps the
DOM and counts what plotly drew (see the ``chromium`` fixture for when it is skipped).
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from tests.browser import run_chromium

from loopml.profile import Profile, render_profile

pytestmark = pytest.mark.usefixtures("chromium")


class _Charts(HTMLParser):
    """Collects each chart container's classes and counts plotly's drawn elements."""

    def __init__(self) -> None:
        super().__init__()
        self.body: dict[str, str] = {}
        self.charts: dict[str, str] = {}
        self.svgs = 0
        self.classes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        classes = found.get("class", "")
        if tag == "body":
            self.body = found
        if found.get("id", "").startswith("chart-"):
            self.charts[found["id"]] = classes
        if tag == "svg" and "main-svg" in classes.split():
            self.svgs += 1
        self.classes += classes.split()


@pytest.fixture(scope="module")
def report_file(bank_profile: Profile, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "bank.html"
    path.write_text(render_profile(bank_profile), encoding="utf-8")
    return path


def test_every_chart_renders_in_chromium(report_file: Path, tmp_path: Path) -> None:
    done = run_chromium(tmp_path, "--dump-dom", report_file.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    page = _Charts()
    page.feed(done.stdout)
    total = int(page.body.get("data-charts-total", "0"))
    assert total >= 20  # 12 column cards, target, scores, relations, correlation
    assert page.body.get("data-charts-drawn") == str(total)
    assert "data-charts-error" not in page.body
    assert len(page.charts) == total
    not_drawn = [cid for cid, classes in page.charts.items() if "js-plotly-plot" not in classes]
    assert not_drawn == []
    assert page.svgs >= total  # plotly draws at least one main-svg per chart
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
