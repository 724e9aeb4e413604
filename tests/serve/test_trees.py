"""HistGradientBoosting as lookup tables gives the model's own numbers, bit for bit,
categorical splits included."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from loopml.serve import trees
from loopml.serve.trees import CompiledHGB, compile_hgb


def data(rows: int, seed: int, missing: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 6))
    X[:, 5] = rng.integers(0, 4, rows)  # few distinct values: many rows on a threshold
    X[rng.random(X.shape) < missing] = np.nan
    return X


def labels(X: np.ndarray, task: str) -> np.ndarray:
    score = np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) * np.nan_to_num(X[:, 5])
    if task == "regression":
        return score
    if task == "multiclass":
        return np.digitize(score, [-0.5, 0.5]).astype(str)
    return np.where(score > 0, "yes", "no")


def fit(task: str, **params) -> HistGradientBoostingClassifier | HistGradientBoostingRegressor:
    X = data(600, 0)
    params = {"max_iter": 30, "random_state": 0, **params}
    kind = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    return kind(**params).fit(X, labels(X, task))


def hard_rows(model, seed: int) -> np.ndarray:
    """New rows, plus rows exactly on every threshold, infinities and missing values."""
    X = data(257, seed, missing=0.2)
    edges = compile_hgb(model).tables
    on = X[: len(edges.cuts)].copy()
    for j, feature in enumerate(edges.features):
        cuts = edges.cuts[edges.cut_start[j] : edges.cut_start[j + 1]]
        on[: len(cuts), feature] = cuts
    extreme = np.array([[np.inf] * 6, [-np.inf] * 6, [np.nan] * 6, [0.0] * 6, [-0.0] * 6])
    return np.vstack([X, on, extreme])


@pytest.mark.parametrize("jit", [False, True], ids=["numpy", "numba"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_tables_give_the_models_own_outputs(task: str, jit: bool) -> None:
    model = fit(task, max_leaf_nodes=15)
    compiled = compile_hgb(model)
    assert isinstance(compiled, CompiledHGB)
    X = hard_rows(model, seed=4)
    for rows in (X[:1], X[:32], X):
        np.testing.assert_array_equal(compiled.raw_predict(rows, jit=jit), model._raw_predict(rows))
    assert compiled.n_features_in_ == 6  # the rest is the model's
    np.testing.assert_array_equal(compiled.predict(X), model.predict(X))
    if task != "regression":
        np.testing.assert_array_equal(compiled.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("jit", [False, True], ids=["numpy", "numba"])
def test_trees_of_up_to_64_leaves_use_wide_masks(jit: bool) -> None:
    model = fit("regression", max_leaf_nodes=60, min_samples_leaf=2, max_iter=10)
    tables = compile_hgb(model).tables
    assert tables.masks.dtype == np.uint64
    assert int(np.bitwise_count(tables.all_leaves).max()) > 32
    X = hard_rows(model, seed=5)
    np.testing.assert_array_equal(compile_hgb(model).raw_predict(X, jit=jit), model._raw_predict(X))


def test_every_row_reaches_exactly_one_leaf_per_tree() -> None:
    model = fit("binary")
    tables = compile_hgb(model).tables
    X = hard_rows(model, seed=6)
    reached = np.broadcast_to(tables.all_leaves, (len(X), len(tables.all_leaves)))
    for j in range(len(tables.features)):
        reached = reached & tables.masks[tables.bins(X)[:, j]]
    assert (np.bitwise_count(reached) == 1).all()


def test_a_model_without_a_split_predicts_its_baseline() -> None:
    X = data(100, 1)
    model = HistGradientBoostingRegressor(max_iter=3).fit(X, np.full(100, 2.5))
    compiled = compile_hgb(model)
    assert isinstance(compiled, CompiledHGB) and len(compiled.tables.features) == 0
    for jit in (False, True):
        np.testing.assert_array_equal(compiled.raw_predict(X, jit=jit), model._raw_predict(X))


def test_models_the_tables_cannot_hold_are_left_to_scikit_learn(monkeypatch) -> None:
    many_leaves = fit("regression", max_leaf_nodes=100, min_samples_leaf=1, max_iter=2)
    assert compile_hgb(many_leaves) is many_leaves
    monkeypatch.setattr(trees, "MAX_TABLE_BYTES", 1024)
    model = fit("binary")
    assert compile_hgb(model) is model
    assert compile_hgb("not a model") == "not a model"


def test_each_leaf_bit_has_its_own_slot() -> None:
    bits = np.array([1 << b for b in range(64)], dtype=np.uint64)
    assert sorted(trees.slot(bits).tolist()) == list(range(64))


def categorical_data(rows: int, seed: int) -> np.ndarray:
    """Column 0: 12 categories (floats, not 0..n-1); 1: 3 categories; 2-3: numbers."""
    rng = np.random.default_rng(seed)
    X = np.c_[
        rng.integers(0, 12, rows) * 2.5 - 5.0,
        rng.integers(0, 3, rows),
        rng.normal(size=(rows, 2)),
    ]
    X[rng.random(X.shape) < 0.1] = np.nan
    return X


@pytest.mark.parametrize("jit", [False, True], ids=["numpy", "numba"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_categorical_splits_give_the_models_own_outputs(task: str, jit: bool) -> None:
    X = categorical_data(800, 0)
    score = np.isin(X[:, 0], [0.0, 5.0, 15.0]) + np.nan_to_num(X[:, 2]) + (X[:, 1] == 2)
    y = score if task == "regression" else np.digitize(score, [0.5, 1.5][: 1 + (task != "binary")])
    kind = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    model = kind(max_iter=20, categorical_features=[0, 1], random_state=0).fit(X, y)
    assert any(p.nodes["is_categorical"].any() for it in model._predictors for p in it)
    compiled = compile_hgb(model)
    assert isinstance(compiled, CompiledHGB)
    new = categorical_data(300, 1)
    unknown = np.array([[7.5, 5.0, 0.1, 0.2], [-7.5, -1.0, 0.0, 0.0], [2.4999, 0.5, 1, 1]])
    edges = np.array([[np.nan] * 4, [-0.0] * 4, [1e300, 1e300, 1e300, 1e300]])
    X = np.vstack([new, unknown, edges])
    with pytest.raises(ValueError, match="infinity"):  # scikit-learn's own refusal
        compiled.predict(np.array([[np.inf, 0.0, 0.0, 0.0]]))
    np.testing.assert_array_equal(compiled.raw_predict(X, jit=jit), model._raw_predict(X))
    np.testing.assert_array_equal(compiled.predict(X), model.predict(X))
    if task != "regression":
        np.testing.assert_array_equal(compiled.predict_proba(X), model.predict_proba(X))
