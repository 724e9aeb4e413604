"""Checks of our transformers' parameters, run once when ``fit`` starts (as scikit-learn does)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any


def check_choice(owner: Any, name: str, allowed: Collection[Any]) -> None:
    """Raise ValueError unless ``owner.<name>`` is one of ``allowed``."""
    value = getattr(owner, name)
    if value not in allowed:
        raise ValueError(
            f"{type(owner).__name__}: {name}={value!r} is not allowed; "
            f"use one of {', '.join(map(repr, allowed))}"
        )


def check_number(
    owner: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    integer: bool = False,
    optional: bool = False,
) -> None:
    """Raise ValueError unless ``owner.<name>`` is a number in ``[low, high]`` (an int when
    ``integer``; None allowed when ``optional``)."""
    value = getattr(owner, name)
    if value is None and optional:
        return
    kinds: tuple[type, ...] = (int,) if integer else (int, float)
    bad_type = isinstance(value, bool) or not isinstance(value, kinds)
    if bad_type or (low is not None and value < low) or (high is not None and value > high):
        what = "an integer" if integer else "a number"
        bounds = (
            f" in [{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        )
        raise ValueError(f"{type(owner).__name__}: {name}={value!r} must be {what}{bounds}")
