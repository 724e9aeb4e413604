"""User feature functions for the tests, imported by path as ``tests.features.custom_funcs``."""

from __future__ import annotations

import numpy as np
import pandas as pd


def add_one(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column plus one, under the name ``<column>_plus_one``."""
    out = frame.apply(pd.to_numeric, errors="coerce") + 1
    return out.rename(columns=lambda c: f"{c}_plus_one")


def product(frame: pd.DataFrame) -> np.ndarray:
    """The row-wise product of the columns, as a 1-D array."""
    return frame.apply(pd.to_numeric, errors="coerce").prod(axis=1, skipna=False).to_numpy()


def wrong_rows(frame: pd.DataFrame) -> np.ndarray:
    return np.zeros(len(frame) + 1)


NOT_A_FUNCTION = 3
