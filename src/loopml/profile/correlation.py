"""Correlations between numeric columns and associations between categorical ones.

Pearson runs over every row with four matrix products per block of rows; Spearman and
Cramér's V are meant for a sample (the caller picks the rows).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

CHUNK_ROWS = 1 << 18  # rows per block in the correlation matrix products


def pearson_matrix(columns: Sequence[np.ndarray]) -> np.ndarray:
    """Pearson correlations between equally long float ``columns`` (NaN missing), each
    pair over the rows where both are present, as pandas' ``DataFrame.corr`` computes them.

    Four matrix products over blocks of ``CHUNK_ROWS`` rows give, for every pair at once,
    the pairwise-complete counts, sums, sums of squares and cross products (of values
    shifted by a rough centre, for precision). A pair with fewer than 3 common rows or a
    constant column has NaN.
    """
    k = len(columns)
    rows = columns[0].size if k else 0
    n, sums, squares, products = (np.zeros((k, k)) for _ in range(4))
    centre = np.zeros(k)
    for start in range(0, rows, CHUNK_ROWS):
        block = np.column_stack([c[start : start + CHUNK_ROWS] for c in columns])
        if start == 0:
            with np.errstate(invalid="ignore"):
                centre = np.nan_to_num(np.nanmean(block, axis=0)) if block.size else centre
        block -= centre
        present = ~np.isnan(block)
        weight = present.astype(np.float64)
        z = np.where(present, block, 0.0)
        n += weight.T @ weight
        sums += z.T @ weight  # [i, j]: sum of column i over the rows where j is present
        squares += (z * z).T @ weight
        products += z.T @ z
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = products - sums * sums.T / n
        var_i = squares - sums**2 / n
        corr = cov / np.sqrt(var_i * var_i.T)
        tiny = 1e-12 * np.maximum(np.abs(squares), 1.0)
        corr[(n < 3) | (var_i <= tiny) | (var_i.T <= tiny.T)] = np.nan
    return np.clip(corr, -1.0, 1.0)


def spearman_matrix(columns: Sequence[np.ndarray]) -> np.ndarray:
    """Spearman correlations: Pearson over the ranks of each column (ties averaged).

    Ranks are taken over each column's present values, so with missing values this is an
    approximation of ranking each pair's common rows."""
    frame = pd.DataFrame({i: c for i, c in enumerate(columns)})
    ranks = frame.rank(method="average").to_numpy(dtype=np.float64)
    return pearson_matrix([ranks[:, i] for i in range(ranks.shape[1])])


def cramers_v(a: np.ndarray, b: np.ndarray, size_a: int, size_b: int) -> float:
    """Bias-corrected Cramér's V between two code arrays (``-1`` missing), 0 to 1."""
    keep = (a >= 0) & (b >= 0)
    n = int(keep.sum())
    if n < 2:
        return float("nan")
    table = np.bincount(a[keep] * size_b + b[keep], minlength=size_a * size_b).astype(float)
    table = table.reshape(size_a, size_b)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    rows, cols = table.shape
    if rows < 2 or cols < 2:
        return float("nan")
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    phi2 = max(0.0, chi2 / n - (rows - 1) * (cols - 1) / (n - 1))
    rows_c = rows - (rows - 1) ** 2 / (n - 1)
    cols_c = cols - (cols - 1) ** 2 / (n - 1)
    denominator = min(rows_c - 1, cols_c - 1)
    return float(np.sqrt(phi2 / denominator)) if denominator > 0 else float("nan")
