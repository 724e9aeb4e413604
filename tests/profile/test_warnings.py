"""Findings: the quirks of the two real data sets are named, synthetic ones are caught,
and clean data raises no leakage alarm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.profile import Finding, Profile, profile_frame
from loopml.profile.warnings import KINDS, SEVERITIES


def kinds_about(profile: Profile, *columns: str) -> set[str]:
    return {f.kind for f in profile.findings if set(columns) <= set(f.columns)}


def only(profile: Profile, kind: str) -> list[Finding]:
    return [f for f in profile.findings if f.kind == kind]


def test_bank_duration_is_flagged_as_likely_leakage(bank_profile: Profile) -> None:
    (leak,) = only(bank_profile, "leakage")
    assert leak.columns == ("duration",)
    assert "likely leakage" in leak.message
    assert "known at prediction time" in leak.message
    best = bank_profile.scores[0]
    assert best.column == "duration" and best.metric == "roc_auc"
    assert 0.78 < best.score < 0.85


def test_bank_has_no_other_quirk(bank_profile: Profile) -> None:
    assert {f.kind for f in bank_profile.findings} == {"leakage"}


def test_bike_sum_leak_is_flagged(bike_profile: Profile) -> None:
    sums = [f for f in only(bike_profile, "leakage") if len(f.columns) == 2]
    assert [set(f.columns) for f in sums] == [{"casual", "registered"}]
    assert "equals the target 'cnt' in every row" in sums[0].message
    assert sums[0].severity == "high"


def test_bike_text_copies_are_duplicates_of_their_numbers(bike_profile: Profile) -> None:
    pairs = {frozenset(f.columns) for f in only(bike_profile, "duplicate_columns")}
    assert pairs == {
        frozenset({"mnth", "mnth2"}),
        frozenset({"weekday", "weekday2"}),
        frozenset({"hr", "hr2"}),
    }
    (month,) = [f for f in only(bike_profile, "duplicate_columns") if "mnth2" in f.columns]
    assert "January = 1" in month.message


def test_bike_index_columns_are_id_like(bike_profile: Profile) -> None:
    flagged = {f.columns[0] for f in only(bike_profile, "id_like")}
    assert flagged == {"column_0", "x", "instant"}


def test_bike_collinearity_and_missing(bike_profile: Profile) -> None:
    assert "collinearity" in kinds_about(bike_profile, "temp", "atemp")
    (missing,) = only(bike_profile, "missing")
    assert missing.severity == "low" and "weathersit" in missing.columns


@pytest.fixture(scope="module")
def synthetic() -> Profile:
    rng = np.random.default_rng(7)
    n = 3000
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
    frame = pd.DataFrame(
        {
            "x": x,
            "x_again": 3 * x + rng.normal(0, 0.1, n),  # r ~ 0.999
            "noise": rng.normal(size=n),
            "constant": np.full(n, 4.0),
            "mostly_missing": np.where(rng.random(n) < 0.7, np.nan, rng.normal(size=n)),
            "answer": np.where(y == 1, "yes", "no"),  # the target, spelt differently
            "after_the_fact": y + rng.normal(0, 0.1, n),  # AUC ~ 1
            "city": rng.choice(["a", "b", "c"], n),
            "y": y,
        }
    )
    frame = pd.concat([frame, frame.iloc[:30]], ignore_index=True)
    return profile_frame(frame, target="y", task="classification")


def test_synthetic_constant_correlated_missing_and_duplicate_rows(synthetic: Profile) -> None:
    assert kinds_about(synthetic, "constant") == {"constant"}
    assert "collinearity" in kinds_about(synthetic, "x", "x_again")
    (missing,) = [f for f in only(synthetic, "missing") if f.severity == "medium"]
    assert missing.columns == ("mostly_missing",)
    (dupes,) = only(synthetic, "duplicate_rows")
    assert "30 rows" in dupes.message


def test_synthetic_leaks_are_flagged(synthetic: Profile) -> None:
    leaks = {f.columns: f for f in only(synthetic, "leakage")}
    assert set(leaks) == {("answer",), ("after_the_fact",)}
    assert "copy of the target" in leaks[("answer",)].message
    assert "almost perfectly" in leaks[("after_the_fact",)].message
    assert all(f.severity == "high" for f in leaks.values())


def test_findings_are_ordered_by_severity(synthetic: Profile) -> None:
    order = [(SEVERITIES.index(f.severity), KINDS.index(f.kind)) for f in synthetic.findings]
    assert order == sorted(order)


def test_clean_data_raises_no_leakage_alarm() -> None:
    rng = np.random.default_rng(8)
    n = 2000
    frame = pd.DataFrame({f"f{i}": rng.normal(size=n) for i in range(5)})
    frame["id"] = np.arange(n)
    frame["group"] = rng.choice(list("abcdefgh"), n)
    frame["y"] = 2 * frame["f0"] + frame["f1"] + rng.normal(0, 2, n)
    profile = profile_frame(frame, target="y", task=None)
    assert profile.task == "regression"
    assert not only(profile, "leakage")
    assert [f.columns for f in only(profile, "id_like")] == [("id",)]
    assert profile.scores[0].column == "f0" and profile.scores[0].metric == "r"


def test_imbalanced_multiclass_target() -> None:
    rng = np.random.default_rng(9)
    n = 2000
    labels = rng.choice(["small", "medium", "large"], n, p=[0.05, 0.45, 0.5])
    frame = pd.DataFrame({"size": labels, "noise": rng.normal(size=n)})
    profile = profile_frame(frame, target="size", task=None)
    (imbalance,) = only(profile, "imbalance")
    assert "'small'" in imbalance.message
    assert profile.scores and profile.scores[0].metric == "roc_auc"
    assert not only(profile, "leakage")


@pytest.fixture(scope="module")
def gems() -> Profile:
    """Diamonds in miniature: x, y, z in mm (three of them 0 in a few rows), carat tied to
    their size, a count that is often 0 and a measure whose zeros continue its range."""
    rng = np.random.default_rng(11)
    n = 2000
    x = rng.uniform(3.7, 10.7, n)
    frame = pd.DataFrame(
        {
            "x": x,
            "y": x + rng.normal(0, 0.05, n),
            "z": 0.62 * x + rng.normal(0, 0.03, n),
            "carat": 0.0062 * x**3 + rng.normal(0, 0.01, n),
            "visits": rng.poisson(0.5, n).astype(float),  # zeros are most rows: fine
            "rain_mm": np.where(rng.random(n) < 0.03, 0.0, rng.exponential(5.0, n)),
            "depth": rng.normal(61.7, 1.4, n),
            "price": 300 * x**2 + rng.normal(0, 200, n),
        }
    )
    for column, rows in (("x", [5, 50]), ("y", [5, 51]), ("z", [5, 52, 53, 54])):
        frame.loc[rows, column] = 0.0
    return profile_frame(frame, target="price", task="regression")


def test_impossible_zeros_are_flagged_per_column(gems: Profile) -> None:
    found = {f.columns[0]: f for f in only(gems, "impossible_zeros")}
    assert set(found) == {"x", "y", "z"}  # not visits (zeros are common), nor rain_mm
    z = found["z"]
    assert z.severity == "medium" and "'z' is 0 in 4 rows" in z.message
    assert "missing measurement" in z.message and '"z > 0"' in z.message


def test_a_collinear_group_gives_one_finding(gems: Profile) -> None:
    groups = only(gems, "collinearity")
    assert len(groups) == 1  # not one finding per pair of x, y, z and carat
    (group,) = groups
    assert set(group.columns) == {"x", "y", "z", "carat"}
    assert "'x', 'y', 'z' and 'carat' are highly correlated with each other (6 pairs" in (
        group.message
    )


def test_the_profile_page_titles_impossible_zeros(gems: Profile) -> None:
    from loopml.profile.report import KIND_TITLES

    assert set(KIND_TITLES) == set(KINDS)


def test_bike_humidity_of_zero_is_an_impossible_zero(bike_profile: Profile) -> None:
    (zeros,) = only(bike_profile, "impossible_zeros")  # 22 hours at 0 % humidity
    assert zeros.columns == ("hum",) and "'hum' is 0 in 22 rows" in zeros.message
