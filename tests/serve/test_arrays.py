"""The array path gives the very numbers the scikit-learn DataFrame path gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline

from loopml.data.clean import CleaningLog, apply_cleaning_log, cleaner_for
from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.features.compile import compile_transform
from loopml.model.bundle import ModelBundle, with_cleaner
from loopml.serve.arrays import compile_bundle
from loopml.spec.features import FeaturesSpec

SIGNATURE = Schema(
    (
        ColumnSchema("age", ColumnKind.NUMERIC, "float64", nullable=True),
        ColumnSchema("balance", ColumnKind.NUMERIC, "float64", nullable=True),
        ColumnSchema("job", ColumnKind.CATEGORICAL, "str", nullable=True),
        ColumnSchema("city", ColumnKind.CATEGORICAL, "str", nullable=True),
        ColumnSchema("member", ColumnKind.BOOLEAN, "bool", nullable=True),
    )
)
CLEANING = CleaningLog(
    actions=(
        {"action": "coerce", "column": "age", "to": "numeric", "rows": 0, "invalid": 0},
        {"action": "fill_missing", "column": "age", "policy": "median", "value": 40.0},
        {"action": "clip_outliers", "column": "balance", "low": -500.0, "high": 3000.0},
        {"action": "fill_missing", "column": "city", "policy": "constant", "value": "Lyon"},
    ),
    rows_in=1,
    rows_out=1,
    columns_in=5,
    columns_out=5,
)


def make_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 90, n)
    age[rng.random(n) < 0.1] = np.nan
    balance = rng.normal(1000, 1500, n)
    balance[rng.random(n) < 0.1] = np.nan
    jobs = np.array(["admin", "blue-collar", "student", "retired", "rare-job"], dtype=object)
    job = jobs[rng.choice(5, n, p=[0.4, 0.3, 0.2, 0.095, 0.005])]
    job[rng.random(n) < 0.05] = np.nan
    city = np.array(["Paris", "Lyon", 7, 7.0, None], dtype=object)[rng.choice(5, n)]
    member = np.array([True, False, None], dtype=object)[rng.choice(3, n)]
    return pd.DataFrame(
        {"age": age, "balance": balance, "job": job, "city": city, "member": member}
    )


def target(frame: pd.DataFrame, task: str, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    score = frame["age"].fillna(40).to_numpy() / 30 + (frame["job"] == "student") * 1.0
    score = score + rng.normal(0, 0.3, len(frame))
    if task == "regression":
        return score
    if task == "multiclass":
        return np.digitize(score, [1.5, 2.5]).astype(str)
    return np.where(score > 2, "yes", "no")


def fitted(features: dict, task: str, estimator, *, prepare=True) -> ModelBundle:
    frame = make_frame(600, 0)
    spec = FeaturesSpec.model_validate(features)
    kind = "regression" if task == "regression" else "classification"
    transform = compile_transform(SIGNATURE, spec, kind, random_state=0)
    pipeline = Pipeline([("transform", transform), ("model", estimator)])
    y = target(frame, task)
    cleaned = apply_cleaning_log(frame, CLEANING) if prepare else frame
    pipeline.fit(cleaned, y)
    if prepare:
        cleaner = cleaner_for(CLEANING, columns=SIGNATURE.names()).fit(frame)
        pipeline = with_cleaner(pipeline, cleaner)
    classes = None if kind == "regression" else list(pipeline.classes_)
    return ModelBundle(
        pipeline=pipeline,
        signature=SIGNATURE,
        task=kind,
        target="y",
        model_kind="test",
        classes=classes,
        positive_class=None if classes is None else classes[-1],
    )


def served_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """What the server's validator builds: float64 numbers, objects with NaN elsewhere."""
    out = {}
    for col in SIGNATURE.columns:
        values = frame[col.name].to_numpy(dtype=object)
        if col.kind is ColumnKind.NUMERIC:
            out[col.name] = values.astype(np.float64)
        else:
            array = np.empty(len(values), dtype=object)
            array[:] = [np.nan if v is None or v != v else v for v in values]
            out[col.name] = array
    return out


