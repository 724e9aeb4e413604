"""The model zoo: every built-in kind, default spaces, user estimators by import path."""

from __future__ import annotations

import shutil

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from tests.train.custom_models import CentroidClassifier
from tests.train.frames import bank_sample, bike_sample, feature_signature, transform_factory
from threadpoolctl import threadpool_limits

from loopml.errors import SpecError, StageError
from loopml.spec.models import BUILTIN_KINDS, CustomModel, ModelsSpec
from loopml.train.search import fit_default
from loopml.train.zoo import (
    MODEL_KINDS,
    EncodedClassifier,
    check_device,
    check_params,
    default_params,
    fit_model,
    fitted_rounds,
    import_estimator,
    make_model,
    resolve_model,
    search_space,
)

CUSTOM = "tests.train.custom_models:CentroidClassifier"


@pytest.fixture(scope="module")
def bank() -> tuple[pd.DataFrame, object]:
    return bank_sample(1500)


@pytest.fixture(scope="module")
def bike() -> tuple[pd.DataFrame, object]:
    return bike_sample(1500)


@pytest.mark.parametrize("kind", BUILTIN_KINDS)
def test_each_kind_fits_and_predicts_classification(kind: str, bank: tuple) -> None:
    frame, spec = bank
    bundle = fit_default(
        kind,
        frame,
        spec,
        transform_factory(frame, spec),
        feature_signature(frame, spec),
        n_threads=1,
    )
    assert bundle.model_kind == kind and bundle.classes == [0, 1] and bundle.positive_class == 1
    assert "duration" not in bundle.feature_names
    prediction = bundle.predict(frame.head(20))
    assert prediction.probabilities is not None and prediction.probabilities.shape == (20,)
    assert ((prediction.probabilities >= 0) & (prediction.probabilities <= 1)).all()
    assert set(prediction.predictions) <= {0, 1}
    assert bundle.info["train_rows"] == len(frame)
    if kind in ("hist_gradient_boosting", "lightgbm", "xgboost"):  # stopped early
        assert 1 <= bundle.info["n_iter"] < 500


@pytest.mark.parametrize("kind", BUILTIN_KINDS)
def test_each_kind_fits_and_predicts_regression(kind: str, bike: tuple) -> None:
    frame, spec = bike
    bundle = fit_default(
        kind,
        frame,
        spec,
        transform_factory(frame, spec),
        feature_signature(frame, spec),
        n_threads=1,
    )
    assert bundle.task == "regression" and bundle.classes is None
    prediction = bundle.predict(frame.tail(30))
    assert prediction.predictions.shape == (30,) and np.isfinite(prediction.predictions).all()
    error = np.abs(prediction.predictions - frame.tail(30)["cnt"].to_numpy())
    assert error.mean() < frame["cnt"].std() * 2


def test_make_model_sets_threads_seed_weights_and_device() -> None:
    forest = make_model(
        "random_forest", "regression", {"max_depth": 3}, n_threads=1, random_state=7
    )
    assert isinstance(forest, RandomForestRegressor)
    assert (forest.n_jobs, forest.random_state, forest.max_depth) == (1, 7, 3)
    logistic = make_model("linear", "classification", {"C": 0.5}, imbalance="balanced")
    assert isinstance(logistic, LogisticRegression)
    assert logistic.class_weight == "balanced" and logistic.C == 0.5
    assert isinstance(make_model("linear", "regression", imbalance="balanced"), Ridge)
    hgb = make_model("hist_gradient_boosting", "classification", early_stopping=True)
    assert isinstance(hgb, HistGradientBoostingClassifier) and hgb.early_stopping is True
    lgbm = make_model("lightgbm", "classification", n_threads=1, device="cuda")
    assert lgbm.n_jobs == 1 and lgbm.get_params()["device_type"] == "cuda"
    xgb = make_model("xgboost", "classification", early_stopping=True, imbalance="balanced")
    assert isinstance(xgb, EncodedClassifier) and xgb.balanced
    assert xgb.estimator.get_params()["early_stopping_rounds"] > 0
    forest_cuda = make_model("random_forest", "classification", device="cuda")
    assert not hasattr(forest_cuda, "device")  # the device applies to XGBoost and LightGBM
    with pytest.raises(SpecError, match="unknown model 'svm'"):
        make_model("svm", "classification")
    with pytest.raises(SpecError, match="unknown task"):
        make_model("linear", "ranking")


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("kind", BUILTIN_KINDS)
def test_default_spaces_sample_valid_params(kind: str, task: str) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] + rng.normal(0, 0.5, 120) > 0).astype(int) if task == "classification" else X[:, 0]
    models = ModelsSpec(early_stopping=False)
    space = search_space(kind, task, models)
    assert space and set(default_params(kind, task, models)) == set(space)
    for name, value in default_params(kind, task, models).items():
        assert space[name].contains(value), (kind, name, value)
    sampler = optuna.samplers.RandomSampler(seed=1)
    distributions = {
        name: (
            optuna.distributions.CategoricalDistribution(s.choices)
            if s.kind == "categorical"
            else optuna.distributions.IntDistribution(int(s.low), int(s.high), log=s.log)
            if s.kind == "int"
            else optuna.distributions.FloatDistribution(s.low, s.high, log=s.log)
        )
        for name, s in space.items()
    }
    study = optuna.create_study(sampler=sampler)
    for _ in range(3):  # one thread: OpenMP on a busy shared core crawls
        trial = study.ask(distributions)
        params = dict(trial.params)
        model = make_model(kind, task, params, n_threads=1)
        with threadpool_limits(limits=1):
            fit_model(kind, model, X, y)
        assert np.isfinite(model.predict(X[:5]).astype(float)).all()
        study.tell(trial, 0.0)


