"""Debian's chromium, headless, for tests that open a page in a real browser."""

from __future__ import annotations

import subprocess
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=15000",
]


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run chromium with a fresh profile folder under ``tmp_path``."""
    profile_dir = tmp_path / "chromium-profile"
    return subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile_dir}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class DrawnPage(HTMLParser):
    """A dumped report DOM: each chart container's classes, every element's classes, the
    body's attributes and the count of plotly's drawn ``main-svg`` elements."""

    def __init__(self) -> None:
        super().__init__()
        self.body: dict[str, str] = {}
        self.charts: dict[str, str] = {}
        self.classes: list[str] = []
        self.svgs = 0

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


def drawn_page(report: Path, tmp_path: Path) -> DrawnPage:
    """Open ``report`` in chromium and check that plotly drew every chart it announces
    (``data-charts-total`` on the body), with no error."""
    done = run_chromium(tmp_path, "--dump-dom", report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    page = DrawnPage()
    page.feed(done.stdout)
    total = int(page.body.get("data-charts-total", "0"))
    assert "data-charts-error" not in page.body
    assert page.body.get("data-charts-drawn") == str(total)
    assert len(page.charts) == total
    assert [c for c, classes in page.charts.items() if "js-plotly-plot" not in classes] == []
    assert page.svgs >= total  # plotly draws at least one main-svg per chart
    return page
