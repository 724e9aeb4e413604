"""Evaluate a fitted model: calibrate its probabilities and choose its decision threshold
on out-of-fold predictions of the training part, then score each hold-out (metrics with
bootstrap intervals, chart data, slices) and explain what drives it. Results are
JSON-ready dicts."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from loopml.evaluate import calibration, explain, slices
from loopml.evaluate.curves import chart_data
from loopml.evaluate.gate import baseline_metrics
from loopml.evaluate.holdout import Scored, holdout_summary, positive_truth, score_rows
from loopml.evaluate.intervals import fit_interval, interval_coverage
from loopml.evaluate.metrics import METRIC_NAMES
from loopml.evaluate.thresholds import ThresholdChoice, choose_threshold
from loopml.model.bundle import ModelBundle, calibrate
from loopml.spec.model import ProjectSpec, greater_is_better
from loopml.spec.splits import SplitSpec

OOF_ROWS = 8000  # training rows (at most) whose out-of-fold scores choose the threshold
OOF_FOLDS = 3
STOPPING_PARAMS = ("early_stopping_round", "early_stopping_rounds")  # LightGBM, XGBoost
OUT_OF_TIME, OUT_OF_SAMPLE = "out_of_time", "out_of_sample"
SLICE_METRICS = {"binary": "recall", "multiclass": "accuracy", "regression": "mae"}


@dataclass(frozen=True)
class Holdout:
    """Hold-out rows with a name (``out_of_time``, ``out_of_sample``) and what they are."""

    name: str
    rows: pd.DataFrame
    description: str


@dataclass(frozen=True)
class Tuning:
    """What the evaluation set on a binary classifier: its calibrator (plain data, None
    for none), the threshold chosen on the calibrated scores, and a report of both."""

    calibration: dict[str, Any] | None
    threshold: ThresholdChoice
    calibration_report: dict[str, Any]

    def apply(self, bundle: ModelBundle) -> None:
        """Set the calibrator and threshold in ``bundle.info`` (applied from then on)."""
        bundle.info.pop("calibration", None)
        if self.calibration is not None:
            bundle.info["calibration"] = self.calibration
        bundle.info.update(threshold=self.threshold.threshold, threshold_by=self.threshold.by)


def tune_threshold(bundle: ModelBundle, train: pd.DataFrame, spec: ProjectSpec) -> Tuning | None:
    """Calibrate ``bundle``'s probabilities as ``spec.evaluation.calibration`` says, then
    choose its decision threshold on the calibrated scores as ``spec.evaluation.threshold``
    says; both on out-of-fold probabilities of (at most ``OOF_ROWS``) training rows: a
    copy of the model is refitted on ``OOF_FOLDS`` folds cut the way the split cuts.
    Never on a hold-out. When the refits fail, the threshold is chosen on the fitted
    model's own training rows (in-sample), which the choice says, and the model is left
    uncalibrated. None for anything but a binary classifier."""
    if bundle.task != "classification" or len(bundle.classes or []) != 2:
        return None
    threshold_spec = spec.evaluation.threshold
    requested = spec.evaluation.calibration
    if threshold_spec.by == "fixed" and requested == "none":
        choice = choose_threshold(np.zeros(0), np.zeros(0), threshold_spec, None, chosen_on="")
        return Tuning(None, choice, calibration.describe(None, requested, ""))
    raw = replace(bundle, info={k: v for k, v in bundle.info.items() if k != "calibration"})
    truth, proba, where = out_of_fold_scores(raw, train, spec)
    fitted = None if "in-sample" in where else calibration.fit_calibration(truth, proba, requested)
    calibrated = calibrate(proba, fitted)
    report = {
        **calibration.describe(fitted, requested, where),
        "brier_before": float(np.mean((proba - truth) ** 2)) if len(truth) else None,
        "brier_after": float(np.mean((calibrated - truth) ** 2)) if len(truth) else None,
    }
    business_value = business_values(spec)
    choice = choose_threshold(truth, calibrated, threshold_spec, business_value, chosen_on=where)
    return Tuning(fitted, choice, report)


def business_values(spec: ProjectSpec) -> dict[str, float] | None:
    """``problem.business_value`` (the value of each outcome: tp, fp, tn, fn), or None."""
    values = spec.problem.business_value
    return {str(k): float(v) for k, v in values.items()} if values else None


def out_of_fold_scores(
    bundle: ModelBundle, train: pd.DataFrame, spec: ProjectSpec
) -> tuple[np.ndarray, np.ndarray, str]:
    """0/1 truth and positive-class probabilities of training rows that the model
    predicting them did not see, and a note of where they come from."""
    from loopml.data.split import cv_splitter

    rows = train[train[bundle.target].notna()]
    if len(rows) > OOF_ROWS:
        picked = np.sort(np.random.default_rng(0).choice(len(rows), OOF_ROWS, replace=False))
        rows = rows.iloc[picked]
    truth = positive_truth(bundle, rows[bundle.target])
    X, y = rows[bundle.feature_names], rows[bundle.target]
    proba = np.full(len(rows), np.nan)
    positive = list(bundle.classes or []).index(bundle.positive_class)
    try:
        folds = cv_splitter(spec.split, "classification", OOF_FOLDS, rows, bundle.target)
        with threadpool_limits(limits=1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for fit_at, score_at in folds:
                model = refittable(bundle.pipeline).fit(X.iloc[fit_at], y.iloc[fit_at])
                proba[score_at] = model.predict_proba(X.iloc[score_at])[:, positive]
    except Exception:  # noqa: BLE001 - any refit failure: fall back to in-sample scores
        in_sample = score_rows(bundle, rows)
        return truth, in_sample.score, f"{len(rows):,} training rows (in-sample)"
    scored = np.isfinite(proba)
    note = f"out-of-fold scores of {int(scored.sum()):,} training rows ({OOF_FOLDS} folds)"
    return truth[scored], proba[scored], note


def refittable(pipeline: Any) -> Any:
    """An unfitted clone of ``pipeline`` that fits without an eval set: a LightGBM or
    XGBoost estimator that stopped early keeps the number of rounds it reached."""
    from sklearn.base import clone

    from loopml.train.zoo import fitted_rounds

    model = clone(pipeline)
    estimator = model.steps[-1][1]
    keys = [
        key
        for key, value in estimator.get_params(deep=True).items()
        if key.rsplit("__", 1)[-1] in STOPPING_PARAMS and value
    ]
    if not keys:
        return model
    changes: dict[str, Any] = dict.fromkeys(keys, None)
    rounds = fitted_rounds(pipeline.steps[-1][1])
    if rounds:
        prefixes = {key.removesuffix(key.rsplit("__", 1)[-1]) for key in keys}
        changes.update({f"{prefix}n_estimators": rounds for prefix in prefixes})
    estimator.set_params(**changes)
    return model


def evaluate_holdout(
    bundle: ModelBundle, holdout: Holdout, spec: ProjectSpec, *, with_slices: bool = True
) -> dict[str, Any]:
    """Metrics with intervals, chart data and slices of ``bundle`` on one hold-out."""
    scored = score_rows(bundle, holdout.rows)
    out = {
        "name": holdout.name,
        "description": holdout.description,
        **holdout_summary(scored, spec.evaluation.bootstrap),
        "charts": chart_data(scored, business_values(spec)),
    }
    if with_slices:
        out["slices"] = slice_report(scored, bundle, spec)
    return out


def slice_report(scored: Scored, bundle: ModelBundle, spec: ProjectSpec) -> dict[str, Any]:
    """The chosen columns' slices, the worst slices of any column, and the group gaps."""
    evaluation = spec.evaluation
    metric = slice_metric(scored.kind, spec.problem.primary_metric)
    chosen = slices.slice_metrics(scored, evaluation.slices, min_rows=evaluation.min_slice_rows)
    kinds = {c.name: str(c.kind) for c in bundle.signature.columns}
    auto = [c for c in slices.slice_columns(scored, kinds) if c not in evaluation.slices]
    every = chosen + slices.slice_metrics(scored, auto, min_rows=evaluation.min_slice_rows)
    gap_metrics = ["accuracy", "recall", "precision"] if scored.kind == "binary" else [metric]
    return {
        "metric": metric,
        "chosen": chosen,
        "worst": slices.worst_slices(every, metric, evaluation.worst_slices),
        "gaps": slices.group_gaps(chosen, gap_metrics),
    }


