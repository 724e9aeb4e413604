"""Recognise ordered categories: values on a known scale, or text with a numeric prefix.

``ordinal_order`` looks at the distinct values of a column and returns them lowest first
when they all sit on one of ``KNOWN_SCALES`` (compared without case, spaces, ``-`` or
``_``: ``Very Low`` is ``very low``, ``Month-to-month`` is ``month to month``), or when
each starts with a distinct number (``"1 - poor"``, ``"2. fair"``, ``"10) top"``). At
least ``MIN_LEVELS`` values are needed: two values are no evidence of a scale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

MIN_LEVELS = 3  # fewer distinct values are no evidence of an ordered scale
MAX_LEVELS = 50  # more distinct values are not a scale someone wrote by hand

KNOWN_SCALES: tuple[tuple[str, ...], ...] = (
    ("very low", "low", "medium", "high", "very high"),
    ("very low", "low", "moderate", "high", "very high"),
    ("very poor", "poor", "fair", "good", "very good", "excellent"),
    ("fair", "good", "very good", "premium", "ideal"),  # diamonds' cut
    ("strongly disagree", "disagree", "neutral", "agree", "strongly agree"),
    (
        "strongly disagree",
        "disagree",
        "neither agree nor disagree",
        "agree",
        "strongly agree",
    ),
    ("very dissatisfied", "dissatisfied", "neutral", "satisfied", "very satisfied"),
    ("very unlikely", "unlikely", "neutral", "likely", "very likely"),
    ("never", "rarely", "sometimes", "often", "always"),
    ("none", "mild", "moderate", "severe"),
    ("beginner", "intermediate", "advanced", "expert"),
    ("xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl"),
    ("extra small", "small", "medium", "large", "extra large"),
    ("i1", "si2", "si1", "vs2", "vs1", "vvs2", "vvs1", "if"),  # diamonds' clarity
    ("month to month", "one year", "two year"),  # contract terms
)
_PREFIX = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:[-.:)=]\s*|\s+)\S")


def normalise_level(value: str) -> str:
    """A level as scales are compared: lower case, ``-``/``_`` as spaces, spaces single."""
    return " ".join(re.sub(r"[-_]+", " ", value).lower().split())


def ordinal_order(values: Iterable[str]) -> tuple[str, ...] | None:
    """The distinct ``values`` lowest first when they form an ordered scale, else None.

    Args:
        values: category strings (repeats and order do not matter).

    Returns:
        The values as written, in scale order (the first matching scale of
        ``KNOWN_SCALES``) or by their numeric prefix; None when they are fewer than
        ``MIN_LEVELS`` or more than ``MAX_LEVELS``, when two values differ only in case
        or spacing, or when no scale or prefix orders all of them.
    """
    distinct = sorted({str(v) for v in values})
    if not MIN_LEVELS <= len(distinct) <= MAX_LEVELS:
        return None
    by_level = {normalise_level(v): v for v in distinct}
    if len(by_level) < len(distinct):
        return None  # "High" and "high": a spelling problem, not a scale
    for scale in KNOWN_SCALES:
        if set(by_level) <= set(scale):
            return tuple(by_level[level] for level in scale if level in by_level)
    return _by_prefix(distinct)


def _by_prefix(values: Sequence[str]) -> tuple[str, ...] | None:
    numbers: dict[float, str] = {}
    for value in values:
        match = _PREFIX.match(value)
        if match is None:
            return None
        number = float(match.group(1))
        if number in numbers:
            return None
        numbers[number] = value
    return tuple(numbers[n] for n in sorted(numbers))
