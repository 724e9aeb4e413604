"""The business gate: go or no-go, with one reasoned check per success criterion."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from loopml.domain import CriterionCheck, GateResult
from loopml.evaluate.metrics import compute_metrics
from loopml.spec.model import ProjectSpec, SuccessCriterion, greater_is_better
from loopml.train.train import BASELINE_KIND, fit_bundle, infer_signature


def apply_gate(
    metrics: Mapping[str, float],
    criteria: Sequence[SuccessCriterion],
    *,
    baseline_metrics: Mapping[str, float] | None = None,
    primary_metric: str | None = None,
) -> GateResult:
    """Check ``metrics`` against each criterion and, when ``baseline_metrics`` is given,
    check that the model beats the baseline on ``primary_metric``.

    A criterion whose metric was not computed fails, saying so. The verdict is go when
    every check passed; a no-go is a result with reasons, never an exception.

    Raises:
        ValueError: ``baseline_metrics`` without ``primary_metric``.
    """
    checks = [_check(metrics, criterion) for criterion in criteria]
    if baseline_metrics is not None:
        if not primary_metric:
            raise ValueError("apply_gate: baseline_metrics needs primary_metric")
        checks.append(_beats_baseline(metrics, baseline_metrics, primary_metric))
    return GateResult(tuple(checks))


def _check(metrics: Mapping[str, float], criterion: SuccessCriterion) -> CriterionCheck:
    name = criterion.metric
    is_min = criterion.min is not None
    threshold = float(criterion.min if is_min else criterion.max)  # type: ignore[arg-type]
    op, bound = (">=", "min") if is_min else ("<=", "max")
    value = _value(metrics, name)
    if value is None:
        return CriterionCheck(
            name, op, threshold, None, False, f"{name} was not computed; {_available(metrics)}"
        )
    passed = value >= threshold if is_min else value <= threshold
    shown = op if passed else {">=": "<", "<=": ">"}[op]
    reason = f"{name} {_fmt(value)} {shown} {bound} {_fmt(threshold)}"
    return CriterionCheck(name, op, threshold, value, passed, reason)


def _beats_baseline(
    metrics: Mapping[str, float], baseline: Mapping[str, float], metric: str
) -> CriterionCheck:
    op = ">" if greater_is_better(metric) else "<"
    value, base = _value(metrics, metric), _value(baseline, metric)
    if base is None:
        reason = f"the baseline has no {metric} to compare with"
        return CriterionCheck(metric, op, math.nan, value, False, reason)
    if value is None:
        reason = f"{metric} was not computed; {_available(metrics)}"
        return CriterionCheck(metric, op, base, None, False, reason)
    passed = value > base if op == ">" else value < base
    shown = op if passed else {">": "<=", "<": ">="}[op]
    reason = f"{metric} {_fmt(value)} {shown} baseline {_fmt(base)}"
    if not passed:
        reason += " (the model does no better than the majority class / mean)"
    return CriterionCheck(metric, op, base, value, passed, reason)


def _value(metrics: Mapping[str, float], name: str) -> float | None:
    value = metrics.get(name)
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _available(metrics: Mapping[str, float]) -> str:
    names = ", ".join(sorted(metrics)) or "none"
    return f"computed: {names}"


def _fmt(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 10_000 else f"{value:.4g}"


def baseline_metrics(
    train_df: pd.DataFrame, test_df: pd.DataFrame, spec: ProjectSpec
) -> dict[str, float]:
    """The metrics of the naive baseline: class priors (so the majority class) for
    classification, the training mean for regression, fitted and scored like a candidate.
    """
    signature = infer_signature(train_df, spec)
    bundle = fit_bundle(BASELINE_KIND, train_df, spec, signature)
    return compute_metrics(bundle, test_df)
