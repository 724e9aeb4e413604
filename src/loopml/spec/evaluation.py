"""Spec section ``evaluation``: how a model is judged before the gate. In YAML::

    evaluation:
      threshold: {by: value}                    # business_value from problem
      threshold: {by: precision, target: 0.6}   # the most recall at precision >= 0.6
      threshold: {by: metric, metric: f1}       # the default
      calibration: auto                         # isotonic | platt | none
      slices: [job, marital]                    # metrics per value of these columns
      worst_slices: 5                           # and the 5 worst slices of any column
      bootstrap: {samples: 200, confidence: 0.95, seed: 0}
      beat_champion: {metric: roc_auc, by: 0.005}
      prediction_interval: 0.9                  # regression: conformal, out-of-fold

Every key has a default, so a spec without the section evaluates the usual way.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from loopml.spec.base import Section

# metrics a threshold can be chosen to maximise (their value depends on the threshold)
THRESHOLD_METRICS = ("f1", "accuracy", "balanced_accuracy", "precision", "recall")


class ThresholdSpec(Section):
    """How the decision threshold of a binary classifier is chosen.

    - ``metric``: the threshold that maximises ``metric`` (f1 unless named);
    - ``precision`` / ``recall``: the threshold that reaches ``target`` precision (with
      the most recall) or ``target`` recall (with the most precision);
    - ``value``: the threshold that maximises the business value of the outcomes
      (``problem.business_value``: tp, fp, tn, fn);
    - ``fixed``: ``target`` itself (0.5 unless given).

    Without ``by``: ``value`` when the problem has a business value, else ``metric``.
    """

    by: Literal["metric", "precision", "recall", "value", "fixed"] | None = None
    metric: Literal["f1", "accuracy", "balanced_accuracy", "precision", "recall"] = "f1"
    target: float | None = Field(default=None, gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _target_when_needed(self) -> Self:
        if self.by in ("precision", "recall") and self.target is None:
            raise ValueError(f"threshold by '{self.by}' needs 'target' (e.g. target: 0.6)")
        return self


class BootstrapSpec(Section):
    """Resamples of the hold-out for the confidence interval of each metric."""

    samples: int = Field(default=200, ge=0, le=10_000)
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    seed: int = 0


class BeatChampion(Section):
    """The gate's rule: ``metric`` must beat the current champion's on the same hold-out
    by at least ``by`` (0: at least as good)."""

    metric: str | None = None  # the primary metric unless named
    by: float = Field(default=0.0, ge=0.0)


class EvaluationSpec(Section):
    """``calibration`` maps a binary classifier's probabilities through a calibrator
    fitted on out-of-fold scores of the training part before the threshold is chosen:
    ``auto`` is isotonic with enough rows of each class, else Platt; ``none`` keeps the
    estimator's own probabilities."""

    threshold: ThresholdSpec = Field(default_factory=ThresholdSpec)
    calibration: Literal["auto", "isotonic", "platt", "none"] = "auto"
    slices: list[str] = Field(default_factory=list)
    worst_slices: int = Field(default=5, ge=0, le=50)
    min_slice_rows: int = Field(default=30, ge=1)
    bootstrap: BootstrapSpec = Field(default_factory=BootstrapSpec)
    beat_champion: BeatChampion | None = None
    explain_rows: int = Field(default=500, ge=10, le=20_000)
    # regression: the conformal prediction interval's level (null: none)
    prediction_interval: float | None = Field(default=0.9, gt=0.0, lt=1.0)
