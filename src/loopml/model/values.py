"""Values as loopml reads them everywhere: category strings, dates, numbers and booleans
written as text. The model's cleaning step, the data stages and serving share these."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

_SAMPLE = 1000  # distinct values looked at when guessing a date format
# Tried in order on string columns; month-first before day-first (the US habit).
DATE_FORMATS = (
    "ISO8601",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%d/%m/%Y",
    "%d/%m/%y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y",
    "%d.%m.%y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
)
_DATE_LIKE = re.compile(r"^(?=.*\d)(?=.*[-/.: ])[\w\s\-/.:,+]{6,40}$")


def datetime_format(strings: pd.Series, min_share: float = 1.0) -> str | None:
    """The first of ``DATE_FORMATS`` that parses every (sampled) distinct non-null string,
    or at least ``min_share`` of them (cleaning tolerates a few bad values), or None."""
    distinct = pd.Series(strings.dropna().astype(str).unique()[:_SAMPLE])
    if distinct.empty:
        return None
    date_like = distinct.str.match(_DATE_LIKE)
    if date_like.mean() < min_share or not date_like.any():
        return None
    for fmt in DATE_FORMATS:
        if min_share >= 1.0:
            try:
                pd.to_datetime(distinct, format=fmt, errors="raise")
            except (ValueError, TypeError, OverflowError):
                continue
            return fmt
        parsed = pd.to_datetime(distinct, format=fmt, errors="coerce")
        if parsed.notna().mean() >= min_share:
            return fmt
    return None


def to_datetime(series: pd.Series, fmt: str | None = None) -> pd.Series:
    """``series`` as datetimes: strings parsed with ``fmt`` (guessed when None);
    values that do not parse become NaT."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    strings = series.astype("object").where(series.notna(), None)
    fmt = fmt or datetime_format(series.dropna().astype(str))
    return pd.to_datetime(strings, format=fmt or "mixed", errors="coerce")


def category_strings(series: pd.Series) -> pd.Series:
    """Values as the strings categories are stored as: ``1.0`` and ``1`` are both ``"1"``,
    booleans ``"True"``/``"False"``; missing values stay missing (an object Series)."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):
        return series.astype("object")
    is_int = pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if is_int and not series.hasnans:
        return pd.Series(series.to_numpy().astype(str), index=series.index, dtype=object)
    return series.astype("object").map(category_string, na_action="ignore")


def category_string(value: object) -> str:
    """One value as a category string (see ``category_strings``)."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.generic):
        return str(value.item())
    return str(value)
