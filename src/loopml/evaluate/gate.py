"""The business gate: go or no-go, with one reasoned check per success criterion."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

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
    intervals: Mapping[str, Sequence[float]] | None = None,
    champion: ChampionRule | None = None,
    references: Mapping[str, Mapping[str, float]] | None = None,
) -> GateResult:
    """Check ``metrics`` against each criterion and, when ``baseline_metrics`` is given,
    check that the model beats the baseline on ``primary_metric``; with ``champion``,
    check that it beats the current champion by the rule's margin.

    A criterion whose metric was not computed fails, saying so. Each check carries the
    bootstrap interval of its metric from ``intervals`` (a criterion is judged on the
    value itself; the interval shows how sure that is). A ``better_than`` criterion is
    judged against that model's metrics in ``references`` (``baseline`` defaults to
    ``baseline_metrics``; ``linear``: the linear model on the same hold-out); one whose
    model was not scored is not checked, saying so. The verdict is go when every check
    passed; a no-go is a result with reasons, never an exception.

    Raises:
        ValueError: ``baseline_metrics`` without ``primary_metric``.
    """
    known = {"baseline": baseline_metrics or {}, **(references or {})}
    checks = [
        _relative(metrics, criterion, known.get(criterion.better_than))
        if criterion.better_than
        else _check(metrics, criterion)
        for criterion in criteria
    ]
    if baseline_metrics is not None:
        if not primary_metric:
            raise ValueError("apply_gate: baseline_metrics needs primary_metric")
        checks.append(_beats_baseline(metrics, baseline_metrics, primary_metric))
    if champion is not None:
        checks.append(_beats_champion(metrics, champion))
    return GateResult(tuple(_with_interval(c, intervals or {}) for c in checks))


@dataclass(frozen=True)
class ChampionRule:
    """Beat the champion ``ref`` (None when there is none) on ``metric`` by at least
    ``by``; ``metrics`` are the champion's on the same hold-out (None when it could not
    be scored)."""

    metric: str
    by: float
    ref: str | None
    metrics: Mapping[str, float] | None


def _beats_champion(metrics: Mapping[str, float], rule: ChampionRule) -> CriterionCheck:
    better = greater_is_better(rule.metric)
    op = ">=" if better else "<="
    value = _value(metrics, rule.metric)
    if rule.ref is None:
        reason = "no current champion to beat: the first model that passes the gate becomes it"
        return CriterionCheck(f"{rule.metric} vs champion", op, math.nan, value, True, reason)
    if rule.metrics is None:
        reason = f"the champion {rule.ref} could not be scored on the hold-out"
        return CriterionCheck(f"{rule.metric} vs champion", op, math.nan, value, False, reason)
    champion = _value(rule.metrics, rule.metric)
    if champion is None or value is None:
        who = "the champion" if champion is None else "the model"
        reason = f"{rule.metric} of {who} was not computed on the hold-out"
        return CriterionCheck(rule.metric, op, math.nan, value, False, reason)
    threshold = champion + rule.by if better else champion - rule.by
    passed = value >= threshold if better else value <= threshold
    margin = f" by {_fmt(rule.by)}" if rule.by else ""
    verb = "beats" if passed else "does not beat"
    reason = (
        f"{rule.metric} {_fmt(value)} {verb} champion {rule.ref} ({_fmt(champion)}){margin} "
        "on the same hold-out"
    )
    return CriterionCheck(f"{rule.metric} vs champion", op, threshold, value, passed, reason)


def _with_interval(
    check: CriterionCheck, intervals: Mapping[str, Sequence[float]]
) -> CriterionCheck:
    bounds = intervals.get(check.metric.split(" ")[0])
    if bounds is None or check.value is None:
        return check
    low, high = float(bounds[0]), float(bounds[1])
    reason = f"{check.reason} (CI {_fmt(low)} to {_fmt(high)})"
    return replace(check, low=low, high=high, reason=reason)


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


def _relative(
    metrics: Mapping[str, float],
    criterion: SuccessCriterion,
    reference: Mapping[str, float] | None,
) -> CriterionCheck:
    """``metric`` better than the ``better_than`` model's by ``by`` of the gap to perfect."""
    name, against, by = criterion.metric, str(criterion.better_than), criterion.by or 0.0
    better = greater_is_better(name)
    op = ">=" if better else "<="
    label = f"{name} vs {against}"
    value, theirs = _value(metrics, name), _value(reference or {}, name)
    if theirs is None:
        reason = f"{label}: not checked, the {against} model has no {name} on this hold-out"
        return CriterionCheck(label, op, math.nan, value, True, reason)
    threshold = theirs + by * (1.0 - theirs) if better else theirs * (1.0 - by)
    if value is None:
        reason = f"{name} was not computed; {_available(metrics)}"
        return CriterionCheck(label, op, threshold, None, False, reason)
    passed = value >= threshold if better else value <= threshold
    shown = op if passed else {">=": "<", "<=": ">"}[op]
    how = f"{abs(by):.0%} {'better' if by >= 0 else 'worse'} than" if by else "as good as"
    reason = (
        f"{name} {_fmt(value)} {shown} {_fmt(threshold)} ({how} the {against} model's "
        f"{_fmt(theirs)})"
    )
    return CriterionCheck(label, op, threshold, value, passed, reason)


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
    classification, the training mean for regression (of the target itself, whatever
    ``problem.target_transform`` says), fitted and scored like a candidate.
    """
    if spec.problem.target_transform is not None:
        problem = spec.problem.model_copy(update={"target_transform": None})
        spec = spec.model_copy(update={"problem": problem})
    signature = infer_signature(train_df, spec)
    bundle = fit_bundle(BASELINE_KIND, train_df, spec, signature)
    return compute_metrics(bundle, test_df)


@dataclass(frozen=True)
class ChampionCheck:
    """Whether a version that passed the gate may replace the champion ``ref``:
    ``promote`` and the ``reason`` shown; ``value`` and ``champion_value`` of ``metric``
    on the same hold-out (None where unknown)."""

    promote: bool
    reason: str
    metric: str
    value: float | None = None
    champion_value: float | None = None
    ref: str | None = None
    tolerance: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """The check as plain JSON-ready data."""
        return dict(self.__dict__)


def check_champion(
    metrics: Mapping[str, float],
    champion: Mapping[str, object] | None,
    metric: str,
    tolerance: float,
) -> ChampionCheck:
    """Compare a version's hold-out ``metrics`` with the current champion's on the same
    hold-out (``champion``: its ``ref`` and ``metrics``, or an ``error`` when it could not
    be scored; None when there is no champion). The version may be promoted unless its
    ``metric`` is worse than the champion's by more than ``tolerance`` times the
    champion's value; a champion that could not be scored is kept (the version waits as
    challenger, saying why)."""
    value = _value(metrics, metric)
    if not champion:
        reason = "no current champion: the version that passes the gate becomes it"
        return ChampionCheck(True, reason, metric, value, tolerance=tolerance)
    ref = str(champion.get("ref"))
    scored = champion.get("metrics")
    if not isinstance(scored, Mapping):
        why = champion.get("error") or "it was not scored"
        reason = (
            f"the champion {ref} could not be scored on the same hold-out ({why}); it stays "
            "champion: promote this version by hand if it should replace it"
        )
        return ChampionCheck(False, reason, metric, value, None, ref, tolerance)
    theirs = _value(scored, metric)
    if theirs is None or value is None:
        who = "the champion" if theirs is None else "the version"
        reason = f"{metric} of {who} was not computed on the hold-out; {ref} stays champion"
        return ChampionCheck(False, reason, metric, value, theirs, ref, tolerance)
    slack = tolerance * abs(theirs)
    better = greater_is_better(metric)
    worse = value < theirs - slack if better else value > theirs + slack
    allowed = f"beyond the {tolerance:.1%} tolerance" if tolerance else "(no tolerance)"
    if worse:
        reason = (
            f"{metric} {_fmt(value)} is worse than champion {ref} ({_fmt(theirs)}) {allowed} "
            "on the same hold-out: registered as challenger, the champion stays"
        )
    else:
        reason = (
            f"{metric} {_fmt(value)} vs champion {ref} ({_fmt(theirs)}) on the same hold-out: "
            f"not worse {allowed}"
        )
    return ChampionCheck(not worse, reason, metric, value, theirs, ref, tolerance)