CASES = {
    "defaults": ({}, "binary", HistGradientBoostingClassifier(max_iter=10, random_state=0)),
    "ordinal_robust": (
        {"numeric": {"impute": "mean", "scale": "robust"}, "categorical": {"encoding": "ordinal"}},
        "binary",
        LogisticRegression(max_iter=200),
    ),
    "target_minmax_most_frequent": (
        {
            "numeric": {"impute": "constant", "scale": "minmax"},
            "categorical": {"encoding": "target", "impute": "most_frequent"},
        },
        "regression",
        LinearRegression(),
    ),
    "target_multiclass_rare": (
        {"categorical": {"encoding": "target", "rare_min_frequency": 0.05}},
        "multiclass",
        LogisticRegression(max_iter=200),
    ),
    "onehot_max_categories_no_scale": (
        {"numeric": {"scale": "none"}, "categorical": {"max_categories": 2}},
        "multiclass",
        HistGradientBoostingClassifier(max_iter=10, random_state=0),
    ),
    "binned_and_selected": (
        {"bins": {"age": {"bins": 4}}, "selection": {"method": "correlation", "threshold": 0.05}},
        "regression",
        LinearRegression(),
    ),
    "derived_falls_back": (
        {"derived": [{"name": "ratio", "expr": "balance / (age + 1)"}]},
        "binary",
        LogisticRegression(max_iter=200),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("rows", [1, 7, 300])
def test_array_path_matches_the_sklearn_path(case: str, rows: int) -> None:
    features, task, estimator = CASES[case]
    bundle = fitted(features, task, estimator)
    model = compile_bundle(bundle)
    frame = make_frame(rows, seed=rows + 11)  # unseen rows: nulls, unknown and rare values
    frame.loc[frame.index[0], "job"] = "never-seen"
    expected = bundle.predict(frame)
    got = model.predict_columns(served_columns(frame))
    assert list(got.predictions) == list(expected.predictions)
    if expected.probabilities is None:
        assert got.probabilities is None
    else:
        np.testing.assert_allclose(got.probabilities, expected.probabilities, rtol=0, atol=1e-12)


def test_known_steps_run_on_arrays_and_unknown_ones_are_named() -> None:
    features, task, estimator = CASES["binned_and_selected"]
    model = compile_bundle(fitted(features, task, estimator))
    assert not model.whole_frame
    assert any(name.startswith("columns.binned") for name in model.fallbacks)
    assert "select" in model.fallbacks
    assert not any(name.startswith("columns.numeric") for name in model.fallbacks)
    assert not any(name.startswith("columns.categorical") for name in model.fallbacks)
    derived = compile_bundle(fitted(*CASES["derived_falls_back"]))
    assert derived.whole_frame and derived.fallbacks == ["derive"]


def test_the_cleaning_step_is_compiled_and_reads_text_as_training_did() -> None:
    features, task, estimator = CASES["defaults"]
    bundle = fitted(features, task, estimator)
    model = compile_bundle(bundle)
    assert not model.fallbacks
    frame = make_frame(40, seed=5)
    columns = served_columns(frame)
    columns["age"] = np.array([f"{v:.3f}" if v == v else "" for v in frame["age"]], dtype=object)
    got = model.predict_columns(columns)
    np.testing.assert_allclose(got.probabilities, bundle.predict(frame).probabilities, atol=1e-9)


def test_the_array_path_applies_the_chosen_threshold() -> None:
    bundle = fitted({}, "binary", LogisticRegression(max_iter=200))
    frame = make_frame(300, 5)
    at_half = compile_bundle(bundle).predict_columns(served_columns(frame))
    bundle.info["threshold"] = 0.9
    strict = compile_bundle(bundle).predict_columns(served_columns(frame))
    expected = bundle.predict(frame)
    assert list(strict.predictions) == list(expected.predictions)
    np.testing.assert_allclose(strict.probabilities, at_half.probabilities)
    positives = (strict.predictions == "yes").sum()
    assert positives == (strict.probabilities >= 0.9).sum() < (at_half.predictions == "yes").sum()


def test_the_array_path_applies_the_calibration() -> None:
    from loopml.evaluate.calibration import fit_calibration

    bundle = fitted({}, "binary", HistGradientBoostingClassifier(max_iter=10, random_state=0))
    frame = make_frame(300, 6)
    raw = compile_bundle(bundle).predict_columns(served_columns(frame)).probabilities
    truth = (target(make_frame(600, 0), "binary") == "yes").astype(int)
    scores = bundle.predict(make_frame(600, 0)).probabilities
    bundle.info.update(calibration=fit_calibration(truth, scores, "platt"), threshold=0.4)
    got = compile_bundle(bundle).predict_columns(served_columns(frame))
    expected = bundle.predict(frame)
    assert list(got.predictions) == list(expected.predictions)
    np.testing.assert_allclose(got.probabilities, expected.probabilities, rtol=0, atol=1e-12)
    assert np.abs(got.probabilities - raw).max() > 1e-3  # calibrated: not the raw scores