def slice_metric(kind: str, primary: str) -> str:
    """The metric that ranks slices: the primary one when a slice can compute it."""
    per_slice = METRIC_NAMES[kind]
    return primary if primary in per_slice and primary != "r2" else SLICE_METRICS[kind]


def importance(
    bundle: ModelBundle, rows: pd.DataFrame, spec: ProjectSpec, background: pd.DataFrame
) -> dict[str, Any]:
    """Global importance on (at most ``evaluation.explain_rows``) hold-out rows:
    permutation importance of the primary metric for every model, and mean |SHAP| (or
    the linear / occlusion contributions) per column."""
    n = min(len(rows), spec.evaluation.explain_rows)
    sample = rows[rows[bundle.target].notna()].sample(n=n, random_state=0) if n else rows
    metric = spec.problem.primary_metric
    sign = 1.0 if greater_is_better(metric) else -1.0

    def score(model: ModelBundle, frame: pd.DataFrame) -> float:
        value = score_rows(model, frame).metrics().get(metric, np.nan)
        return sign * value

    permutation = explain.permutation_importance(bundle, sample, score)
    reference = background.sample(n=min(len(background), 1000), random_state=0)
    contributions = explain.explain_rows(bundle, sample, reference)
    return {
        "metric": metric,
        "rows": n,
        "permutation": permutation.to_dict(),
        "contributions": explain.shap_importance(contributions).to_dict(),
        "method": contributions.method,
        "units": contributions.units,
    }


