"""Array conversions the compiled feature transform applies inside its pipelines."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from loopml.model.values import category_strings


def to_float(X: Any) -> np.ndarray:
    """Columns as a float array; values that are not numbers become NaN."""
    frame = _frame(X)
    numbers = frame.apply(pd.to_numeric, errors="coerce")
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def to_strings(X: Any) -> np.ndarray:
    """Columns as an object array of category strings, NaN where missing (pandas 3 ``str``
    columns, numbers and booleans alike)."""
    frame = _frame(X)
    out = np.empty(frame.shape, dtype=object)
    for i in range(frame.shape[1]):
        strings = category_strings(frame.iloc[:, i])
        out[:, i] = strings.where(strings.notna(), np.nan).to_numpy(dtype=object)
    return out


def _frame(X: Any) -> pd.DataFrame:
    return X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=object))
