"""The target: its balance, how strongly each feature alone predicts it, and each
feature's target rate (classification) or mean target (regression) per bin or category.

Scores are measured out of fold on a sample: a feature's rows are binned (quantile bins
for numbers and dates, categories as they are), the target rate or mean of each bin is
learnt on one half of the rows and scored on the other, and the other way round. A
feature that only memorises rows (an identifier, a free text) therefore scores as chance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from loopml.data.infer import positive_class
from loopml.domain import ColumnKind
from loopml.model.values import category_strings
from loopml.profile.stats import ColumnArrays

SCORE_BINS = 20  # quantile bins of a numeric feature when scoring it
RELATION_BINS = 12  # quantile bins of a numeric feature in its chart against the target
MAX_CLASSES_SHOWN = 8  # classes drawn against a feature (multiclass), most frequent first
MIN_SCORE_ROWS = 30  # fewer rows with a target than this are not scored
MAX_SCORE_BINS = 1000  # categories of a feature scored apart; rarer ones share a bin
MAX_SCORED_CLASSES = 50  # a target with more classes is not scored (is it an id?)
_SMOOTHING = 10.0  # rows of prior mixed into each bin's rate or mean
_SCORED_KINDS = (
    ColumnKind.NUMERIC,
    ColumnKind.BOOLEAN,
    ColumnKind.CATEGORICAL,
    ColumnKind.ORDINAL,
)
_BINNED_KINDS = (ColumnKind.NUMERIC, ColumnKind.BOOLEAN, ColumnKind.DATETIME)


@dataclass
class TargetArrays:
    """The target as arrays (internal): ``y`` holds class codes (``-1`` missing) for
    classification, floats (NaN missing) for regression; ``positive`` indexes the positive
    class of a binary target."""

    name: str
    task: str
    y: np.ndarray
    classes: tuple[str, ...] = ()
    positive: int | None = None

    @property
    def known(self) -> np.ndarray:
        return self.y >= 0 if self.task == "classification" else ~np.isnan(self.y)


@dataclass(frozen=True)
class TargetSummary:
    """Rows per class (classification, most frequent first) and the positive class of a
    binary target; missing counts the rows without a target."""

    name: str
    task: str
    missing: int
    classes: tuple[tuple[str, int], ...] = ()
    positive_class: str | None = None


@dataclass(frozen=True)
class FeatureScore:
    """How well ``column`` alone predicts the target, out of fold on ``rows`` rows.

    ``metric`` is ``roc_auc`` (binary: 0.5 is chance, 1 perfect; multiclass: the mean
    one-vs-rest AUC weighted by class share) or ``r`` (regression: the correlation between
    the target and its prediction from the feature, 0 to 1). ``lift`` is the score above
    chance on a common 0-to-1 scale.
    """

    column: str
    metric: str
    score: float
    rows: int

    @property
    def lift(self) -> float:
        return max(0.0, 2 * (self.score - 0.5)) if self.metric == "roc_auc" else self.score


@dataclass(frozen=True)
class TargetRelation:
    """The target against one feature: a label, row count and value per bin or category.

    ``series`` holds ``(name, values)`` pairs: the share of the positive class (binary),
    the share of each class (multiclass) or the mean target (regression), per bin; a value
    is None where a bin has no row with a target. ``ordered`` is True for bins of numbers
    or dates (in order), False for categories (most frequent first)."""

    feature: str
    labels: tuple[str, ...]
    counts: tuple[int, ...]
    series: tuple[tuple[str, tuple[float | None, ...]], ...]
    ordered: bool = True


def target_arrays(series: pd.Series, task: str) -> TargetArrays:
    """The target column as ``TargetArrays`` for ``task``."""
    name = str(series.name)
    if task == "regression":
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return TargetArrays(name, task, values)
    codes, uniques = pd.factorize(series)
    classes = tuple(category_strings(pd.Series(np.asarray(uniques, dtype=object))).astype(str))
    positive = None
    if len(classes) == 2:
        counts = np.bincount(codes[codes >= 0], minlength=2)
        label = str(positive_class(pd.Series(counts, index=list(classes))))
        positive = classes.index(label) if label in classes else 1
    return TargetArrays(name, task, codes, classes, positive)


def summarise_target(target: TargetArrays) -> TargetSummary:
    """Class counts of a classification target (none for regression)."""
    missing = int((~target.known).sum())
    if target.task != "classification":
        return TargetSummary(target.name, target.task, missing)
    counts = np.bincount(target.y[target.y >= 0], minlength=len(target.classes))
    order = np.argsort(-counts, kind="stable")
    classes = tuple((target.classes[i], int(counts[i])) for i in order)
    positive = None if target.positive is None else target.classes[target.positive]
    return TargetSummary(target.name, target.task, missing, classes, positive)


def feature_scores(
    features: Sequence[ColumnArrays], target: TargetArrays, rows: np.ndarray, seed: int = 0
) -> list[FeatureScore]:
    """The out-of-fold score of each numeric, boolean and categorical feature on ``rows``
    (those with a target), best first; empty when fewer than ``MIN_SCORE_ROWS`` rows, or
    a classification target has one class or more than ``MAX_SCORED_CLASSES``."""
    rows = rows[target.known[rows]]
    if rows.size < MIN_SCORE_ROWS:
        return []
    y = target.y[rows]
    if target.task == "classification" and not 2 <= np.unique(y).size <= MAX_SCORED_CLASSES:
        return []
    fold = np.random.default_rng(seed).integers(0, 2, rows.size)
    scores = []
    for col in features:
        if col.kind not in _SCORED_KINDS:
            continue
        bins = _score_bins(col, rows)
        if target.task == "classification":
            score = _classification_score(bins, y, len(target.classes), fold, target.positive)
            if col.values is not None and target.positive is not None:
                score = max(score, _raw_auc(col.values[rows], y == target.positive))
            metric = "roc_auc"
        else:
            score = _regression_score(bins, y, fold)
            if col.values is not None:
                score = max(score, _abs_pearson(col.values[rows], y))
            metric = "r"
        scores.append(FeatureScore(col.name, metric, float(score), int(rows.size)))
    return sorted(scores, key=lambda s: -s.lift)


def _score_bins(col: ColumnArrays, rows: np.ndarray) -> np.ndarray:
    """Bin numbers 0..b-1 of the sampled rows: quantile bins or categories; missing is
    a bin of its own."""
    if col.kind in _BINNED_KINDS and col.values is not None:
        values = col.values[rows]
        if values.dtype.kind == "M":
            values = np.where(np.isnat(values), np.nan, values.view(np.int64).astype(float))
        present = ~np.isnan(values)
        if not present.any():
            return np.zeros(rows.size, dtype=np.intp)
        edges = np.unique(np.quantile(values[present], np.linspace(0, 1, SCORE_BINS + 1)[1:-1]))
        bins = np.searchsorted(edges, values, "right")
        return np.where(present, bins, edges.size + 1)
    bins = pd.factorize(col.appearance_codes()[rows])[0]
    if bins.max() >= MAX_SCORE_BINS:  # rare categories share one bin
        counts = np.bincount(bins)
        keep = np.argsort(-counts, kind="stable")[: MAX_SCORE_BINS - 1]
        slot = np.full(counts.size, MAX_SCORE_BINS - 1)
        slot[keep] = np.arange(keep.size)
        bins = slot[bins]
    return bins


def _classification_score(
    bins: np.ndarray, y: np.ndarray, n_classes: int, fold: np.ndarray, positive: int | None
) -> float:
    """Out-of-fold ROC AUC of the per-bin share of the positive class (binary) or the
    class-share-weighted mean of the one-vs-rest AUCs (multiclass)."""
    n_bins = int(bins.max()) + 1
    prior = np.bincount(y, minlength=n_classes) / y.size
    groups = fold * n_bins + bins
    # rows per (fold, bin, class); the prediction of a fold comes from the other fold
    table = np.bincount(groups * n_classes + y, minlength=2 * n_bins * n_classes)
    table = table.reshape(2, n_bins, n_classes).astype(float)
    learnt = table[::-1]
    shares = (learnt + _SMOOTHING * prior) / (learnt.sum(axis=2, keepdims=True) + _SMOOTHING)
    shares, table = shares.reshape(-1, n_classes), table.reshape(-1, n_classes)
    classes = range(n_classes) if positive is None else [positive]
    total, weight = 0.0, 0.0
    for k in classes:
        positives = table[:, k]
        negatives = table.sum(axis=1) - positives
        if positives.sum() == 0 or negatives.sum() == 0:
            continue
        share = 1.0 if positive is not None else prior[k]
        total += share * _auc(shares[:, k], positives, negatives)
        weight += share
    return total / weight if weight else 0.5


def _regression_score(bins: np.ndarray, y: np.ndarray, fold: np.ndarray) -> float:
    """The correlation of ``y`` with its out-of-fold mean per bin (sqrt of the R²)."""
    n_bins = int(bins.max()) + 1
    groups = fold * n_bins + bins
    counts = np.bincount(groups, minlength=2 * n_bins).reshape(2, n_bins).astype(float)
    sums = np.bincount(groups, weights=y, minlength=2 * n_bins).reshape(2, n_bins)
    squares = np.bincount(groups, weights=y * y, minlength=2 * n_bins).reshape(2, n_bins)
    mean = float(y.mean())
    predicted = (sums[::-1] + _SMOOTHING * mean) / (counts[::-1] + _SMOOTHING)
    sse = float((squares - 2 * predicted * sums + counts * predicted**2).sum())
    sst = float(((y - mean) ** 2).sum())
    return float(np.sqrt(max(0.0, 1 - sse / sst))) if sst > 0 else 0.0


def _auc(scores: np.ndarray, positives: np.ndarray, negatives: np.ndarray) -> float:
    """ROC AUC from scores with positive and negative weights per score; ties count half."""
    values, inverse = np.unique(scores, return_inverse=True)
    pos = np.bincount(inverse, weights=positives, minlength=values.size)
    neg = np.bincount(inverse, weights=negatives, minlength=values.size)
    below = np.cumsum(neg) - neg
    denominator = pos.sum() * neg.sum()
    return float((pos * (below + 0.5 * neg)).sum() / denominator) if denominator else 0.5


def _raw_auc(values: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC of a feature's own values, in whichever direction is better."""
    if values.dtype.kind == "M":
        return 0.5
    present = ~np.isnan(values)
    if present.sum() < MIN_SCORE_ROWS:
        return 0.5
    pos = positive[present].astype(float)
    auc = _auc(values[present], pos, 1.0 - pos)
    return max(auc, 1.0 - auc)


