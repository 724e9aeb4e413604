"""The drift engine on two frames in memory: the test by type and size, only shifted
columns flagged, dates and text skipped, errors that name the column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.distributions.measure import column_types, feature_dict, measure_frames
from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.errors import DataError
from loopml.spec.monitoring import DriftSettings

SCHEMA = Schema(
    (
        ColumnSchema("age", ColumnKind.NUMERIC, "float64"),
        ColumnSchema("job", ColumnKind.CATEGORICAL, "str"),
        ColumnSchema("housing", ColumnKind.BOOLEAN, "bool"),
        ColumnSchema("signed_at", ColumnKind.DATETIME, "datetime64[ns]"),
    )
)


def sample(n: int, seed: int, *, job_p=(0.7, 0.2, 0.1), age_shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, n) + age_shift * 10,
            "job": rng.choice(["admin", "technician", "student"], n, p=job_p),
            "housing": rng.random(n) < 0.5,
            "signed_at": pd.Timestamp("2024-01-01"),
        }
    )


def test_identical_frames_have_no_drift_and_dates_are_skipped() -> None:
    reference = sample(2000, 0)
    types = column_types(reference, SCHEMA)
    assert types == {"age": "numeric", "job": "categorical", "housing": "categorical"}
    features = measure_frames(reference, reference.copy(), types)
    assert [f.feature for f in features] == ["age", "job", "housing"]
    assert [f.method for f in features] == ["ks", "chisquare", "chisquare"]
    assert not any(f.drifted for f in features)


def test_shifted_columns_are_flagged_and_only_them() -> None:
    current = sample(1000, 1, job_p=(0.3, 0.4, 0.3), age_shift=1.0)
    features = measure_frames(sample(2000, 0), current, column_types(current, SCHEMA))
    assert {f.feature for f in features if f.drifted} == {"age", "job"}
    assert feature_dict(features[0])["test"] == "ks"


def test_settings_choose_the_test_and_threshold() -> None:
    settings = DriftSettings(numeric="psi", categorical="psi")
    reference, current = sample(1000, 0), sample(500, 1, age_shift=1.0)
    features = measure_frames(
        reference, current, {"age": "numeric", "job": "categorical"}, settings
    )
    assert [(f.method, f.threshold) for f in features] == [("psi", 0.2), ("psi", 0.2)]
    assert [f.feature for f in features if f.drifted] == ["age"]


def test_a_missing_or_non_numeric_column_is_named() -> None:
    with pytest.raises(DataError, match="no column 'job'"):
        measure_frames(sample(100, 0), sample(100, 1).drop(columns="job"), {"job": "categorical"})
    current = sample(100, 1).astype({"age": object})
    current.loc[3, "age"] = "forty"
    with pytest.raises(DataError, match="'age'"):
        measure_frames(sample(100, 0), current, {"age": "numeric"})


def churn_halves(churn_csv) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The telco churn rows split in two: a reference and 506 rows of a later window."""
    frame = pd.read_csv(churn_csv)
    return frame.iloc[:5000].reset_index(drop=True), frame.iloc[5000:5506].reset_index(drop=True)


def test_one_unseen_category_in_506_rows_is_not_drift(churn_csv) -> None:
    reference, current = churn_halves(churn_csv)
    current.loc[17, "plan"] = "platinum"
    plan = measure_frames(reference, current, {"plan": "categorical"})[0]
    assert plan.method == "chisquare"
    assert not plan.drifted, plan
    assert plan.stats["new_category_share"] == pytest.approx(1 / 506)
    assert plan.note == "1 new value(s): 'platinum'"


def test_a_real_shift_still_alerts_and_names_the_levels_that_moved(churn_csv) -> None:
    reference, current = churn_halves(churn_csv)
    before = (reference["contract"] == "Two year").mean()
    current.loc[: len(current) // 2, "contract"] = "Two year"
    contract = measure_frames(reference, current, {"contract": "categorical"})[0]
    assert contract.drifted
    after = (current["contract"] == "Two year").mean()
    assert contract.note.startswith(f"'Two year' {before:.0%} -> {after:.0%}"), contract.note


def test_chi_square_pools_levels_with_tiny_expected_counts() -> None:
    from loopml.distributions.statistics import chisquare_pvalue, pool_rare_levels

    reference = np.array([300, 200, 0])
    current = np.array([30, 20, 1])  # one value of a level the reference never had
    assert chisquare_pvalue(reference, current) > 0.5
    assert pool_rare_levels(np.vstack([reference, current])).shape == (2, 2)


def test_a_significant_but_tiny_change_is_held_back_by_min_effect() -> None:
    reference = sample(9000, 0, job_p=(0.70, 0.2, 0.1))
    current = sample(9000, 1, job_p=(0.67, 0.23, 0.1))
    strict = measure_frames(reference, current, {"job": "categorical"})[0]
    loose = measure_frames(
        reference, current, {"job": "categorical"}, DriftSettings(min_effect=0.0)
    )[0]
    assert loose.drifted and not strict.drifted
    assert "min_effect 0.03" in strict.note
