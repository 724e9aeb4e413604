"""Feature selection: importance, correlation, mutual information."""

from __future__ import annotations

import numpy as np
import pytest

from loopml.features.select import FeatureSelector


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 400
    signal = rng.normal(size=n)
    X = np.column_stack(
        [rng.normal(size=n), signal, np.ones(n), signal + 1e-3 * rng.normal(size=n)]
    )
    return X, signal * 3 + rng.normal(scale=0.1, size=n)


def test_k_larger_than_the_columns_keeps_all(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    selector = FeatureSelector("mutual_info", k=10, task="regression").fit(X, y)
    assert selector.get_support().all()


def test_mutual_info_threshold(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    selector = FeatureSelector("mutual_info", threshold=0.5, task="regression").fit(X, y)
    assert selector.get_support().tolist() == [False, True, False, True]


def test_correlation_ignores_constant_columns_and_needs_no_target(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, _ = data
    selector = FeatureSelector("correlation").fit(X)
    assert selector.get_support().tolist() == [True, True, True, False]
    assert selector.get_feature_names_out(["a", "b", "c", "d"]).tolist() == ["a", "b", "c"]


def test_importance_default_keeps_above_the_mean(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    selector = FeatureSelector("importance", task="regression").fit(X, y)
    assert selector.get_support()[[1, 3]].any() and not selector.get_support()[2]


def test_missing_values_and_sampling(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    X = X.copy()
    X[::7, 1] = np.nan
    selector = FeatureSelector("mutual_info", k=1, task="regression", max_rows=100).fit(X, y)
    assert selector.transform(X).shape == (len(X), 1)


def test_parameters_are_checked(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    with pytest.raises(ValueError, match="method='best'"):
        FeatureSelector("best").fit(X, y)
    with pytest.raises(ValueError, match="needs the target y"):
        FeatureSelector("importance").fit(X)
    with pytest.raises(ValueError, match="task='ranking'"):
        FeatureSelector(task="ranking").fit(X, y)