def _abs_pearson(values: np.ndarray, y: np.ndarray) -> float:
    if values.dtype.kind == "M":
        return 0.0
    present = ~np.isnan(values)
    if present.sum() < MIN_SCORE_ROWS:
        return 0.0
    x, t = values[present], y[present]
    if x.std() == 0 or t.std() == 0:
        return 0.0
    return float(abs(np.corrcoef(x, t)[0, 1]))


def target_relation(
    col: ColumnArrays, target: TargetArrays, sample: np.ndarray
) -> TargetRelation | None:
    """The target per bin (numbers, dates: quantile edges taken on ``sample``) or per
    category (the most frequent ones, the rest as ``other``) of ``col``, over all rows."""
    bins, labels = _relation_bins(col, sample)
    if bins is None:
        return None
    n_bins = len(labels)
    known = target.known
    counts = np.bincount(bins, minlength=n_bins)
    with_target = np.bincount(bins[known], minlength=n_bins).astype(float)
    series: list[tuple[str, tuple[float | None, ...]]] = []
    if target.task == "regression":
        sums = np.bincount(bins[known], weights=target.y[known], minlength=n_bins)
        series.append((f"mean {target.name}", _ratios(sums, with_target)))
    else:
        class_counts = np.bincount(target.y[known], minlength=len(target.classes))
        if target.positive is not None:
            shown = [target.positive]
        else:
            shown = list(np.argsort(-class_counts, kind="stable")[:MAX_CLASSES_SHOWN])
        for k in shown:
            hits = np.bincount(bins[known & (target.y == k)], minlength=n_bins).astype(float)
            series.append((f"share {target.classes[k]}", _ratios(hits, with_target)))
    keep = counts > 0
    return TargetRelation(
        feature=col.name,
        labels=tuple(label for label, kept in zip(labels, keep, strict=True) if kept),
        counts=tuple(int(c) for c in counts[keep]),
        ordered=col.kind is not ColumnKind.CATEGORICAL,
        series=tuple(
            (name, tuple(v for v, k in zip(vals, keep, strict=True) if k)) for name, vals in series
        ),
    )


