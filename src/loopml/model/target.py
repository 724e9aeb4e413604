"""Target transforms of a regression model (``problem.target_transform``): the estimator
learns the transformed target and the bundle maps its predictions back, so that serving,
batch scoring and every export see original units."""

from __future__ import annotations

from typing import Any

import numpy as np

from loopml.errors import DataError

TRANSFORMS = ("log",)


def forward_target(y: Any, transform: str | None, name: str) -> np.ndarray:
    """``y`` as the estimator learns it: ``log1p`` for ``log``, unchanged for None.

    Raises:
        DataError: a negative target value under ``log`` (names the column, how many, an
            example); ValueError for an unknown transform.
    """
    values = np.asarray(y, dtype=float)
    if transform is None:
        return values
    if transform != "log":
        raise ValueError(f"unknown target transform {transform!r}; known: {', '.join(TRANSFORMS)}")
    negative = values < 0
    if negative.any():
        raise DataError(
            f"problem.target_transform: log needs a target of zero or more, but "
            f"'{name}' has {int(negative.sum())} negative values (e.g. {values[negative][0]:g}); "
            "remove target_transform or fix those rows"
        )
    return np.asarray(np.log1p(values), dtype=float)


def inverse_target(predictions: Any, transform: str | None) -> np.ndarray:
    """Predictions of the transformed target in original units (``expm1`` for ``log``)."""
    values = np.asarray(predictions, dtype=float)
    if transform is None:
        return values
    if transform != "log":
        raise ValueError(f"unknown target transform {transform!r}; known: {', '.join(TRANSFORMS)}")
    return np.asarray(np.expm1(values), dtype=float)


def interval_bounds(
    predictions: Any, interval: dict[str, Any] | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """The prediction interval around regression ``predictions`` (original units) from
    ``info["interval"]``: ``halfwidth`` is the conformal quantile of out-of-fold absolute
    residuals, in original units (``scale: original``) or of log1p values (``scale:
    log``, for a log target: the bounds are then ``expm1(log1p(p) -+ halfwidth)``).
    None when the bundle has no interval."""
    if not interval:
        return None
    values = np.asarray(predictions, dtype=float)
    q = float(interval["halfwidth"])
    if interval.get("scale") == "log":
        raw = np.log1p(np.maximum(values, -1.0 + 1e-12))
        return np.expm1(raw - q), np.expm1(raw + q)
    return values - q, values + q
