"""The profile report: one self-contained HTML file that names every column, escapes
what comes from the data, and stays small however many rows there are."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest

from loopml.errors import DataError, SpecError
from loopml.profile import Profile, profile_frame, render_profile


@pytest.fixture(scope="module")
def bank_html(bank_profile: Profile) -> str:
    return render_profile(bank_profile)


def test_report_is_self_contained(bank_html: str) -> None:
    assert 'src="http' not in bank_html and "src='http" not in bank_html
    assert not re.search(r"<link[^>]+href=", bank_html)
    assert bank_html.count("<script") == 3  # plotly.js once, the figure data, the drawing
    assert len(bank_html) < 7_000_000  # plotly.js is ~4.8 MB; the data is small


def test_report_names_every_column_and_section(bank_html: str, bank_profile: Profile) -> None:
    for col in bank_profile.columns:
        assert f">{col.name}<" in bank_html
    for section in ("overview", "warnings", "target", "correlations", "missing", "columns"):
        assert f'<section id="{section}">' in bank_html
    assert "likely leakage" in bank_html


def test_figures_are_valid_json_without_raw_data(bank_html: str, bank_profile: Profile) -> None:
    match = re.search(
        r'<script type="application/json" id="profile-figures">(.*?)</script>', bank_html, re.S
    )
    assert match is not None
    figures = json.loads(match.group(1))
    assert len(figures) >= len(bank_profile.columns)
    for chart_id in figures:
        assert f'id="{chart_id}"' in bank_html
    # histograms are bars over counts: no trace carries anything like a row per point
    sizes = [len(trace.get("x", [])) for fig in figures.values() for trace in fig["data"]]
    assert max(sizes) < 200


def test_bike_report_names_its_quirks(bike_profile: Profile) -> None:
    page = html.unescape(render_profile(bike_profile))
    for text in (
        "'casual' + 'registered' equals the target",
        "'mnth2' holds the same",
        "'instant' looks like a row identifier",
        "Collinearity",
    ):
        assert text in page


def test_user_strings_are_escaped() -> None:
    evil = "<script>alert(1)</script>"
    frame = pd.DataFrame(
        {
            evil: np.arange(40.0) % 7,
            "label": [evil, "</script><b>x</b>"] * 20,
            "y": [0, 1] * 20,
        }
    )
    page = render_profile(profile_frame(frame, target="y", task=None, title=evil))
    assert evil not in page
    assert "</script><b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_profile_without_target_and_all_kinds() -> None:
    frame = pd.DataFrame(
        {
            "n": [1.5, 2.5, None, 4.0] * 10,
            "flag": [True, False, True, True] * 10,
            "when": pd.date_range("2021-01-01", periods=40, freq="W"),
            "note": pd.Series(
                [f"a long free text number {i} here" for i in range(40)], dtype="str"
            ),
            "empty": [None] * 40,
        }
    )
    profile = profile_frame(frame, target=None, task=None)
    assert profile.target is None and not profile.relations
    kinds = {c.name: str(c.kind) for c in profile.columns}
    assert kinds == {
        "n": "numeric",
        "flag": "boolean",
        "when": "datetime",
        "note": "text",
        "empty": "categorical",
    }
    assert '<section id="target">' not in render_profile(profile)
    text = json.dumps(profile.to_dict(), allow_nan=False)
    assert '"kind": "datetime"' in text


def test_progress_is_reported(bank_frame: pd.DataFrame) -> None:
    seen: list[tuple[str, float]] = []
    profile_frame(
        bank_frame.head(500),
        target="subscribed",
        task=None,
        progress=lambda stage, share: seen.append((stage, share)),
    )
    assert seen[-1] == ("done", 1.0)
    assert {"columns", "correlations", "warnings", "target"} <= {stage for stage, _ in seen}


def test_bad_arguments_are_refused(bank_frame: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="no column 'nope'"):
        profile_frame(bank_frame, target="nope", task=None)
    with pytest.raises(SpecError, match="task 'ranking'"):
        profile_frame(bank_frame, target="subscribed", task="ranking")
    with pytest.raises(DataError, match="nothing to profile"):
        profile_frame(bank_frame.head(0), target=None, task=None)
    with pytest.raises(DataError, match="repeat"):
        profile_frame(pd.DataFrame([[1, 2]], columns=["a", "a"]), target=None, task=None)


def test_to_dict_is_json_safe(bike_profile: Profile) -> None:
    data = bike_profile.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert data["rows"] == 17_520
    assert "casual" in text and data["target"]["task"] == "regression"
