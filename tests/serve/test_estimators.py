"""Every kind of the zoo gets a fast path with the estimator's own outputs: linear,
random forest, LightGBM and XGBoost (HistGradientBoosting: test_trees.py), for binary,
multiclass and regression models, missing values included."""

from __future__ import annotations

import warnings

import lightgbm
import numpy as np
import pytest
import xgboost
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

from loopml.serve.boosters import CompiledBooster, compile_booster
from loopml.serve.estimators import CompiledEncoded, compile_estimator
from loopml.serve.forests import CompiledForest
from loopml.serve.linear import CompiledLinear
from loopml.serve.trees import CompiledHGB
from loopml.train.zoo import MODEL_KINDS, BuildRequest

from .test_trees import data, labels

TASKS = ["binary", "multiclass", "regression"]


def new_rows(seed: int, missing: bool = True, huge: bool = True) -> np.ndarray:
    """New rows with missing values, zeros (LightGBM's zero band), -0.0 and values
    beyond float32 (``huge``)."""
    X = data(300, seed, missing=0.2 if missing else 0.0)
    X[:20] = 0.0
    X[20:30] = -0.0
    X[30:35] = 1e-36
    X[35:40] = 1e300 if huge else 1e30
    return X


def outputs(model, X: np.ndarray, task: str) -> np.ndarray:
    return model.predict(X) if task == "regression" else model.predict_proba(X)


def fit_zoo(kind: str, task: str, X: np.ndarray, **params):
    zoo = MODEL_KINDS[kind]
    kind_task = "regression" if task == "regression" else "classification"
    estimator = zoo.build(BuildRequest(kind_task, {**zoo.defaults(kind_task), **params}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, labels(X, task))


@pytest.mark.parametrize("task", TASKS)
def test_linear_models_give_their_own_outputs(task: str) -> None:
    X = data(500, 0, missing=0.0)
    model = fit_zoo("linear", task, X)
    compiled = compile_estimator(model)
    assert isinstance(compiled, CompiledLinear)
    T = new_rows(1, missing=False)
    for rows in (T[:1], T):
        np.testing.assert_array_equal(outputs(compiled, rows, task), outputs(model, rows, task))
        np.testing.assert_array_equal(compiled.predict(rows), model.predict(rows))
    plain = LinearRegression().fit(X, labels(X, "regression"))
    np.testing.assert_array_equal(compile_estimator(plain).predict(T), plain.predict(T))
    assert compiled.coef_ is model.coef_  # the rest is the model's


@pytest.mark.parametrize("jit", [False, True], ids=["numpy", "numba"])
@pytest.mark.parametrize("task", TASKS)
def test_random_forests_give_their_own_outputs(task: str, jit: bool) -> None:
    X = data(600, 0)
    model = fit_zoo("random_forest", task, X, n_estimators=20)
    model.set_params(n_jobs=1)  # scikit-learn adds the trees in order with one job
    compiled = compile_estimator(model)
    assert isinstance(compiled, CompiledForest)
    T = new_rows(2, huge=False)  # (scikit-learn refuses values beyond float32)
    expected = outputs(model, T, task) * len(model.estimators_)
    summed = compiled.summed(T, jit=jit)[:, 0 if task == "regression" else slice(None)]
    np.testing.assert_allclose(summed, expected, rtol=1e-12)
    np.testing.assert_array_equal(outputs(compiled, T, task), outputs(model, T, task))
    np.testing.assert_array_equal(compiled.predict(T), model.predict(T))


def test_inputs_a_forest_refuses_go_to_the_forest() -> None:
    X = data(300, 0, missing=0.0)
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, labels(X, "binary"))
    compiled = compile_estimator(model)
    for value in (np.inf, 1e300):  # 1e300: infinite once read as float32
        with pytest.raises(ValueError, match="infinity"), np.errstate(over="ignore"):
            compiled.predict_proba(np.full((1, 6), value))
    regressor = RandomForestRegressor(n_estimators=3).fit(X, labels(X, "regression"))
    with pytest.raises(ValueError, match="infinity"):
        compile_estimator(regressor).predict(np.full((1, 6), -np.inf))


