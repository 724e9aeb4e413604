"""Fitting candidate models into bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge

from loopml.data.infer import infer_spec
from loopml.data.ingest import clean_column_names, read_source
from loopml.domain import ColumnKind
from loopml.errors import DataError, SpecError
from loopml.model.bundle import ModelBundle
from loopml.model.labels import match_label
from loopml.spec import ProjectSpec
from loopml.train.train import fit_bundle, infer_signature, make_estimator


def make_spec(frame: pd.DataFrame, target: str, **changes: Any) -> ProjectSpec:
    """The inferred spec of ``frame``, with sections changed (and validated again)."""
    spec = infer_spec(frame, target=target, source_path="data.csv", column_map={}, name="t")
    data = spec.model_dump()
    for section, values in changes.items():
        data[section].update(values)
    return ProjectSpec.model_validate(data)


@pytest.fixture(scope="module")
def bank(bank_csv: Path) -> tuple[pd.DataFrame, ProjectSpec]:
    frame = clean_column_names(read_source(bank_csv))[0]
    sample = frame.sample(6000, random_state=0)
    return sample, make_spec(sample, "subscribed", features={"exclude": ["duration"]})


@pytest.fixture
def labelled() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    return pd.DataFrame(
        {
            "x": x,
            "colour": pd.Series(rng.choice(["red", "blue"], 200), dtype="str"),
            "y": pd.Series(np.where(x + rng.normal(0, 0.5, 200) > 0, "yes", "no"), dtype="str"),
        }
    )


def test_make_estimator() -> None:
    assert isinstance(make_estimator("linear", "classification"), LogisticRegression)
    assert isinstance(make_estimator("linear", "regression"), Ridge)
    hgb = make_estimator("hist_gradient_boosting", "classification", random_state=3)
    assert isinstance(hgb, HistGradientBoostingClassifier)
    assert hgb.random_state == 3 and hgb.early_stopping is True
    regressor = make_estimator("hist_gradient_boosting", "regression")
    assert isinstance(regressor, HistGradientBoostingRegressor)
    with pytest.raises(SpecError, match="unknown model 'xgboost'"):
        make_estimator("xgboost", "classification")
    with pytest.raises(SpecError, match="unknown task"):
        make_estimator("linear", "ranking")


def test_fit_linear_on_bank(bank: tuple[pd.DataFrame, ProjectSpec]) -> None:
    frame, spec = bank
    bundle = fit_bundle("linear", frame, spec, infer_signature(frame, spec))
    assert bundle.task == "classification" and bundle.model_kind == "linear"
    assert bundle.classes == [0, 1] and type(bundle.classes[0]) is int
    assert bundle.positive_class == 1
    assert bundle.feature_names == spec.feature_columns
    assert "duration" not in bundle.feature_names and "subscribed" not in bundle.feature_names
    assert bundle.info["train_rows"] == len(frame)
    prediction = bundle.predict(frame.head(50))
    assert prediction.probabilities is not None
    assert ((prediction.probabilities >= 0) & (prediction.probabilities <= 1)).all()
    assert set(prediction.predictions) <= {0, 1}


def test_bundle_round_trips_through_bytes(bank: tuple[pd.DataFrame, ProjectSpec]) -> None:
    frame, spec = bank
    bundle = fit_bundle("hist_gradient_boosting", frame, spec, infer_signature(frame, spec))
    assert bundle.info["n_iter"] >= 1
    again = ModelBundle.from_bytes(bundle.to_bytes())
    rows = frame.tail(300)
    before, after = bundle.predict(rows), again.predict(rows)
    np.testing.assert_array_equal(before.probabilities, after.probabilities)
    np.testing.assert_array_equal(before.predictions, after.predictions)
    assert again.signature == bundle.signature and again.positive_class == 1


def test_string_labels_and_positive_class_by_text(labelled: pd.DataFrame) -> None:
    spec = make_spec(labelled, "y", problem={"positive_class": "Yes"})
    bundle = fit_bundle("linear", labelled, spec, infer_signature(labelled, spec))
    assert bundle.classes == ["no", "yes"]
    assert bundle.positive_class == "yes"
    prediction = bundle.predict(labelled)
    assert set(prediction.predictions) == {"no", "yes"}
    accuracy = np.mean((prediction.probabilities >= 0.5) == (labelled["y"] == "yes"))
    assert accuracy > 0.75


def test_positive_class_that_is_no_label(labelled: pd.DataFrame) -> None:
    spec = make_spec(labelled, "y", problem={"positive_class": "maybe"})
    with pytest.raises(DataError, match="'maybe' is not a label of 'y'"):
        fit_bundle("linear", labelled, spec, infer_signature(labelled, spec))


def test_boolean_target(labelled: pd.DataFrame) -> None:
    frame = labelled.assign(y=labelled["y"] == "yes")
    spec = make_spec(frame, "y")
    assert spec.problem.positive_class == "True"
    bundle = fit_bundle("linear", frame, spec, infer_signature(frame, spec))
    assert bundle.classes == [False, True] and bundle.positive_class is True


def test_multiclass(labelled: pd.DataFrame) -> None:
    frame = labelled.assign(y=pd.cut(labelled["x"], [-np.inf, -0.5, 0.5, np.inf], labels=False))
    spec = make_spec(frame, "y")
    bundle = fit_bundle("hist_gradient_boosting", frame, spec, infer_signature(frame, spec))
    assert bundle.classes == [0, 1, 2] and bundle.positive_class is None
    assert bundle.predict(frame).probabilities.shape == (200, 3)


def test_regression_on_bike(bike_csv: Path) -> None:
    frame = clean_column_names(read_source(bike_csv))[0].sample(3000, random_state=0)
    spec = infer_spec(frame, target="cnt", source_path="b.csv", column_map={}, name="bike")
    bundle = fit_bundle("linear", frame, spec, infer_signature(frame, spec))
    assert bundle.classes is None and bundle.positive_class is None
    prediction = bundle.predict(frame.head(10))
    assert prediction.predictions.dtype == float and prediction.probabilities is None


def test_rows_without_target_are_left_out(labelled: pd.DataFrame) -> None:
    frame = labelled.copy()
    frame.loc[:9, "y"] = None
    spec = make_spec(frame, "y")
    bundle = fit_bundle("linear", frame, spec, infer_signature(frame, spec))
    assert bundle.info["train_rows"] == 190


def test_one_class_in_training(labelled: pd.DataFrame) -> None:
    spec = make_spec(labelled, "y")
    only_yes = labelled[labelled["y"] == "yes"]
    with pytest.raises(DataError, match="a classifier needs at least 2"):
        fit_bundle("linear", only_yes, spec, infer_signature(only_yes, spec))


def test_regression_target_must_be_numeric() -> None:
    frame = pd.DataFrame({"x": np.arange(40.0), "y": np.linspace(0, 1, 40)})
    spec = make_spec(frame, "y")
    bad = frame.astype({"y": object})
    bad.loc[3, "y"] = "n/a"
    with pytest.raises(DataError, match="row 3: 'n/a'"):
        fit_bundle("linear", bad, spec, infer_signature(frame, spec))


def test_missing_columns(labelled: pd.DataFrame) -> None:
    spec = make_spec(labelled, "y")
    signature = infer_signature(labelled, spec)
    with pytest.raises(DataError, match="lacks columns \\['colour'\\]"):
        fit_bundle("linear", labelled.drop(columns="colour"), spec, signature)
    partial = infer_signature(labelled[["x", "y"]], make_spec(labelled[["x", "y"]], "y"))
    with pytest.raises(DataError, match="signature lacks feature columns \\['colour'\\]"):
        fit_bundle("linear", labelled, spec, partial)


def test_signature_takes_the_declared_kinds() -> None:
    frame = pd.DataFrame({"month": [1, 2, 3] * 10, "y": [0, 1] * 15})
    spec = make_spec(frame, "y", data={"columns": {"month": "categorical", "y": "numeric"}})
    signature = infer_signature(frame, spec)
    assert signature.names() == ["month"]
    assert signature.column("month").kind is ColumnKind.CATEGORICAL
    assert signature.column("month").categories == ("1", "2", "3")


@pytest.mark.parametrize(
    ("labels", "wanted", "expected"),
    [
        ([0, 1], "1", 1),
        ([0, 1], 1, 1),
        ([0.0, 1.0], 1, 1.0),
        (["no", "yes"], "YES", "yes"),
        ([False, True], 1, True),
        ([False, True], "True", True),
        ([False, True], "no", False),
        ([False, True], "banana", None),
        (["a", "b"], "c", None),
        (["a", "b"], None, None),
    ],
)
def test_match_label(labels: list[Any], wanted: Any, expected: Any) -> None:
    found = match_label(labels, wanted)
    assert found == expected and type(found) is type(expected)
