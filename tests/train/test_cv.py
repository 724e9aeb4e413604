"""Cross-validation for the search: default folds, early-stopping slices, fold scores."""

from __future__ import annotations

import numpy as np
import pytest
from tests.train.frames import bank_sample, bike_sample, feature_signature, transform_factory

from loopml.errors import SpecError
from loopml.evaluate.metrics import METRIC_NAMES, compute_metrics
from loopml.spec.model import CLASSIFICATION_METRICS, REGRESSION_METRICS
from loopml.train.cv import (
    carve_early_stopping,
    check_metric,
    score_fold,
)
from loopml.train.search import fit_default


def test_early_stopping_slices() -> None:
    positions = np.arange(100, 400)
    keys = -positions  # the latest rows come first
    fit, stop = carve_early_stopping(positions, time_keys=keys, seed=0) or (None, None)
    assert fit is not None and stop is not None
    assert len(stop) == 30 and set(stop) == set(range(100, 130))
    assert not set(fit) & set(stop) and len(fit) + len(stop) == 300
    fit2, stop2 = carve_early_stopping(positions, time_keys=None, seed=1) or (None, None)
    assert stop2 is not None and len(stop2) == 30 and stop2.tolist() != list(range(370, 400))
    assert carve_early_stopping(np.arange(150), time_keys=None, seed=0) is None  # too few


def test_metrics_the_folds_cannot_use_are_spec_errors() -> None:
    check_metric("roc_auc", "classification", 2)
    with pytest.raises(SpecError, match="'roc_auc' cannot score multiclass folds"):
        check_metric("roc_auc", "classification", 3)
    with pytest.raises(SpecError, match="cannot score regression"):
        check_metric("accuracy", "regression", 0)
    assert set(METRIC_NAMES["multiclass"]) < set(CLASSIFICATION_METRICS)


def test_fold_scores_match_the_evaluation_metrics() -> None:
    frame, spec = bank_sample(1200)
    bundle = fit_default(
        "linear", frame, spec, transform_factory(frame, spec), feature_signature(frame, spec)
    )
    expected = compute_metrics(bundle, frame)
    model = bundle.pipeline.named_steps["model"]
    X = bundle.pipeline.named_steps["transform"].transform(frame[bundle.feature_names])
    y = frame["subscribed"].to_numpy()
    for metric in CLASSIFICATION_METRICS:
        got = score_fold(metric, "classification", model, X, y, positive=1)
        assert got == pytest.approx(expected[metric]), metric
    frame, spec = bike_sample(800)
    bundle = fit_default(
        "linear", frame, spec, transform_factory(frame, spec), feature_signature(frame, spec)
    )
    expected = compute_metrics(bundle, frame)
    model = bundle.pipeline.named_steps["model"]
    X = bundle.pipeline.named_steps["transform"].transform(frame[bundle.feature_names])
    for metric in REGRESSION_METRICS:
        got = score_fold(metric, "regression", model, X, frame["cnt"].to_numpy(), None)
        assert got == pytest.approx(expected[metric]), metric


def test_a_score_that_is_not_finite_fails_the_fold() -> None:
    class Constant:
        classes_ = np.array([0, 1])

        def predict_proba(self, X: object) -> np.ndarray:
            return np.tile([1.0, 0.0], (4, 1))

    with pytest.raises(ValueError, match="roc_auc of a fold is nan"):
        score_fold("roc_auc", "classification", Constant(), None, np.zeros(4, dtype=int), 1)
