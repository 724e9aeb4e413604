"""Calibrate a binary classifier's probabilities: fit (centred) isotonic regression or
Platt scaling on out-of-fold scores of the training part and keep the result as plain
data, which ``ModelBundle.from_probabilities`` applies before the decision threshold."""

from __future__ import annotations

from typing import Any

import numpy as np

from loopml.model.bundle import PLATT_EPS

ISOTONIC_MIN_ROWS = 1000  # auto picks isotonic with at least this many scored rows ...
ISOTONIC_MIN_CLASS = 50  # ... and at least this many of each class; else Platt
METHODS = ("auto", "isotonic", "platt", "none")


def choose_method(truth: np.ndarray, method: str = "auto") -> str:
    """``method`` itself, or for ``auto``: isotonic when there are at least
    ``ISOTONIC_MIN_ROWS`` rows with ``ISOTONIC_MIN_CLASS`` of each class, else Platt.

    Raises:
        ValueError: an unknown method.
    """
    if method not in METHODS:
        raise ValueError(f"unknown calibration method {method!r}; use one of {METHODS}")
    if method != "auto":
        return method
    positives = int(np.sum(truth))
    enough = min(positives, len(truth) - positives) >= ISOTONIC_MIN_CLASS
    return "isotonic" if len(truth) >= ISOTONIC_MIN_ROWS and enough else "platt"


def fit_calibration(truth: np.ndarray, proba: np.ndarray, method: str) -> dict[str, Any] | None:
    """A calibrator of ``proba`` (positive-class probabilities) against ``truth`` (0/1) as
    JSON-ready data for ``loopml.model.bundle.calibrate``; None for ``none``, for rows of
    a single class, and for a Platt fit that would reverse the order of the scores.

    Raises:
        ValueError: an unknown method, or ``truth`` and ``proba`` of different lengths.
    """
    if len(truth) != len(proba):
        raise ValueError(f"calibration: {len(truth)} labels but {len(proba)} scores")
    method = choose_method(truth, method)
    if method == "none" or len(np.unique(truth)) < 2:
        return None
    if method == "isotonic":
        return _isotonic(truth, proba)
    return _platt(truth, proba)


def _isotonic(truth: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
    """Centred isotonic regression: the isotonic fit's knots moved to the middle of each
    flat block, so that interpolating between them is strictly increasing. Scores keep
    their order (no new ties, unlike the step function) and calibrate as well."""
    from sklearn.isotonic import IsotonicRegression

    fitted = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(proba, truth)
    x, y = np.asarray(fitted.X_thresholds_), np.asarray(fitted.y_thresholds_)
    values = np.unique(y)  # y is non-decreasing: one value per flat block, in order
    centres = [float(x[y == value].mean()) for value in values]
    return {"method": "isotonic", "x": centres, "y": values.tolist(), "rows": len(truth)}


def _platt(truth: np.ndarray, proba: np.ndarray) -> dict[str, Any] | None:
    from sklearn.linear_model import LogisticRegression

    p = np.clip(proba, PLATT_EPS, 1.0 - PLATT_EPS)
    logit = np.log(p / (1.0 - p)).reshape(-1, 1)
    fitted = LogisticRegression(C=1e6).fit(logit, truth)
    a, b = float(fitted.coef_[0, 0]), float(fitted.intercept_[0])
    if a <= 0.0:  # scores that rank worse than chance: do not turn them around
        return None
    return {"method": "platt", "a": a, "b": b, "rows": len(truth)}


def describe(calibration: dict[str, Any] | None, requested: str, chosen_on: str) -> dict[str, Any]:
    """What the report says of the calibration: method, what was asked, on which rows."""
    method = "none" if calibration is None else calibration["method"]
    return {"method": method, "requested": requested, "chosen_on": chosen_on}
