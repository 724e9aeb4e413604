"""The drift statistics, vectorised with numpy over counts, bin sums and sorted values.

- ``psi``: population stability index of two count vectors over the same bins.
- ``js_distance``: Jensen-Shannon distance (square root of the divergence, base 2), 0..1.
- ``chisquare_pvalue``: chi-square test of homogeneity of two count vectors, with the
  levels whose expected count is below ``MIN_EXPECTED`` merged into one bin first (one
  odd value in a level the reference never had is not "infinitely unlikely").
- ``ks_test``: two-sample Kolmogorov-Smirnov statistic and asymptotic p-value from a
  sorted reference and the current values (sort-based, float32 is enough).
- ``wasserstein_binned``: first Wasserstein distance between two samples each summarised
  by counts and value sums over the same bins: every bin becomes one atom at its mean,
  so the error is at most the spread of values inside a bin (the bins are the
  reference's percentiles) and the same numbers come out in memory or streamed.
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-4
MIN_EXPECTED = 5.0  # chi-square: levels expected fewer times than this are pooled


def psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """PSI of two count vectors over the same bins (shares floored at ``EPSILON``)."""
    ref = np.maximum(reference_counts / max(reference_counts.sum(), 1), EPSILON)
    cur = np.maximum(current_counts / max(current_counts.sum(), 1), EPSILON)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def js_distance(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Jensen-Shannon distance in base 2: 0 for equal shares, 1 for disjoint ones."""
    p = reference_counts / max(reference_counts.sum(), 1)
    q = current_counts / max(current_counts.sum(), 1)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0)
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0)
    divergence = max(float(kl_p.sum() + kl_q.sum()) / 2, 0.0)
    return float(np.sqrt(min(divergence, 1.0)))


def chisquare_pvalue(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """p-value of the chi-square test that both count vectors share one distribution."""
    from scipy.stats import chi2

    table = np.vstack([reference_counts, current_counts]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 1.0
    table = pool_rare_levels(table)
    if table.shape[1] < 2:
        return 1.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return float(chi2.sf(statistic, table.shape[1] - 1))


def pool_rare_levels(table: np.ndarray, min_expected: float = MIN_EXPECTED) -> np.ndarray:
    """``table`` (2 rows of counts, one column per level) with the levels whose smaller
    expected count is below ``min_expected`` summed into one column; while that pooled
    column is still too small, the next rarest level joins it."""
    row_share = table.sum(axis=1, keepdims=True) / table.sum()
    smallest = (row_share * table.sum(axis=0)).min(axis=0)
    order = np.argsort(smallest, kind="stable")
    rare = int(np.count_nonzero(smallest < min_expected))
    if rare == 0:
        return table
    pooled = table[:, order[:rare]].sum(axis=1)
    rest = list(order[rare:])
    while rest and (row_share[:, 0] * pooled.sum()).min() < min_expected:
        pooled = pooled + table[:, rest.pop(0)]
    return np.column_stack([table[:, rest], pooled]) if rest else pooled[:, None]


def ks_test(reference_sorted: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """KS statistic and p-value; ``reference_sorted`` is sorted, neither holds NaN."""
    from scipy.stats import kstwo

    n, m = reference_sorted.size, current.size
    if n == 0 or m == 0:
        return 0.0, 1.0
    current_sorted = np.sort(current)
    points = np.concatenate([reference_sorted, current_sorted])
    cdf_ref = np.searchsorted(reference_sorted, points, side="right") / n
    cdf_cur = np.searchsorted(current_sorted, points, side="right") / m
    statistic = float(np.max(np.abs(cdf_ref - cdf_cur)))
    effective = max(round(n * m / (n + m)), 1)
    return statistic, float(min(max(kstwo.sf(statistic, effective), 0.0), 1.0))


def ordered_ks(reference_counts: np.ndarray, current_counts: np.ndarray) -> tuple[float, float]:
    """KS statistic and p-value of two count vectors over ordered levels (the largest gap
    between their cumulative shares); the asymptotic p-value, conservative for ties."""
    from scipy.stats import kstwo

    n, m = float(reference_counts.sum()), float(current_counts.sum())
    if n == 0 or m == 0:
        return 0.0, 1.0
    gap = np.abs(np.cumsum(reference_counts) / n - np.cumsum(current_counts) / m)
    statistic = float(gap.max())
    effective = max(round(n * m / (n + m)), 1)
    return statistic, float(min(max(kstwo.sf(statistic, effective), 0.0), 1.0))


def ordered_wasserstein(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """W1 between two count vectors over ordered levels ``0, 1, ...`` (in rank steps),
    divided by the standard deviation of the reference's ranks (1 when it is 0)."""
    n, m = float(reference_counts.sum()), float(current_counts.sum())
    if n == 0 or m == 0:
        return 0.0
    ref, cur = reference_counts / n, current_counts / m
    distance = float(np.abs(np.cumsum(ref) - np.cumsum(cur))[:-1].sum())
    ranks = np.arange(ref.size, dtype=np.float64)
    std = float(np.sqrt(np.dot(ref, (ranks - np.dot(ref, ranks)) ** 2)))
    return distance / std if std > 0 else distance


def wasserstein_binned(
    reference_counts: np.ndarray,
    reference_sums: np.ndarray,
    current_counts: np.ndarray,
    current_sums: np.ndarray,
) -> float:
    """W1 between two binned samples, each bin an atom at the mean of its values."""
    ref_w = reference_counts / max(reference_counts.sum(), 1)
    cur_w = current_counts / max(current_counts.sum(), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ref_x = np.where(reference_counts > 0, reference_sums / reference_counts, np.nan)
        cur_x = np.where(current_counts > 0, current_sums / current_counts, np.nan)
    x = np.concatenate([ref_x[reference_counts > 0], cur_x[current_counts > 0]])
    w = np.concatenate([ref_w[reference_counts > 0], -cur_w[current_counts > 0]])
    if x.size == 0:
        return 0.0
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cdf_gap = np.cumsum(w)[:-1]
    return float(np.sum(np.abs(cdf_gap) * np.diff(x)))
