"""Values as loopml reads them everywhere: category strings, dates, numbers and booleans
written as text. The model's cleaning step, the data stages and serving share these."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

_SAMPLE = 1000  # distinct values looked at when guessing a date format
_NULL_TOKENS = {"", "na", "n/a", "nan", "null", "none", "-", "?", "missing"}
BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False, "t": True, "f": False}
BOOL_WORDS |= {"y": True, "n": False}
_BOOL_DIGITS = {"1": True, "0": False, "1.0": True, "0.0": False}
_CURRENCY = "$€£¥₹"
_LEADING_CURRENCY = re.compile(rf"^([+-]?)\s*[{_CURRENCY}]\s*")
_TRAILING_CURRENCY = re.compile(rf"\s*[{_CURRENCY}]$")
_COMMA_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")  # 1,234.5
_SPACE_THOUSANDS = re.compile(r"^[+-]?\d{1,3}([ \u00a0\u202f']\d{3})+([.,]\d+)?$")  # 1 234,5
_DOT_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+,\d+$")  # 1.234,5
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")  # 12,5 (three decimals read as thousands)
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


def parse_numbers(series: pd.Series) -> pd.Series:
    """Text as numbers: thousands separators (``1,234.5``, ``1 234``, ``1.234,5``),
    currency signs (``$12``, ``12 €``), percentages (``12%`` is 0.12) and accounting
    negatives (``(5)``) are understood; what does not parse becomes NaN (float64)."""
    text = series.astype("object").where(series.notna(), None).map(str, na_action="ignore")
    text = text.str.strip()
    negative = text.str.match(r"^\(.*\)$", na=False)
    text = text.where(~negative, text.str.slice(1, -1))
    percent = text.str.endswith("%", na=False)
    text = text.where(~percent, text.str.slice(0, -1).str.strip())
    text = text.str.replace(_LEADING_CURRENCY, r"\1", regex=True)
    text = text.str.replace(_TRAILING_CURRENCY, "", regex=True)
    comma = text.str.match(_COMMA_THOUSANDS, na=False)
    text = text.where(~comma, text.str.replace(",", "", regex=False))
    space = text.str.match(_SPACE_THOUSANDS, na=False)
    spaced = text.str.replace(r"[ \u00a0\u202f']", "", regex=True).str.replace(",", ".")
    text = text.where(~space, spaced)
    dots = text.str.match(_DOT_THOUSANDS, na=False)
    text = text.where(~dots, text.str.replace(".", "", regex=False).str.replace(",", "."))
    decimal_comma = text.str.match(_DECIMAL_COMMA, na=False)
    text = text.where(~decimal_comma, text.str.replace(",", ".", regex=False))
    numbers = pd.to_numeric(text, errors="coerce").astype(float)
    numbers = numbers.where(~percent, numbers / 100.0)
    return numbers.where(~negative, -numbers.abs())


_PARENS = re.compile(r"^\(.*\)$")
_SEPARATORS = re.compile(r"[ \u00a0\u202f']")
_PLAIN_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")  # ASCII digits


def parse_number(value: Any) -> float:
    """One value as ``parse_numbers`` reads it (the same rules, in the same order, without
    pandas: a few values cost microseconds instead of milliseconds); NaN when it does not
    parse or is missing. Python numbers are taken as they are."""
    if value is None or (type(value) is float and math.isnan(value)):
        return math.nan
    if type(value) is int or type(value) is float:
        return float(value)
    text = str(value).strip()
    negative = _PARENS.match(text) is not None
    if negative:
        text = text[1:-1]
    percent = text.endswith("%")
    if percent:
        text = text[:-1].strip()
    text = _TRAILING_CURRENCY.sub("", _LEADING_CURRENCY.sub(r"\1", text))
    if _COMMA_THOUSANDS.match(text):
        text = text.replace(",", "")
    if _SPACE_THOUSANDS.match(text):
        text = _SEPARATORS.sub("", text).replace(",", ".")
    if _DOT_THOUSANDS.match(text):
        text = text.replace(".", "").replace(",", ".")
    if _DECIMAL_COMMA.match(text):
        text = text.replace(",", ".")
    if _PLAIN_NUMBER.match(text):
        number = float(text)
    else:  # the rare spellings pandas reads (inf, ...): ask pandas
        number = float(pd.to_numeric(pd.Series([text], dtype=object), errors="coerce").iloc[0])
    if percent:
        number = number / 100.0
    return -abs(number) if negative else number


def parse_boolean(value: Any, *, digits: bool = True) -> bool | None:
    """One value as ``parse_booleans`` reads it; None when it is not a boolean word."""
    if value is None or (type(value) is float and math.isnan(value)):
        return None
    word = str(value).strip().lower()
    found = BOOL_WORDS.get(word)
    return _BOOL_DIGITS.get(word) if found is None and digits else found


def is_missing(value: Any) -> bool:
    """None or NaN: what scikit-learn's imputers and encoders treat as missing."""
    return value is None or (type(value) is float and math.isnan(value))


def is_null_token(value: Any) -> bool:
    """Missing, or text that means missing (``""``, ``n/a``, ``-``, ...)."""
    if value is None or (type(value) is float and math.isnan(value)):
        return True
    return isinstance(value, str) and value.strip().lower() in _NULL_TOKENS


def parse_booleans(series: pd.Series, *, digits: bool = True) -> pd.Series:
    """Words like true/false, yes/no, t/f, y/n (and 1/0 when ``digits``) as a nullable
    boolean Series; other values become missing."""
    words = dict(BOOL_WORDS, **(_BOOL_DIGITS if digits else {}))
    text = series.astype("object").map(lambda v: str(v).strip().lower(), na_action="ignore")
    return text.map(words).astype("boolean")


def blank_nulls(series: pd.Series) -> pd.Series:
    """``series`` as objects, with null tokens (``""``, ``n/a``, ``-``, ...) missing."""
    values = series.astype("object").where(series.notna(), None)
    tokens = values.map(lambda v: isinstance(v, str) and v.strip().lower() in _NULL_TOKENS)
    return values.where(~tokens.astype(bool), None)


def is_text(series: pd.Series) -> bool:
    if isinstance(series.dtype, pd.StringDtype):
        return True
    if not pd.api.types.is_object_dtype(series.dtype):
        return False
    values = series.dropna()
    return bool(len(values)) and bool(values.map(type).isin([str]).all())