def split_holdouts(split: SplitSpec, test: pd.DataFrame, sample: pd.DataFrame) -> list[Holdout]:
    """The hold-outs of a split, the gated one first: out of time for a time split (with
    the random sample of the training period beside it), else the one out-of-sample
    test part."""
    if split.method != "time":
        how = {"group": f"groups of '{split.group_column}'", "random": "rows"}
        what = how.get(split.method, "rows, stratified by class")
        text = f"a random {split.test_size:.0%} share of the {what}, never seen in training"
        return [Holdout(OUT_OF_SAMPLE, test, text)]
    start = f"at or after {split.test_from}" if split.test_from else "the latest rows"
    gap = f", {split.gap} after training ends" if split.gap else ""
    holdouts = [Holdout(OUT_OF_TIME, test, f"rows of '{split.time_column}' {start}{gap}")]
    if len(sample):
        text = f"a random {split.sample_share:.0%} of the training period, kept from the search"
        holdouts.append(Holdout(OUT_OF_SAMPLE, sample, text))
    return holdouts


def evaluate_candidates(
    bundles: Mapping[str, ModelBundle],
    best: str,
    holdouts: Sequence[Holdout],
    train: pd.DataFrame,
    spec: ProjectSpec,
    progress: Callable[[str], None] = lambda message: None,
) -> dict[str, Any]:
    """Evaluate the selected model ``bundles[best]`` (and score the other candidates):
    calibrate each binary bundle and choose its decision threshold on ``train`` (set in
    its ``info``, so the bundle applies both from then on), then metrics, intervals,
    chart data and slices of the selected model on every hold-out, the candidates and
    the baseline on the gated one (``holdouts[0]``), and the selected model's
    importances. Returns JSON."""
    progress("calibrating and choosing the decision threshold")
    tunings = {kind: tune_threshold(bundle, train, spec) for kind, bundle in bundles.items()}
    for kind, tuning in tunings.items():
        if tuning is not None:
            tuning.apply(bundles[kind])
    interval = fit_interval(bundles[best], train, spec)
    if interval is not None:
        bundles[best].info["interval"] = interval
    gated = holdouts[0]
    progress(f"scoring {len(holdouts)} hold-out(s)")
    results = {h.name: evaluate_holdout(bundles[best], h, spec) for h in holdouts}
    candidates = {best: results[gated.name]["metrics"]}
    for kind, bundle in bundles.items():
        if kind != best:
            candidates[kind] = score_rows(bundle, gated.rows).metrics()
    progress("explaining the model")
    tuning = tunings[best]
    return {
        "candidates": candidates,
        "baseline": baseline_metrics(train, gated.rows, spec),
        "best": best,
        "primary_metric": spec.problem.primary_metric,
        "threshold": None if tuning is None else tuning.threshold.to_dict(),
        "calibration": None if tuning is None else tuning.calibration_report,
        "gated": gated.name,
        "holdouts": results,
        "importance": importance(bundles[best], gated.rows, spec, train),
        "interval": interval_coverage(bundles[best], gated.rows),
    }
