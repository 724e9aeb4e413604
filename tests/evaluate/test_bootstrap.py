"""Vectorised metrics and bootstrap intervals: equal to scikit-learn's, fast, seeded."""

from __future__ import annotations

import time

import numpy as np
import pytest

from loopml.evaluate import bootstrap as bs
from loopml.evaluate.metrics import binary_metrics, multiclass_metrics, regression_metrics


def binary_data(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = (rng.random(n) < 0.15).astype(int)
    proba = np.round(np.clip(0.3 * truth + 0.7 * rng.random(n), 0, 1), 2)  # with ties
    return truth, proba


def test_binary_scores_with_unit_weights_equal_sklearn() -> None:
    truth, proba = binary_data(3000)
    for threshold in (0.3, 0.5, 0.62):
        ours = bs.binary_scores(truth, proba, threshold, np.ones((1, len(truth))))
        theirs = binary_metrics(truth, proba, threshold=threshold)
        assert set(ours) == set(theirs)
        for name, value in theirs.items():
            assert ours[name][0] == pytest.approx(value, abs=1e-12), name


def test_weights_equal_repeating_rows() -> None:
    truth, proba = binary_data(500)
    counts = bs.resample_counts(len(truth), 3, seed=7)
    ours = bs.binary_scores(truth, proba, 0.5, counts)
    for b in range(3):
        rows = np.repeat(np.arange(len(truth)), counts[b])
        theirs = binary_metrics(truth[rows], proba[rows])
        for name, value in theirs.items():
            assert ours[name][b] == pytest.approx(value, abs=1e-12), name


def test_regression_and_multiclass_scores_equal_sklearn() -> None:
    rng = np.random.default_rng(3)
    y = rng.normal(size=800) * 10 + 5
    y[:20] = 0  # mape skips these
    guess = y + rng.normal(size=800)
    ours = bs.regression_scores(y, guess, np.ones((1, 800)))
    for name, value in regression_metrics(y, guess).items():
        assert ours[name][0] == pytest.approx(value, rel=1e-9), name
    truth = rng.integers(0, 3, 800)
    proba = rng.dirichlet([1, 1, 1], 800)
    guess_codes = proba.argmax(axis=1)
    ours = bs.multiclass_scores(truth, guess_codes, proba, np.ones((1, 800)))
    labels = np.array(["a", "b", "c"], dtype=object)
    theirs = multiclass_metrics(labels[truth], labels[guess_codes], proba, ["a", "b", "c"])
    for name, value in theirs.items():
        assert ours[name][0] == pytest.approx(value, rel=1e-9), name


def test_intervals_hold_the_value_and_shrink_with_rows() -> None:
    def width(n: int) -> tuple[float, float, float]:
        truth, proba = binary_data(n)
        ci = bs.bootstrap(
            lambda w: bs.binary_scores(truth, proba, 0.5, w),
            n,
            samples=200,
            confidence=0.95,
            seed=0,
        )
        value = binary_metrics(truth, proba)["roc_auc"]
        low, high = ci["roc_auc"]
        assert low < value < high
        return low, high, high - low

    assert width(8000)[2] < width(500)[2] / 2


def test_seeded_and_fast_on_a_bank_sized_hold_out() -> None:
    truth, proba = binary_data(9000)

    def run() -> bs.Intervals:
        return bs.bootstrap(
            lambda w: bs.binary_scores(truth, proba, 0.5, w),
            len(truth),
            samples=200,
            confidence=0.9,
            seed=5,
        )

    started = time.perf_counter()
    first = run()
    seconds = time.perf_counter() - started
    assert first == run()
    assert len(first) == 9  # every binary metric
    assert seconds < 3.0, f"200 resamples of 9,000 rows took {seconds:.2f}s"


def test_a_resample_with_one_class_has_no_auc() -> None:
    truth = np.array([0, 0, 1, 1])
    proba = np.array([0.1, 0.4, 0.35, 0.8])
    weights = np.array([[2, 2, 0, 0], [1, 1, 1, 1]])
    scores = bs.binary_scores(truth, proba, 0.5, weights)
    assert np.isnan(scores["roc_auc"][0]) and scores["roc_auc"][1] == pytest.approx(0.75)


def test_error_quantiles_are_named_and_ordered() -> None:
    error = np.arange(-50.0, 51.0)
    quantiles = bs.error_quantiles(error)
    assert list(quantiles) == ["error_q05", "error_q25", "error_q50", "error_q75", "error_q95"]
    assert quantiles["error_q50"] == 0.0 and quantiles["error_q05"] == -45.0
