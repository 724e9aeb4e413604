"""PSI drift per feature: stable samples pass, shifted ones are flagged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.errors import DataError
from loopml.monitor.drift import categorical_bin_counts, compute_drift, numeric_bin_counts
from loopml.monitor.statistics import psi

SCHEMA = Schema(
    (
        ColumnSchema("age", ColumnKind.NUMERIC, "float64"),
        ColumnSchema("balance", ColumnKind.NUMERIC, "float64"),
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
            "balance": rng.exponential(1000, n),
            "job": rng.choice(["admin", "technician", "student"], n, p=job_p),
            "housing": rng.random(n) < 0.5,
            "signed_at": pd.Timestamp("2024-01-01"),
        }
    )


def scores(features) -> dict[str, float]:
    return {f.feature: f.score for f in features}


def test_identical_samples_have_no_drift() -> None:
    reference = sample(2000, 0)
    features = compute_drift(reference, reference.copy(), SCHEMA)
    assert [f.feature for f in features] == ["age", "balance", "job", "housing"]  # no datetime
    assert all(f.score == pytest.approx(0.0, abs=1e-12) for f in features)
    assert not any(f.drifted for f in features)
    assert all(f.method == "psi" and f.threshold == 0.2 for f in features)


def test_an_independent_sample_of_the_same_population_is_stable() -> None:
    features = compute_drift(sample(2000, 0), sample(1000, 1), SCHEMA)
    assert max(scores(features).values()) < 0.05


def test_shifted_columns_are_flagged_and_only_them() -> None:
    current = sample(1000, 1, job_p=(0.3, 0.4, 0.3), age_shift=1.0)
    features = compute_drift(sample(2000, 0), current, SCHEMA)
    drifted = {f.feature for f in features if f.drifted}
    assert drifted == {"age", "job"}
    assert scores(features)["age"] > 0.5


def test_unseen_category_counts_as_drift() -> None:
    reference = sample(1000, 0)
    current = sample(500, 1)
    current.loc[: len(current) // 5, "job"] = "astronaut"
    result = scores(compute_drift(reference, current, SCHEMA))
    assert result["job"] >= 0.2


def test_numeric_bins_are_open_ended() -> None:
    reference = np.arange(100, dtype=float)
    ref_counts, cur_counts = numeric_bin_counts(reference, np.array([-1e9, 1e9, 50.0]))
    assert ref_counts.sum() == 100 and cur_counts.sum() == 3
    assert len(ref_counts) == 10 + 1  # nine decile edges, ten value bins, then NaN
    assert cur_counts.tolist() == [1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0]


def test_tied_values_give_fewer_bins() -> None:
    reference = np.array([0.0] * 90 + [1.0] * 10)
    ref_counts, _ = numeric_bin_counts(reference, reference)
    assert ref_counts.tolist() == [0, 90, 10, 0]  # two unique edges (0 and 0.1), then NaN


def test_nan_has_its_own_bin() -> None:
    reference = sample(1000, 0)
    current = sample(1000, 1)
    same = compute_drift(reference, current, SCHEMA)
    current.loc[: len(current) // 3, "balance"] = np.nan
    result = scores(compute_drift(reference, current, SCHEMA))
    assert result["balance"] >= 0.2 > scores(same)["balance"]
    _, counts = numeric_bin_counts(np.array([1.0, np.nan, 2.0]), np.array([np.nan, np.nan]))
    assert counts[-1] == 2


def test_missing_categories_have_their_own_bin() -> None:
    ref, cur = categorical_bin_counts(
        pd.Series(["a", "b", None, "a"]), pd.Series([None, None, "c", "a"], dtype="str")
    )
    assert ref.tolist() == [2, 1, 0, 1]  # a, b, unseen, missing
    assert cur.tolist() == [1, 0, 1, 2]


def test_integer_categories_match_their_logged_floats() -> None:
    ref, cur = categorical_bin_counts(pd.Series([1, 2, 2]), pd.Series([1.0, 2.0, 2.0, np.nan]))
    assert ref.tolist() == [1, 2, 0, 0]
    assert cur.tolist() == [1, 2, 0, 1]
    assert psi(ref, ref) == 0.0


def test_all_nan_reference_still_measures() -> None:
    schema = Schema((ColumnSchema("x", ColumnKind.NUMERIC, "float64"),))
    reference = pd.DataFrame({"x": [np.nan] * 50})
    current = pd.DataFrame({"x": np.arange(50.0)})
    (feature,) = compute_drift(reference, current, schema)
    assert feature.drifted


def test_too_few_rows_names_the_count() -> None:
    with pytest.raises(DataError, match="only 3 predictions logged for bank@2; need at least 30"):
        compute_drift(sample(100, 0), sample(3, 1), SCHEMA, subject="bank@2")


def test_a_missing_column_is_named() -> None:
    with pytest.raises(DataError, match="no column 'job'"):
        compute_drift(sample(100, 0), sample(100, 1).drop(columns="job"), SCHEMA)


def test_a_non_numeric_value_in_a_numeric_column_is_a_data_error() -> None:
    current = sample(100, 1).astype({"age": object})
    current.loc[3, "age"] = "forty"
    with pytest.raises(DataError, match="'age'"):
        compute_drift(sample(100, 0), current, SCHEMA)


def test_threshold_decides_which_features_drifted() -> None:
    reference, current = sample(1000, 0), sample(500, 1, age_shift=1.0)
    features = compute_drift(reference, current, SCHEMA, threshold=0.25)
    assert [f.feature for f in features if f.drifted] == ["age"]
    assert all(f.threshold == 0.25 for f in features)
    assert not any(f.drifted for f in compute_drift(reference, reference, SCHEMA))


def test_large_samples_are_quick() -> None:
    import time

    reference, current = sample(200_000, 0), sample(200_000, 1)
    started = time.perf_counter()
    compute_drift(reference, current, SCHEMA)
    assert time.perf_counter() - started < 10.0