@pytest.mark.parametrize("jit", [False, True], ids=["numpy", "numba"])
@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("params", [{}, {"zero_as_missing": True}, {"use_missing": False}])
def test_lightgbm_gives_its_own_outputs(task: str, jit: bool, params: dict) -> None:
    X = data(800, 0)
    X[::7, 2] = 0.0  # zeros to split on
    model = fit_zoo("lightgbm", task, X, n_estimators=40, **params)
    compiled = compile_estimator(model)
    assert isinstance(compiled, CompiledBooster)
    T = new_rows(3)
    raw = model.predict(T, raw_score=True).reshape(len(T), -1)
    np.testing.assert_array_equal(compiled.raw_predict(T, jit=jit), raw)
    # the sums are identical; LightGBM's C++ exp may differ from NumPy's in the last bit
    np.testing.assert_allclose(outputs(compiled, T, task), outputs(model, T, task), atol=1e-15)
    np.testing.assert_array_equal(compiled.predict(T), model.predict(T))


@pytest.mark.parametrize("jit", [False, True], ids=["numpy", "numba"])
@pytest.mark.parametrize("task", TASKS)
def test_xgboost_gives_its_own_outputs(task: str, jit: bool) -> None:
    X = data(800, 0)
    model = fit_zoo("xgboost", task, X, n_estimators=40)
    compiled = compile_estimator(model)
    assert isinstance(compiled, CompiledEncoded if task != "regression" else CompiledBooster)
    booster = compiled.inner if task != "regression" else compiled
    T = new_rows(4)
    xgb = model if task == "regression" else model.estimator_
    margin = xgb.get_booster().inplace_predict(T, predict_type="margin")
    np.testing.assert_array_equal(booster.raw_predict(T, jit=jit).reshape(margin.shape), margin)
    got, expected = outputs(compiled, T, task), outputs(model, T, task)
    assert got.dtype == expected.dtype == np.float32
    # identical margins; XGBoost's float32 exp is a few float32 steps off for small p
    np.testing.assert_allclose(got, expected, atol=6e-8, rtol=0)
    np.testing.assert_array_equal(compiled.predict(T), model.predict(T))


def test_boosters_stop_at_their_best_iteration() -> None:
    X = data(1000, 0)
    y = labels(X, "binary")
    for kind in ("lightgbm", "xgboost"):
        zoo = MODEL_KINDS[kind]
        request = BuildRequest("classification", zoo.defaults("classification"))
        model = zoo.build(BuildRequest(**{**request.__dict__, "early_stopping": True}))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X[:800], y[:800], eval_set=[(X[800:], y[800:])])
        T = new_rows(5)
        compiled = compile_estimator(model)
        assert compiled is not model
        np.testing.assert_allclose(compiled.predict_proba(T), model.predict_proba(T), atol=6e-8)


def test_what_the_tables_cannot_hold_is_left_to_the_library() -> None:
    X = data(400, 0)
    y = labels(X, "binary")
    codes = np.c_[np.random.default_rng(0).integers(0, 5, 400), X[:, :2]]
    categorical = lightgbm.LGBMClassifier(n_estimators=5, verbosity=-1)
    categorical.fit(codes, codes[:, 0] > 2, categorical_feature=[0])
    assert compile_booster(categorical) is categorical
    dart = xgboost.XGBClassifier(n_estimators=3, booster="dart").fit(X, y == "yes")
    assert compile_booster(dart) is dart
    poisson = lightgbm.LGBMRegressor(n_estimators=3, objective="poisson", verbosity=-1)
    poisson.fit(X, np.abs(np.nan_to_num(X[:, 0])))
    assert compile_booster(poisson) is poisson
    assert compile_estimator("not a model") == "not a model"


def test_every_zoo_kind_is_compiled() -> None:
    X = data(300, 0)
    kinds = {"linear": CompiledLinear, "random_forest": CompiledForest,
             "hist_gradient_boosting": CompiledHGB, "lightgbm": CompiledBooster,
             "xgboost": CompiledEncoded}  # fmt: skip
    for kind, compiled in kinds.items():
        rows = np.nan_to_num(X) if kind == "linear" else X
        assert isinstance(compile_estimator(fit_zoo(kind, "binary", rows)), compiled), kind
    ridge = Ridge().fit(np.nan_to_num(X), labels(X, "regression"))
    assert isinstance(compile_estimator(ridge), CompiledLinear)
    assert isinstance(compile_estimator(LogisticRegression()), LogisticRegression)  # unfitted
