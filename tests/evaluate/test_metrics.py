"""Hold-out metrics of bundles, and picking the best candidate."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from loopml.data.infer import infer_spec
from loopml.data.ingest import clean_column_names, read_source
from loopml.data.split import split_frame
from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.errors import DataError
from loopml.evaluate.gate import baseline_metrics
from loopml.evaluate.metrics import compute_metrics
from loopml.model.bundle import ModelBundle
from loopml.spec import CLASSIFICATION_METRICS, REGRESSION_METRICS, ProjectSpec
from loopml.train.train import SIMPLE_KINDS, fit_bundle, infer_signature


class FixedModel:
    """A stand-in pipeline answering with the column ``out`` of its input."""

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = X["out"].to_numpy(float)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return X["out"].to_numpy(float)


def fixed_bundle(task: str, classes: list[Any] | None = None, positive: Any = None) -> ModelBundle:
    signature = Schema((ColumnSchema("out", ColumnKind.NUMERIC, "float64"),))
    return ModelBundle(FixedModel(), signature, task, "y", "fixed", classes, positive)


@pytest.fixture(scope="module")
def bank_models(bank_csv: Path) -> dict[str, Any]:
    """Both candidates and the baseline on the bank data without `duration` (leakage)."""
    frame, column_map = clean_column_names(read_source(bank_csv))
    spec = infer_spec(
        frame, target="subscribed ", source_path="bank.csv", column_map=column_map, name="bank"
    )
    data = spec.model_dump()
    data["features"]["exclude"] = ["duration"]
    spec = ProjectSpec.model_validate(data)
    train, test = split_frame(frame, spec.split, "subscribed", "classification")
    signature = infer_signature(train, spec)
    metrics = {
        kind: compute_metrics(fit_bundle(kind, train, spec, signature), test)
        for kind in SIMPLE_KINDS
    }
    return {"metrics": metrics, "baseline": baseline_metrics(train, test, spec)}


def test_gradient_boosting_beats_linear_and_baseline_on_bank(bank_models: dict[str, Any]) -> None:
    metrics, baseline = bank_models["metrics"], bank_models["baseline"]
    hgb, linear = metrics["hist_gradient_boosting"], metrics["linear"]
    assert hgb["roc_auc"] > linear["roc_auc"] + 0.03
    assert linear["roc_auc"] > baseline["roc_auc"] == 0.5
    assert hgb["roc_auc"] > 0.7
    assert hgb["log_loss"] < linear["log_loss"]


def test_binary_metrics_are_the_whole_table(bank_models: dict[str, Any]) -> None:
    for values in [*bank_models["metrics"].values(), bank_models["baseline"]]:
        assert set(values) == set(CLASSIFICATION_METRICS)
        assert all(isinstance(v, float) and math.isfinite(v) for v in values.values())
    baseline = bank_models["baseline"]
    assert baseline["accuracy"] == pytest.approx(0.883, abs=0.003)  # the majority class
    assert baseline["recall"] == 0.0 and baseline["pr_auc"] == pytest.approx(0.117, abs=0.003)


def test_binary_metrics_by_hand() -> None:
    rows = pd.DataFrame({"out": [0.9, 0.2, 0.4, 0.6], "y": ["yes", "no", "yes", "no"]})
    values = compute_metrics(fixed_bundle("classification", ["no", "yes"], "yes"), rows)
    assert values["accuracy"] == 0.5
    assert values["roc_auc"] == 0.75
    assert values["precision"] == 0.5 and values["recall"] == 0.5 and values["f1"] == 0.5
    assert values["brier"] == pytest.approx((0.01 + 0.04 + 0.36 + 0.36) / 4)
    assert values["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.4, 0.4])), rel=1e-9)


def test_positive_class_compared_as_text() -> None:
    rows = pd.DataFrame({"out": [0.9, 0.1], "y": [1.0, 0.0]})  # float labels, int classes
    values = compute_metrics(fixed_bundle("classification", [0, 1], 1), rows)
    assert values["accuracy"] == 1.0 and values["roc_auc"] == 1.0


def test_one_class_in_the_test_rows_leaves_out_ranking_metrics() -> None:
    rows = pd.DataFrame({"out": [0.9, 0.7], "y": [1, 1]})
    values = compute_metrics(fixed_bundle("classification", [0, 1], 1), rows)
    assert "roc_auc" not in values and "pr_auc" not in values
    assert values["recall"] == 1.0


def test_regression_metrics_by_hand() -> None:
    rows = pd.DataFrame({"out": [1.0, 3.0, 5.0, 1.0], "y": [2.0, 3.0, 4.0, 0.0]})
    values = compute_metrics(fixed_bundle("regression"), rows)
    assert set(values) == set(REGRESSION_METRICS)
    assert values["rmse"] == pytest.approx(np.sqrt(3 / 4))
    assert values["mae"] == pytest.approx(0.75)
    assert values["mape"] == pytest.approx((0.5 + 0 + 0.25) / 3)  # the zero target is skipped
    assert values["r2"] == pytest.approx(1 - 3 / 8.75)


def test_multiclass_metrics() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300)})
    frame["y"] = pd.cut(frame["x"], [-np.inf, -0.4, 0.4, np.inf], labels=["lo", "mid", "hi"])
    frame["y"] = frame["y"].astype("str")
    spec = infer_spec(frame, target="y", source_path="m.csv", column_map={}, name="m")
    bundle = fit_bundle("linear", frame, spec, infer_signature(frame, spec))
    values = compute_metrics(bundle, frame)
    assert set(values) == {"accuracy", "balanced_accuracy", "f1", "log_loss"}
    assert values["accuracy"] > 0.8
    unseen = frame.head(20).assign(y="new")
    assert "log_loss" not in compute_metrics(bundle, unseen)


def test_regression_on_bike_beats_the_mean(bike_csv: Path) -> None:
    frame, column_map = clean_column_names(read_source(bike_csv))
    spec = infer_spec(frame, target="cnt", source_path="b.csv", column_map=column_map, name="b")
    train, test = split_frame(frame, spec.split, "cnt", "regression")
    train = train.sample(4000, random_state=0)
    bundle = fit_bundle("linear", train, spec, infer_signature(train, spec))
    values = compute_metrics(bundle, test)
    baseline = baseline_metrics(train, test, spec)
    assert set(values) == set(REGRESSION_METRICS) == set(baseline)
    assert values["rmse"] < baseline["rmse"]
    assert baseline["r2"] < 0.05  # the training mean explains (almost) nothing


def test_missing_target() -> None:
    bundle = fixed_bundle("regression")
    with pytest.raises(DataError, match="lack the target column 'y'"):
        compute_metrics(bundle, pd.DataFrame({"out": [1.0]}))
    with pytest.raises(DataError, match="no test row"):
        compute_metrics(bundle, pd.DataFrame({"out": [1.0], "y": [None]}))
