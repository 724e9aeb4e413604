"""The decision threshold of a binary classifier: metrics across thresholds and the choice
of one by a metric, a target precision or recall, or the business value of outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from loopml.spec.evaluation import ThresholdSpec

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class ThresholdCurve:
    """Confusion counts and label metrics at each candidate threshold (ascending)."""

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    tn: np.ndarray
    fn: np.ndarray

    @property
    def precision(self) -> np.ndarray:
        called = self.tp + self.fp
        return np.divide(self.tp, called, out=np.zeros(len(called)), where=called > 0)

    @property
    def recall(self) -> np.ndarray:
        pos = self.tp + self.fn
        return np.divide(self.tp, pos, out=np.zeros(len(pos)), where=pos > 0)

    @property
    def specificity(self) -> np.ndarray:
        neg = self.tn + self.fp
        return np.divide(self.tn, neg, out=np.zeros(len(neg)), where=neg > 0)

    def metric(self, name: str) -> np.ndarray:
        """f1, accuracy, balanced_accuracy, precision or recall at each threshold."""
        if name == "precision":
            return self.precision
        if name == "recall":
            return self.recall
        if name == "accuracy":
            return (self.tp + self.tn) / (self.tp + self.fp + self.tn + self.fn)
        if name == "balanced_accuracy":
            return (self.recall + self.specificity) / 2
        if name == "f1":
            denom = 2 * self.tp + self.fp + self.fn
            return np.divide(2 * self.tp, denom, out=np.zeros(len(denom)), where=denom > 0)
        raise KeyError(name)

    def value(self, business_value: Mapping[str, float]) -> np.ndarray:
        """The total business value of the outcomes at each threshold."""
        counts = {"tp": self.tp, "fp": self.fp, "tn": self.tn, "fn": self.fn}
        return sum((counts[k] * float(v) for k, v in business_value.items()), np.zeros(1))


@dataclass(frozen=True)
class ThresholdChoice:
    """The chosen threshold, how, on which rows, and whether a target was reached."""

    threshold: float
    by: str
    reason: str
    chosen_on: str
    reached: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def threshold_curve(truth: np.ndarray, proba: np.ndarray, points: int = 201) -> ThresholdCurve:
    """Counts at ``points`` thresholds from 0 to 1 plus every distinct score when there
    are few, so that the optimum found is exact for small data."""
    grid = np.linspace(0.0, 1.0, points)
    distinct = np.unique(proba)
    if len(distinct) <= 2000:
        grid = np.unique(np.r_[grid, distinct])
    t = truth.astype(bool)
    pos_scores, neg_scores = np.sort(proba[t]), np.sort(proba[~t])
    # rows with proba >= threshold are called positive
    tp = len(pos_scores) - np.searchsorted(pos_scores, grid, side="left")
    fp = len(neg_scores) - np.searchsorted(neg_scores, grid, side="left")
    return ThresholdCurve(grid, tp, fp, len(neg_scores) - fp, len(pos_scores) - tp)


def choose_threshold(
    truth: np.ndarray,
    proba: np.ndarray,
    spec: ThresholdSpec,
    business_value: Mapping[str, float] | None,
    *,
    chosen_on: str,
) -> ThresholdChoice:
    """Choose the decision threshold on ``(truth, proba)`` as ``spec`` says (see
    ``ThresholdSpec``). A target precision or recall that no threshold reaches gives the
    closest threshold with ``reached`` False and a reason saying so.

    Raises:
        ValueError: by ``value`` without a business value.
    """
    by = spec.by or ("value" if business_value else "metric")
    if by == "fixed":
        value = spec.target if spec.target is not None else DEFAULT_THRESHOLD
        return ThresholdChoice(value, by, f"fixed at {value:.3f}", chosen_on)
    curve = threshold_curve(truth, proba)
    if by == "value":
        if not business_value:
            raise ValueError("threshold by value needs problem.business_value (tp, fp, tn, fn)")
        values = curve.value(business_value)
        i = _best(values)
        reason = f"the most business value, {values[i]:,.2f} on {chosen_on}"
        return ThresholdChoice(float(curve.thresholds[i]), by, reason, chosen_on)
    if by == "metric":
        values = curve.metric(spec.metric)
        i = _best(values)
        reason = f"the best {spec.metric}, {values[i]:.3f} on {chosen_on}"
        return ThresholdChoice(float(curve.thresholds[i]), by, reason, chosen_on)
    return _by_target(curve, by, float(spec.target or 0.0), chosen_on)


def _by_target(curve: ThresholdCurve, by: str, target: float, chosen_on: str) -> ThresholdChoice:
    goal = curve.precision if by == "precision" else curve.recall
    other_name = "recall" if by == "precision" else "precision"
    other = curve.recall if by == "precision" else curve.precision
    called = (curve.tp + curve.fp) > 0
    ok = (goal >= target) & called
    if not ok.any():
        i = _best(np.where(called, goal, -np.inf))
        reason = (
            f"no threshold reaches {by} {target:.3f} on {chosen_on}; the best is "
            f"{goal[i]:.3f} at {curve.thresholds[i]:.3f}"
        )
        return ThresholdChoice(float(curve.thresholds[i]), by, reason, chosen_on, reached=False)
    i = _best(np.where(ok, other, -np.inf))
    reason = f"{by} {goal[i]:.3f} >= {target:.3f} with the most {other_name}, {other[i]:.3f}"
    return ThresholdChoice(float(curve.thresholds[i]), by, f"{reason} on {chosen_on}", chosen_on)


def _best(values: np.ndarray) -> int:
    """The index of the greatest value; among ties the middle one (a stable threshold)."""
    best = np.flatnonzero(values == np.max(values))
    return int(best[len(best) // 2])
