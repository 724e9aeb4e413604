"""The gate for a model trained outside loopml: its hold-out metrics (or, without a
hold-out, the metrics supplied with it) against the project's success criteria.

With a hold-out the checks are those of a pipeline-trained model: every criterion with
its bootstrap interval, the majority-class / mean baseline (fitted on the sample's target
values) and, with a champion rule, the champion scored on the same rows. Without one the
supplied metrics are judged as they are; what cannot be checked fails, saying why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from loopml.domain import CriterionCheck, GateResult
from loopml.errors import DataError
from loopml.evaluate.gate import ChampionRule, apply_gate
from loopml.evaluate.holdout import holdout_summary, score_rows
from loopml.model.bundle import ModelBundle
from loopml.model.values import category_string
from loopml.spec.evaluation import BootstrapSpec
from loopml.spec.model import SuccessCriterion

HOLDOUT, SUPPLIED = "holdout", "supplied"


@dataclass
class Judged:
    """What the gate judged (``metrics``, measured on a ``holdout`` or ``supplied``), its
    ``result``, and the checks it could not make (``unchecked``, as sentences)."""

    metrics: dict[str, float]
    source: str
    result: GateResult
    unchecked: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return str(self.result.verdict)


def judge_external(
    bundle: ModelBundle,
    reference: pd.DataFrame,
    holdout: pd.DataFrame | None,
    supplied: Mapping[str, float],
    *,
    criteria: Sequence[SuccessCriterion],
    primary_metric: str,
    bootstrap: BootstrapSpec,
    champion: ChampionRule | None = None,
) -> Judged:
    """Judge ``bundle`` on ``holdout`` (rows with the target), else on ``supplied``.

    ``reference`` holds the sample (with the target, when it came with it: the baseline
    is fitted on it). The version's metrics are the supplied ones overridden by the
    measured ones.
    """
    unchecked: list[str] = []
    intervals: dict[str, Any] = {}
    baseline = None
    if holdout is not None:
        summary = holdout_summary(score_rows(bundle, holdout), bootstrap)
        metrics, intervals, source = dict(summary["metrics"]), summary["intervals"], HOLDOUT
        baseline = baseline_metrics(bundle, reference, holdout)
        if baseline is None:
            unchecked.append("beats the baseline: the sample holds no target values to fit it")
    else:
        metrics, source = dict(supplied), SUPPLIED
        unchecked.append("beats the baseline: no hold-out was given to compare on")
    result = apply_gate(
        metrics,
        criteria,
        baseline_metrics=baseline,
        primary_metric=primary_metric,
        intervals=intervals,
        champion=champion,
    )
    result = GateResult(tuple(_explained(c, source) for c in result.checks))
    unchecked += [c.reason for c in result.checks if c.value is None]
    return Judged({**supplied, **metrics}, source, result, unchecked)


def holdout_frame(holdout: Any, bundle: ModelBundle) -> pd.DataFrame:
    """``holdout`` (a frame holding the target, or a pair ``(X, y)``) as one frame with
    the target under the bundle's name (every column kept: a champion it is compared with
    may take others); DataError when it lacks a column of the model."""
    from loopml.registry.external import find_column

    target = bundle.target
    if isinstance(holdout, tuple):
        if len(holdout) != 2 or not isinstance(holdout[0], pd.DataFrame):
            raise DataError("register_model: holdout=(X, y) needs X as a DataFrame and y")
        frame = holdout[0].reset_index(drop=True).copy()
        frame[target] = np.asarray(holdout[1])
    elif isinstance(holdout, pd.DataFrame):
        found = find_column(holdout, target)
        if found is None:
            raise DataError(
                f"register_model: the hold-out has no target column '{target}'; give "
                "holdout=(X, y) or a frame that holds it"
            )
        frame = holdout.rename(columns={found: target}).reset_index(drop=True)
    else:
        kind = type(holdout).__name__
        raise DataError(f"register_model: holdout= takes a DataFrame or (X, y), not a {kind}")
    missing = [c for c in bundle.feature_names if c not in frame.columns]
    if missing:
        raise DataError(f"register_model: the hold-out lacks the model's columns {missing}")
    if len(frame) == 0:
        raise DataError("register_model: the hold-out has no rows")
    return frame


def supplied_metrics(metrics: Mapping[str, Any] | None) -> dict[str, float]:
    """``metrics`` as finite floats by name; DataError for any other value."""
    out = {}
    for key, value in (metrics or {}).items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise DataError(
                f"register_model: metric '{key}' must be a finite number, not {value!r}"
            )
        out[str(key)] = number
    return out


def baseline_metrics(
    bundle: ModelBundle, reference: pd.DataFrame, rows: pd.DataFrame
) -> dict[str, float] | None:
    """The majority-class / mean baseline fitted on the sample's target values, scored on
    the hold-out ``rows`` (None when the sample has no target values)."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    target = bundle.target
    if target not in reference.columns or reference[target].notna().sum() == 0:
        return None
    known = reference[reference[target].notna()]
    classify = bundle.task == "classification"
    dummy = DummyClassifier(strategy="prior") if classify else DummyRegressor()
    truth = known[target].to_numpy()
    if classify:  # as the model's classes, so the probability columns line up
        by_text = {category_string(c): c for c in bundle.classes or []}
        truth = np.asarray([by_text.get(category_string(v), v) for v in truth], dtype=object)
    try:
        dummy.fit(known[bundle.feature_names], truth)
        return score_rows(replace(bundle, pipeline=dummy, info={}), rows).metrics()
    except Exception:  # noqa: BLE001 - a sample lacking a class: no baseline to compare
        return None


def _explained(check: CriterionCheck, source: str) -> CriterionCheck:
    """A check whose metric was not supplied says so (the gate says "not computed")."""
    if check.value is not None or source != SUPPLIED or "was not computed" not in check.reason:
        return check
    reason = f"{check.metric} was not supplied in metrics= and no hold-out was given to measure it"
    return replace(check, reason=reason)
