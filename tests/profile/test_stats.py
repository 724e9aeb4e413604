"""Column statistics and correlations match numpy and pandas on small known frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.domain import ColumnKind
from loopml.profile.correlation import cramers_v, pearson_matrix, spearman_matrix
from loopml.profile.stats import (
    HIST_BINS,
    OUTLIER_SAMPLE,
    TOP_CATEGORIES,
    column_stats,
    missing_map,
    numeric_stats,
    prepare_column,
    row_hashes,
)


@pytest.fixture
def skewed() -> np.ndarray:
    rng = np.random.default_rng(3)
    values = rng.lognormal(0, 1, 2000)
    values[rng.random(2000) < 0.1] = np.nan
    values[:5] = 0.0
    return values


def test_numeric_moments_and_quartiles_match_numpy_and_pandas(skewed: np.ndarray) -> None:
    distinct, stats = numeric_stats(skewed)
    assert stats is not None
    present = skewed[~np.isnan(skewed)]
    series = pd.Series(skewed)
    q1, median, q3 = np.nanpercentile(skewed, [25, 50, 75])
    assert (stats.q1, stats.median, stats.q3) == pytest.approx((q1, median, q3), rel=1e-12)
    assert stats.mean == pytest.approx(series.mean(), rel=1e-12)
    assert stats.std == pytest.approx(series.std(), rel=1e-12)
    assert stats.skew == pytest.approx(series.skew(), rel=1e-9)
    assert (stats.min, stats.max) == (present.min(), present.max())
    assert stats.zeros == 5
    assert distinct == series.nunique()


def test_histogram_counts_match_numpy(skewed: np.ndarray) -> None:
    _, stats = numeric_stats(skewed)
    assert stats is not None
    counts, edges = np.histogram(skewed[~np.isnan(skewed)], bins=HIST_BINS)
    assert stats.histogram.counts == tuple(counts)
    assert stats.histogram.edges == pytest.approx(tuple(edges))
    assert sum(stats.histogram.counts) == int((~np.isnan(skewed)).sum())


def test_integers_with_few_values_get_a_bar_per_value() -> None:
    values = np.array([1, 2, 2, 3, 3, 3, 7, np.nan])
    _, stats = numeric_stats(values)
    assert stats is not None
    assert stats.histogram.values == (1.0, 2.0, 3.0, 7.0)
    assert stats.histogram.counts == (1, 2, 3, 1)
    assert stats.histogram.edges == ()


def test_many_integers_get_bins_of_a_whole_width() -> None:
    values = np.arange(18, 96, dtype=float)  # 78 ages
    _, stats = numeric_stats(values)
    assert stats is not None
    edges = stats.histogram.edges
    assert edges[0] == 18 and set(np.diff(edges)) == {3.0}
    assert stats.histogram.integral
    assert set(stats.histogram.counts) == {3}  # every bin holds three values
    assert sum(stats.histogram.counts) == values.size


def test_box_plot_numbers_follow_tukey(skewed: np.ndarray) -> None:
    _, stats = numeric_stats(skewed)
    assert stats is not None
    box = stats.box
    present = np.sort(skewed[~np.isnan(skewed)])
    iqr = box.q3 - box.q1
    low, high = box.q1 - 1.5 * iqr, box.q3 + 1.5 * iqr
    inside = present[(present >= low) & (present <= high)]
    assert (box.lower_fence, box.upper_fence) == (inside.min(), inside.max())
    assert box.outliers_low == int((present < low).sum())
    assert box.outliers_high == int((present > high).sum())
    assert 0 < len(box.outlier_sample) <= OUTLIER_SAMPLE
    assert present.max() in box.outlier_sample  # the extremes are always kept
    assert all(v < low or v > high for v in box.outlier_sample)


def test_infinities_are_counted_apart_and_all_missing_has_no_stats() -> None:
    distinct, stats = numeric_stats(np.array([1.0, np.inf, -np.inf, 2.0, np.nan]))
    assert stats is not None and stats.infinite == 2 and distinct == 2
    assert stats.max == 2.0
    assert numeric_stats(np.array([np.nan, np.nan])) == (0, None)


def test_missing_counts_per_kind() -> None:
    frame = pd.DataFrame(
        {
            "n": [1.0, None, 3.0, None],
            "c": pd.Series(["a", None, "b", "a"], dtype="str"),
            "d": pd.to_datetime(["2020-01-05", None, "2020-03-01", "2020-03-09"]),
        }
    )
    kinds = {"n": ColumnKind.NUMERIC, "c": ColumnKind.CATEGORICAL, "d": ColumnKind.DATETIME}
    stats = {name: column_stats(prepare_column(frame[name], kinds[name])) for name in frame}
    assert [(s.count, s.missing) for s in stats.values()] == [(2, 2), (3, 1), (3, 1)]
    assert stats["c"].categories is not None
    assert stats["c"].categories.top == (("a", 2), ("b", 1))
    dates = stats["d"].datetime
    assert dates is not None and dates.period == "month"
    assert dates.counts == (("2020-01", 1), ("2020-02", 0), ("2020-03", 2))
    assert dates.min == "2020-01-05"


def test_categories_keep_the_most_frequent_and_sum_the_rest() -> None:
    values = [f"v{i}" for i in range(30) for _ in range(i + 1)]
    stats = column_stats(prepare_column(pd.Series(values, name="c"), ColumnKind.CATEGORICAL))
    cats = stats.categories
    assert cats is not None and stats.distinct == 30
    assert len(cats.top) == TOP_CATEGORIES and cats.top[0] == ("v29", 30)
    assert cats.other_categories == 10
    assert cats.other == sum(range(1, 11))


def test_date_strings_are_parsed_once_per_value() -> None:
    col = prepare_column(pd.Series(["1/1/11", "1/2/11", None, "1/1/11"]), ColumnKind.DATETIME)
    assert col.values is not None
    assert list(col.missing) == [False, False, True, False]
    assert str(col.values[1])[:10] == "2011-01-02"


def test_text_lengths_and_words() -> None:
    series = pd.Series(["one two", "three four five", None, "one two"], name="t", dtype="str")
    stats = column_stats(prepare_column(series, ColumnKind.TEXT))
    text = stats.text
    assert text is not None and stats.distinct == 2 and stats.missing == 1
    assert (text.length_min, text.length_max) == (7.0, 15.0)
    assert text.length_mean == pytest.approx((7 + 15 + 7) / 3)
    assert text.words_mean == pytest.approx((2 + 3 + 2) / 3)
    assert text.top[0] == ("one two", 2)


def test_booleans_are_categories_and_zero_one_values() -> None:
    col = prepare_column(pd.Series([True, False, True, None], dtype="boolean"), ColumnKind.BOOLEAN)
    assert col.values is not None
    assert list(col.values[:3]) == [1.0, 0.0, 1.0] and np.isnan(col.values[3])
    stats = column_stats(col)
    assert stats.categories is not None and stats.categories.top[0] == ("True", 2)


def test_pearson_matches_pandas_on_complete_data() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(500, 5)), columns=list("abcde"))
    frame["b"] = frame["a"] * 3 + rng.normal(0, 0.1, 500) + 1e6  # a large offset
    frame["c"] = -frame["a"] + rng.normal(0, 1, 500)
    ours = pearson_matrix([frame[c].to_numpy() for c in frame])
    np.testing.assert_allclose(ours, frame.corr().to_numpy(), atol=1e-6)


def test_pearson_is_pairwise_complete_like_pandas() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(400, 4)), columns=list("abcd"))
    frame["b"] += frame["a"]
    for col in frame:
        frame.loc[rng.random(400) < 0.15, col] = np.nan
    ours = pearson_matrix([frame[c].to_numpy() for c in frame])
    np.testing.assert_allclose(ours, frame.corr().to_numpy(), atol=1e-6)


def test_pearson_of_a_constant_column_is_undefined() -> None:
    ours = pearson_matrix([np.arange(10.0), np.ones(10)])
    assert ours[0, 0] == pytest.approx(1.0)
    assert np.isnan(ours[0, 1]) and np.isnan(ours[1, 1])


def test_spearman_matches_pandas_on_complete_data() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"a": rng.normal(size=300)})
    frame["b"] = np.exp(frame["a"]) + rng.normal(0, 0.2, 300)
    frame["c"] = rng.integers(0, 5, 300)  # ties
    ours = spearman_matrix([frame[c].to_numpy(dtype=float) for c in frame])
    np.testing.assert_allclose(ours, frame.corr(method="spearman").to_numpy(), atol=1e-6)


def test_cramers_v_is_one_for_a_mapping_and_near_zero_when_independent() -> None:
    rng = np.random.default_rng(4)
    a = rng.integers(0, 4, 5000)
    assert cramers_v(a, (a + 1) % 4, 4, 4) == pytest.approx(1.0, abs=1e-3)
    assert cramers_v(a, rng.integers(0, 3, 5000), 4, 3) < 0.05
    assert np.isnan(cramers_v(a, np.zeros(5000, dtype=int), 4, 1))


def test_missing_map_shares_per_block() -> None:
    mask = np.zeros(100, dtype=bool)
    mask[:25] = True
    starts, shares = missing_map([mask, np.zeros(100, dtype=bool)], chunks=4)
    assert starts == [0, 25, 50, 75]
    assert shares.tolist() == [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]


def test_row_hashes_count_duplicate_rows_like_pandas() -> None:
    frame = pd.DataFrame(
        {
            "n": [1.0, 1.0, np.nan, np.nan, 2.0, -0.0, 0.0],
            "c": pd.Series(["a", "a", None, None, "a", "b", "b"], dtype="str"),
        }
    )
    columns = [
        prepare_column(frame["n"], ColumnKind.NUMERIC),
        prepare_column(frame["c"], ColumnKind.CATEGORICAL),
    ]
    hashes = row_hashes(columns)
    assert len(hashes) - len(np.unique(hashes)) == int(frame.duplicated().sum()) == 3


def test_unhashable_values_are_compared_as_text() -> None:
    series = pd.Series([[1, 2], [1, 2], None, {"a": 1}], name="nested")
    stats = column_stats(prepare_column(series, ColumnKind.CATEGORICAL))
    assert (stats.distinct, stats.missing) == (2, 1)
    assert stats.categories is not None and stats.categories.top[0] == ("[1, 2]", 2)
