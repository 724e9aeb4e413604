"""The imputer and scaler folded into the tree cuts give the model's own predictions."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import lightgbm
import numpy as np
import pandas as pd
import pytest
import xgboost
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, RobustScaler, StandardScaler
from tests.train.frames import bank_sample, bike_sample, feature_signature, transform_factory

from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.features.transform import to_float
from loopml.model.bundle import ModelBundle
from loopml.model.checks import InputChecker
from loopml.model.estimators import EncodedClassifier
from loopml.serve.arrays import compile_bundle
from loopml.serve.batch import _column
from loopml.serve.folding import raw_cuts
from loopml.serve.trees import Tree, build_tables

COLUMNS = ["a", "b", "c"]
SIGNATURE = Schema(
    tuple(ColumnSchema(c, ColumnKind.NUMERIC, "float64", nullable=True) for c in COLUMNS)
)


def make_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({c: rng.normal(3.0 * i, 1.0 + i, n) for i, c in enumerate(COLUMNS)})
    for c in COLUMNS:
        frame.loc[rng.random(n) < 0.1, c] = np.nan
    return frame


def bundle_of(estimator, task: str, scaler=StandardScaler) -> ModelBundle:
    numeric = Pipeline([
        ("to_float", FunctionTransformer(to_float, feature_names_out="one-to-one")),
        ("impute", SimpleImputer(strategy="median")),
        ("scale", scaler()),
    ])  # fmt: skip
    transform = ColumnTransformer([("numeric", numeric, COLUMNS)], sparse_threshold=0.0)
    pipeline = Pipeline([("transform", transform), ("model", estimator)])
    frame = make_frame(400, 0)
    score = frame["a"].fillna(0) + 0.5 * frame["b"].fillna(2) - 0.3 * frame["c"].fillna(-1)
    y = score.to_numpy() if task == "regression" else np.where(score > 1.5, "yes", "no")
    pipeline.fit(frame, y)
    classes = None if task == "regression" else list(pipeline.classes_)
    return ModelBundle(pipeline=pipeline, signature=SIGNATURE, task=task, target="y",
                       model_kind="test", classes=classes,
                       positive_class=None if classes is None else "yes")  # fmt: skip


def at_the_cuts(model, rows: int) -> pd.DataFrame:
    """Rows whose values lie exactly at, just below and just above the folded cuts, and
    missing."""
    tables = model.folded.tables
    frame = make_frame(rows, 5)
    rng = np.random.default_rng(6)
    for j, feature in enumerate(tables.features):
        cuts = tables.cuts[tables.cut_start[j] : tables.cut_start[j + 1]]
        near = np.concatenate([cuts, np.nextafter(cuts, -np.inf), np.nextafter(cuts, np.inf)])
        values = rng.choice(near, rows)
        values[rng.random(rows) < 0.1] = np.nan
        frame[model.folded.columns[feature]] = values
    return frame


ESTIMATORS = {
    "lightgbm": (lambda: lightgbm.LGBMClassifier(n_estimators=8, verbose=-1), "classification"),
    "lightgbm_regression": (
        lambda: lightgbm.LGBMRegressor(n_estimators=8, verbose=-1), "regression"),
    "xgboost": (lambda: xgboost.XGBRegressor(n_estimators=8, max_depth=4), "regression"),
    "xgboost_classifier": (
        lambda: EncodedClassifier(xgboost.XGBClassifier(n_estimators=8, max_depth=4)),
        "classification",
    ),
    "hgb": (lambda: HistGradientBoostingClassifier(max_iter=8, random_state=0), "classification"),
    "hgb_regression": (
        lambda: HistGradientBoostingRegressor(max_iter=8, random_state=0), "regression"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_the_folded_model_predicts_what_the_bundle_does(name: str) -> None:
    make, task = ESTIMATORS[name]
    bundle = bundle_of(make(), task, RobustScaler if name == "hgb" else StandardScaler)
    model = compile_bundle(bundle)
    assert model.folded is not None
    frame = at_the_cuts(model, 600)
    columns = {c: frame[c].to_numpy(dtype=np.float64) for c in COLUMNS}
    folded = model.predict_columns(columns)
    expected = bundle.predict(frame)
    folding, model.folded = model.folded, None
    unfolded = model.predict_columns(columns)  # the transform, then the same kernel
    model.folded = folding
    assert list(folded.predictions) == list(unfolded.predictions)
    if task == "regression":
        np.testing.assert_array_equal(folded.predictions, unfolded.predictions)
        np.testing.assert_allclose(folded.predictions.astype(float),
                                   expected.predictions.astype(float), rtol=1e-6)  # fmt: skip
    else:
        assert list(folded.predictions) == list(expected.predictions)
        np.testing.assert_array_equal(folded.probabilities, unfolded.probabilities)
        atol = 1e-7 if name.startswith("xgboost") else 1e-12  # XGBoost: float32 (boosters)
        np.testing.assert_allclose(folded.probabilities, expected.probabilities, atol=atol)


def test_a_raw_cut_is_the_last_raw_value_the_scaled_split_sends_left() -> None:
    mean, scale = 3.3, 0.7

    def scaled(x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - mean) / scale

    thresholds = np.array([-1.234, 0.0, 0.5, 2.75, 1e300])
    cuts = raw_cuts(scaled, thresholds)
    assert cuts is not None
    assert np.all(scaled(cuts) <= thresholds)
    assert np.all(scaled(np.nextafter(cuts, np.inf)) > thresholds)
    assert raw_cuts(scaled, np.array([np.inf]))[0] == np.inf


def test_a_transform_it_does_not_fold_is_kept() -> None:
    model = lightgbm.LGBMClassifier(n_estimators=4, verbose=-1)
    bundle = bundle_of(model, "classification", MinMaxScaler)
    compiled = compile_bundle(bundle)
    assert compiled.folded is None
    frame = make_frame(50, 3)
    got = compiled.predict_columns({c: frame[c].to_numpy() for c in COLUMNS})
    np.testing.assert_allclose(got.probabilities, bundle.predict(frame).probabilities, atol=1e-12)


# --- the bundled data sets: loopml's own transform (numbers folded, categories kept) ----


def _telco(rows: int):
    from loopml.data.infer import infer_spec
    from loopml.data.ingest import clean_column_names, read_source

    path = Path(str(resources.files("loopml.resources") / "telco_churn.csv"))
    frame = clean_column_names(read_source(path))[0].head(rows).reset_index(drop=True)
    target = next(c for c in frame.columns if c.lower() == "churned")
    spec = infer_spec(frame, target=target, source_path="t.csv", column_map={}, name="t")
    return frame, spec


def _lgbm_classifier():
    return lightgbm.LGBMClassifier(n_estimators=10, verbose=-1)


DATA_SETS = {
    "bank_lightgbm": (lambda: bank_sample(1200), _lgbm_classifier),
    "bank_hgb": (
        lambda: bank_sample(1200),
        lambda: HistGradientBoostingClassifier(max_iter=10, random_state=0),
    ),
    "bike_lightgbm": (
        lambda: bike_sample(1200),
        lambda: lightgbm.LGBMRegressor(n_estimators=10, verbose=-1),
    ),
    "bike_xgboost": (
        lambda: bike_sample(1200),
        lambda: xgboost.XGBRegressor(n_estimators=10, max_depth=4),
    ),
    "bike_hgb": (
        lambda: bike_sample(1200),
        lambda: HistGradientBoostingRegressor(max_iter=10, random_state=0),
    ),
    "telco_lightgbm": (lambda: _telco(1200), _lgbm_classifier),
}


@pytest.mark.parametrize("name", list(DATA_SETS))
def test_folding_on_the_bundled_data_keeps_the_bundles_predictions(name: str) -> None:
    sample, make = DATA_SETS[name]
    frame, spec = sample()
    train, rows = frame.iloc[:900], frame.iloc[900:].reset_index(drop=True)
    signature = feature_signature(train, spec)
    features = list(spec.feature_columns)
    pipeline = Pipeline([("transform", transform_factory(train, spec)()), ("model", make())])
    pipeline.fit(train[features], train[spec.problem.target])
    task = spec.problem.task
    classes = None if task == "regression" else list(pipeline.classes_)
    bundle = ModelBundle(pipeline=pipeline, signature=signature, task=task, target="y",
                         model_kind="test", classes=classes,
                         positive_class=None if classes is None else classes[-1])  # fmt: skip
    model = compile_bundle(bundle)
    assert model.folded is not None
    assert any(part.run is None for part in model.folded.parts)  # the numbers are folded
    checked, _ = InputChecker(signature).check_frame(rows[features], bundle.cleaner)
    columns = {c.name: _column(checked[c.name], c.kind) for c in signature.columns}
    assert model.folded.accepts(columns)
    got = model.predict_columns(columns)
    expected = bundle.predict(checked)
    if task == "regression":
        np.testing.assert_allclose(got.predictions.astype(float),
                                   expected.predictions.astype(float), rtol=1e-6)  # fmt: skip
    else:
        assert list(got.predictions) == list(expected.predictions)
        np.testing.assert_allclose(got.probabilities, expected.probabilities, atol=1e-12)


# --- the kernel's grid search: the same bins as a binary search ----------------------

ODD_CUTS = np.array([-np.inf, -1e308, -1.0, -5e-324, 0.0, 1e-300, 0.5, 0.5000000000000001,
                     2.0, 1e308, np.inf])  # fmt: skip


def random_tree(rng: np.random.Generator, thresholds: np.ndarray, depth: int) -> Tree:
    """A full tree of ``depth`` on two features, its thresholds drawn from ``thresholds``."""
    inner = 2**depth - 1
    nodes = 2 * inner + 1
    index = np.arange(nodes)
    return Tree(
        left=np.where(index < inner, 2 * index + 1, -1),
        right=np.where(index < inner, 2 * index + 2, -1),
        feature=rng.integers(0, 2, nodes),
        threshold=rng.choice(thresholds, nodes),
        nan_left=rng.random(nodes) < 0.5,
        value=rng.normal(size=nodes),
    )


def test_the_grid_kernel_finds_every_bin_a_binary_search_finds() -> None:
    rng = np.random.default_rng(0)
    spread = rng.normal(0, 3, 40)  # many cuts on feature 1, few odd ones on feature 0
    forest = [random_tree(rng, ODD_CUTS, 3) for _ in range(4)]
    forest += [random_tree(rng, spread, 4) for _ in range(4)]
    tables = build_tables(forest, np.zeros(1), 1)
    assert tables is not None
    near = np.concatenate([ODD_CUTS, spread])
    near = np.concatenate([near, np.nextafter(near, -np.inf), np.nextafter(near, np.inf),
                           [np.nan, 7.5, -7.5]])  # fmt: skip
    X = rng.choice(near, (3000, 2))
    np.testing.assert_array_equal(tables.raw_predict(X, jit=True), tables.raw_predict(X, jit=False))
