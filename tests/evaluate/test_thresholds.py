"""Choosing a binary classifier's decision threshold, and the bundle applying it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from loopml.evaluate.metrics import binary_metrics
from loopml.evaluate.thresholds import choose_threshold, threshold_curve
from loopml.spec.evaluation import ThresholdSpec


@pytest.fixture(scope="module")
def scores() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    truth = (rng.random(400) < 0.2).astype(int)
    proba = np.clip(0.35 * truth + 0.65 * rng.random(400), 0, 1)
    return truth, proba


def brute_force(truth: np.ndarray, proba: np.ndarray, name: str) -> float:
    grid = np.unique(proba)
    return max(binary_metrics(truth, proba, [name], threshold=t)[name] for t in grid)


def choose(scores: tuple[np.ndarray, np.ndarray], value=None, **spec):
    return choose_threshold(*scores, ThresholdSpec(**spec), value, chosen_on="test rows")


@pytest.mark.parametrize("metric", ["f1", "balanced_accuracy", "accuracy"])
def test_by_metric_finds_the_best_threshold(scores, metric: str) -> None:
    choice = choose(scores, by="metric", metric=metric)
    got = binary_metrics(*scores, [metric], threshold=choice.threshold)[metric]
    assert got == pytest.approx(brute_force(*scores, metric))
    assert choice.by == "metric" and metric in choice.reason and choice.reached


def test_by_precision_reaches_it_with_the_most_recall(scores) -> None:
    choice = choose(scores, by="precision", target=0.6)
    at = binary_metrics(*scores, threshold=choice.threshold)
    assert at["precision"] >= 0.6
    curve = threshold_curve(*scores)
    reaching = curve.precision >= 0.6
    assert at["recall"] == pytest.approx(curve.recall[reaching].max())


def test_by_recall_reaches_it_with_the_most_precision(scores) -> None:
    choice = choose(scores, by="recall", target=0.9)
    at = binary_metrics(*scores, threshold=choice.threshold)
    assert at["recall"] >= 0.9
    curve = threshold_curve(*scores)
    assert at["precision"] == pytest.approx(curve.precision[curve.recall >= 0.9].max())


def test_unreachable_target_says_so() -> None:
    scores = (np.array([0, 1, 0, 1]), np.array([0.9, 0.8, 0.7, 0.1]))  # precision <= 0.5
    choice = choose(scores, by="precision", target=0.9)
    assert not choice.reached
    assert "no threshold reaches precision 0.900" in choice.reason
    assert "the best is 0.500" in choice.reason


def test_by_value_maximises_the_business_value(scores) -> None:
    value = {"tp": 100.0, "fp": -10.0, "tn": 0.0, "fn": -50.0}
    choice = choose(scores, value)  # no `by`: a business value means by value
    assert choice.by == "value"
    truth, proba = scores

    def total(t: float) -> float:
        guess = proba >= t
        return (
            100 * np.sum(guess & (truth == 1))
            - 10 * np.sum(guess & (truth == 0))
            - 50 * np.sum(~guess & (truth == 1))
        )

    best = max(total(t) for t in np.unique(proba))
    assert total(choice.threshold) == pytest.approx(best)
    # a costlier false positive moves the threshold up
    pricier = choose(scores, {**value, "fp": -80.0})
    assert pricier.threshold > choice.threshold


def test_value_without_business_value_is_an_error(scores) -> None:
    with pytest.raises(ValueError, match="business_value"):
        choose(scores, by="value")


def test_target_is_required_for_precision() -> None:
    with pytest.raises(ValidationError, match="needs 'target'"):
        ThresholdSpec(by="precision")


def test_bundle_labels_follow_its_threshold(bank_run) -> None:
    from loopml.service import ProjectService

    project = bank_run.report_path.parents[2]
    service = ProjectService.open(project)
    _, bundle = service.load_model(f"{bank_run.registration['model']}@1")
    service.close()
    chosen = bank_run.evaluation["threshold"]
    assert bundle.threshold == chosen["threshold"]
    assert "out-of-fold" in chosen["chosen_on"]  # never the hold-out
    rows = pd.read_csv(project / "data" / "data.csv").head(300)
    rows.columns = [c.strip() for c in rows.columns]
    prediction = bundle.predict(rows)
    positive = prediction.probabilities >= chosen["threshold"]
    assert list(prediction.predictions == bundle.positive_class) == list(positive)
    bundle.info["threshold"] = 0.0
    assert (bundle.predict(rows).predictions == bundle.positive_class).all()