def test_spaces_in_the_spec_replace_and_add_parameters() -> None:
    models = ModelsSpec(
        spaces={"lightgbm": {"num_leaves": {"low": 4, "high": 8}, "max_bin": {"choices": [63]}}}
    )
    space = search_space("lightgbm", "classification", models)
    assert (space["num_leaves"].low, space["num_leaves"].high) == (4, 8)
    assert space["max_bin"].choices == [63] and "learning_rate" in space
    assert "n_estimators" not in space  # early stopping decides the rounds
    assert "n_estimators" in search_space(
        "lightgbm", "regression", ModelsSpec(early_stopping=False)
    )


def test_custom_estimator_by_import_path() -> None:
    for path in (CUSTOM, "tests.train.custom_models.CentroidClassifier"):
        assert import_estimator(path) is CentroidClassifier
    custom = CustomModel(name="centroid", estimator=CUSTOM, params={"shrink": 0.5})
    model = make_model(custom, "classification", {"shrink": 0.25}, n_threads=1)
    assert isinstance(model, CentroidClassifier)
    assert model.shrink == 0.25 and model.n_jobs == 1  # n_jobs set: the estimator takes it
    X = np.array([[0.0], [0.1], [1.0], [1.1]])
    fit_model(custom, model, X, np.array(["a", "a", "b", "b"]))
    assert list(model.predict(np.array([[0.05], [1.05]]))) == ["a", "b"]
    models = ModelsSpec(candidates=["centroid", "linear"], custom=[custom])
    assert resolve_model("centroid", models) == custom
    assert resolve_model("linear", models) == "linear"
    with pytest.raises(SpecError, match="unknown model 'nope'"):
        resolve_model("nope", models)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("no_such_package.models:Thing", "cannot import 'no_such_package.models'"),
        ("tests.train.custom_models:Missing", "has no 'Missing'"),
        ("tests.train.custom_models:NotAnEstimator", "not a scikit-learn compatible"),
    ],
)
def test_a_bad_import_path_is_a_spec_error(path: str, message: str) -> None:
    with pytest.raises(SpecError, match=message) as caught:
        make_model(CustomModel(name="bad", estimator=path), "classification")
    assert path in str(caught.value)


def test_a_classifier_without_probabilities_is_refused() -> None:
    custom = CustomModel(name="svm", estimator="sklearn.svm:SVC")
    with pytest.raises(SpecError, match="no predict_proba"):
        make_model(custom, "classification")
    assert make_model(custom, "classification", {"probability": True}).probability


def test_unknown_parameter_names_fail_before_any_trial() -> None:
    with pytest.raises(SpecError, match="has no parameter 'max_dept'"):
        check_params("random_forest", "classification", ["max_dept"])
    check_params("lightgbm", "classification", ["extra_trees"])  # passed on to LightGBM
    custom = CustomModel(name="c", estimator=CUSTOM)
    with pytest.raises(SpecError, match=r"models.custom.c.space: .* 'alpha'"):
        check_params(custom, "classification", ["alpha"])


def test_xgboost_takes_any_labels_and_balances_classes() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = np.where(X[:, 0] > 1.0, "yes", "no").astype(object)  # about 16 % yes
    model = make_model("xgboost", "classification", imbalance="balanced", early_stopping=True)
    fit_model("xgboost", model, X[:300], y[:300], eval_set=(X[300:], y[300:]))
    assert list(model.classes_) == ["no", "yes"]
    assert model.estimator_.get_params()["scale_pos_weight"] > 3
    assert set(model.predict(X[:50])) <= {"no", "yes"}
    assert 1 <= (fitted_rounds(model) or 0) < 1000
    three = np.array(["a", "b", "c"], dtype=object)[rng.integers(0, 3, 300)]
    multi = fit_model(
        "xgboost", make_model("xgboost", "classification", imbalance="balanced"), X[:300], three
    )
    assert multi.predict_proba(X[:5]).shape == (5, 3)


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="a GPU may be visible")
def test_cuda_without_a_gpu_is_a_clear_stage_error() -> None:
    check_device(ModelsSpec(device="cpu"), "classification")  # nothing to check
    with pytest.raises(StageError, match="no GPU is visible to XGBoost"):
        check_device(ModelsSpec(candidates=["xgboost"], device="cuda"), "classification")
    with pytest.raises(StageError, match="LightGBM cannot train on a GPU"):
        check_device(ModelsSpec(candidates=["lightgbm"], device="cuda"), "regression")
    check_device(ModelsSpec(candidates=["linear"], device="cuda"), "classification")


def test_registry_covers_the_builtin_kinds() -> None:
    assert tuple(MODEL_KINDS) == BUILTIN_KINDS
    assert {k for k, v in MODEL_KINDS.items() if v.gpu} == {"lightgbm", "xgboost"}
    assert MODEL_KINDS["hist_gradient_boosting"].early_stopping == "internal"
