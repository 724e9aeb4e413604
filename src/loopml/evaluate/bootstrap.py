"""Bootstrap confidence intervals of hold-out metrics, vectorised.

Each resample is a row of counts (how often each hold-out row was drawn), so every metric
is a weighted sum over the rows, computed for all resamples at once with numpy: ROC AUC
and average precision from the rows sorted once by score, with ties grouped. With one
resample of all-ones counts each scorer gives the plain metric on the hold-out.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Intervals = dict[str, tuple[float, float]]
_EPS = 1e-15
ERROR_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def resample_counts(n: int, samples: int, seed: int) -> np.ndarray:
    """``samples`` x ``n`` counts: row b says how often resample b drew each row."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(samples, n))
    offsets = (np.arange(samples) * n)[:, None]
    return np.bincount((draws + offsets).ravel(), minlength=samples * n).reshape(samples, n)


def binary_scores(
    truth: np.ndarray, proba: np.ndarray, threshold: float, weights: np.ndarray
) -> dict[str, np.ndarray]:
    """Each binary metric per row of ``weights`` (resamples x rows): the labels at
    ``threshold`` and the probabilities ``proba`` of the positive class against 0/1
    ``truth``. A metric that a resample cannot define (one class) is NaN there."""
    t = truth.astype(float)
    w = weights.astype(float)
    guess = (proba >= threshold).astype(float)
    n = w.sum(axis=1)
    pos, neg = w @ t, w @ (1 - t)
    tp, fp = w @ (t * guess), w @ ((1 - t) * guess)
    fn, tn = pos - tp, neg - fp
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(pos > 0, tp / pos, 0.0)
        specificity = np.where(neg > 0, tn / neg, 0.0)
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
    p = np.clip(proba, _EPS, 1 - _EPS)
    loss = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    out = {
        "accuracy": (tp + tn) / n,
        "balanced_accuracy": _balanced(recall, specificity, pos, neg),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "log_loss": (w @ loss) / n,
        "brier": (w @ (proba - t) ** 2) / n,
    }
    out.update(_ranking(t, proba, w, pos, neg))
    return out


def _balanced(
    recall: np.ndarray, specificity: np.ndarray, pos: np.ndarray, neg: np.ndarray
) -> np.ndarray:
    # sklearn averages the recall of the classes present
    both = (recall + specificity) / 2
    return np.where((pos > 0) & (neg > 0), both, np.where(pos > 0, recall, specificity))


def _ranking(
    t: np.ndarray, proba: np.ndarray, w: np.ndarray, pos: np.ndarray, neg: np.ndarray
) -> dict[str, np.ndarray]:
    """ROC AUC and average precision per resample, from rows sorted once by score."""
    order = np.argsort(proba, kind="stable")
    scores = proba[order]
    starts = np.flatnonzero(np.r_[True, scores[1:] != scores[:-1]])
    wp = np.add.reduceat(w[:, order] * t[order], starts, axis=1)  # positives per score
    wn = np.add.reduceat(w[:, order] * (1 - t[order]), starts, axis=1)
    below = np.cumsum(wn, axis=1) - wn
    both = (pos > 0) & (neg > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (wp * (below + 0.5 * wn)).sum(axis=1) / (pos * neg)
        # average precision: descending scores, precision at each distinct score
        tp_desc = np.cumsum(wp[:, ::-1], axis=1)
        fp_desc = np.cumsum(wn[:, ::-1], axis=1)
        precision = tp_desc / (tp_desc + fp_desc)
        ap = np.nansum(wp[:, ::-1] * precision, axis=1) / pos
    return {"roc_auc": np.where(both, auc, np.nan), "pr_auc": np.where(both, ap, np.nan)}


def regression_scores(
    y: np.ndarray, guess: np.ndarray, weights: np.ndarray
) -> dict[str, np.ndarray]:
    """rmse, mae, r2, mape (over rows whose target is not 0) per row of ``weights``."""
    w = weights.astype(float)
    error = y - guess
    n = w.sum(axis=1)
    mean_y = (w @ y) / n
    sst = w @ y**2 - n * mean_y**2
    sse = w @ error**2
    nonzero = y != 0
    ratio = np.where(nonzero, np.abs(error) / np.where(nonzero, np.abs(y), 1.0), 0.0)
    nz = w @ nonzero.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "rmse": np.sqrt(sse / n),
            "mae": (w @ np.abs(error)) / n,
            "r2": np.where(sst > 0, 1 - sse / sst, np.nan),
            "mape": np.where(nz > 0, (w @ ratio) / nz, np.nan),
        }


def multiclass_scores(
    truth: np.ndarray, guess: np.ndarray, proba: np.ndarray, weights: np.ndarray
) -> dict[str, np.ndarray]:
    """accuracy, balanced_accuracy, macro f1 and log_loss per row of ``weights``;
    ``truth`` and ``guess`` are class codes 0..k-1 (``truth`` -1 for a class the model
    never saw: it counts as wrong and leaves log_loss out)."""
    w = weights.astype(float)
    k = proba.shape[1]
    T = (truth[:, None] == np.arange(k)).astype(float)
    G = (guess[:, None] == np.arange(k)).astype(float)
    n = w.sum(axis=1)
    tp, support, predicted = w @ (T * G), w @ T, w @ G
    present = support > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(present, tp / support, 0.0)
        f1 = np.where(support + predicted > 0, 2 * tp / (support + predicted), 0.0)
        labels = present | (predicted > 0)
        out = {
            "accuracy": tp.sum(axis=1) / n,
            "balanced_accuracy": recall.sum(axis=1) / present.sum(axis=1),
            "f1": (f1 * labels).sum(axis=1) / labels.sum(axis=1),
        }
    if (truth >= 0).all():
        p = np.clip(proba / proba.sum(axis=1, keepdims=True), _EPS, 1 - _EPS)
        out["log_loss"] = (w @ -np.log(p[np.arange(len(truth)), truth])) / n
    return out


def intervals(scores: dict[str, np.ndarray], confidence: float) -> Intervals:
    """The percentile interval of each metric over the resamples (NaNs left out)."""
    tail = (1 - confidence) / 2 * 100
    out: Intervals = {}
    for name, values in scores.items():
        finite = values[np.isfinite(values)]
        if len(finite) >= 2:
            low, high = np.percentile(finite, [tail, 100 - tail])
            out[name] = (float(low), float(high))
    return out


def bootstrap(
    scorer: Callable[[np.ndarray], dict[str, np.ndarray]],
    n: int,
    *,
    samples: int,
    confidence: float,
    seed: int,
    chunk: int = 50,
) -> Intervals:
    """Confidence intervals of the metrics ``scorer(weights)`` returns, over ``samples``
    resamples of ``n`` rows (scored ``chunk`` resamples at a time to bound memory)."""
    if samples < 2 or n < 2:
        return {}
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, samples, chunk):
        counts = resample_counts(n, min(chunk, samples - start), seed + start)
        for name, values in scorer(counts).items():
            parts.setdefault(name, []).append(values)
    return intervals({k: np.concatenate(v) for k, v in parts.items()}, confidence)


def error_quantiles(
    error: np.ndarray, quantiles: tuple[float, ...] = ERROR_QUANTILES
) -> dict[str, float]:
    """Quantiles of the error (truth - prediction), named ``error_q05`` ... ``error_q95``."""
    values = np.quantile(error, quantiles)
    return {
        f"error_q{round(q * 100):02d}": float(v) for q, v in zip(quantiles, values, strict=True)
    }