def format_number(value: float) -> str:
    """A number for people: integers whole, others to 3 significant digits."""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}" if abs(value) >= 1e4 else f"{int(value)}"
    if abs(value) >= 1e3:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _label(value: float, kind: ColumnKind) -> str:
    """A bin edge as a chart label: a number to 3 significant digits, a date as its day."""
    if not np.isfinite(value):
        return "-inf" if value < 0 else "inf"
    if kind is ColumnKind.DATETIME:
        return str(np.datetime64(int(value), "ns").astype("datetime64[D]"))
    return format_number(value)


def _relation_bins(col: ColumnArrays, sample: np.ndarray) -> tuple[np.ndarray | None, list[str]]:
    if col.kind in _BINNED_KINDS and col.values is not None and col.kind is not ColumnKind.BOOLEAN:
        values = col.values
        if values.dtype.kind == "M":
            values = np.where(col.missing, np.nan, values.view(np.int64).astype(float))
        present = ~col.missing
        picked = values[sample]
        picked = picked[~np.isnan(picked)]
        if picked.size == 0:
            return None, []
        uniques = np.unique(picked)
        if uniques.size <= RELATION_BINS * 2 and col.kind is ColumnKind.NUMERIC:
            edges = uniques[1:]
            labels = [_label(v, col.kind) for v in uniques]
        else:
            qs = np.quantile(picked, np.linspace(0, 1, RELATION_BINS + 1))
            # a value that fills several quantiles (pdays' -1) gets a bin of its own
            edges, repeats = np.unique(qs[:-1], return_counts=True)
            edges = np.unique(np.r_[edges, np.nextafter(edges[repeats > 1], np.inf)])
            edges = edges[edges > qs[0]]
            labels = _range_labels(np.sort(picked), edges, col.kind)
        bins = np.searchsorted(edges, np.where(present, values, 0.0), "right")
        bins = np.where(present, bins, len(labels))
        return bins, [*labels, "missing"]
    if col.codes is None:
        return None, []
    codes = col.codes
    counts = np.bincount(codes[codes >= 0], minlength=col.n_codes)
    top = np.argsort(-counts, kind="stable")[: RELATION_BINS * 2]
    top = top[counts[top] > 0]
    if col.levels:  # an ordinal column: its levels in order
        rank = {level: i for i, level in enumerate(col.levels)}
        top = np.array(sorted(top, key=lambda i: rank.get(col.labels[i], len(rank))), np.intp)
    slot = np.full(col.n_codes + 1, top.size, dtype=np.intp)  # other
    slot[top] = np.arange(top.size)
    slot[-1] = top.size + 1  # code -1: missing
    names = col.code_labels()
    labels = [names[i] for i in top] + ["other", "missing"]
    return slot[codes], labels


def _range_labels(ordered: np.ndarray, edges: np.ndarray, kind: ColumnKind) -> list[str]:
    """A label per bin ``[edges[i-1], edges[i])``: the smallest and largest sampled value in
    it ("0", "2 to 275"), or the edges where the sample has none."""
    cuts = np.r_[0, np.searchsorted(ordered, edges, "left"), ordered.size]
    bounds = np.r_[-np.inf, edges, np.inf]
    labels = []
    for i in range(edges.size + 1):
        if cuts[i] < cuts[i + 1]:
            low, high = ordered[cuts[i]], ordered[cuts[i + 1] - 1]
        else:
            low, high = bounds[i], bounds[i + 1]
        if low == high:
            labels.append(_label(low, kind))
        elif kind is ColumnKind.DATETIME:  # a date range reads well by its first day
            labels.append(f"from {_label(low, kind)}")
        else:
            labels.append(f"{_label(low, kind)} to {_label(high, kind)}")
    return labels


def _ratios(numerator: np.ndarray, denominator: np.ndarray) -> tuple[float | None, ...]:
    return tuple(
        float(n / d) if d > 0 else None for n, d in zip(numerator, denominator, strict=True)
    )
