"""Combine the frames of several sources into one: append their rows, or join on keys."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pandas as pd

from loopml.data.sources.records import SourceData
from loopml.errors import DataError
from loopml.spec.sources import Combine

_MAX_SHOWN = 10


def combine(parts: list[SourceData], spec: Combine) -> pd.DataFrame:
    """One frame from ``parts``, in their order, as ``spec`` says.

    Args:
        parts: the sources as read (raw column names).
        spec: ``append`` (the columns of every part must agree; the first part's order is
            kept) or ``join`` (merged one after another on ``spec.on`` with ``spec.join``).

    Returns:
        The combined frame with a fresh 0..n-1 index. A single part is returned as is.

    Raises:
        DataError: no parts; for append, a part whose columns differ from the first's; for
            join, a key missing from a part, a repeated key in a part after the first, or
            keys whose types cannot be matched.

    When joining, a non-key column that appears in more than one part is renamed
    ``<column>_<source name>`` in each of them.
    """
    if not parts:
        raise DataError("no data sources to combine; declare at least one under data.sources")
    if len(parts) == 1:
        return parts[0].frame
    if spec.how == "append":
        return _append(parts)
    return _join(parts, spec)


def _append(parts: list[SourceData]) -> pd.DataFrame:
    first = parts[0]
    expected = list(first.frame.columns)
    problems = []
    for part in parts[1:]:
        columns = list(part.frame.columns)
        missing = [c for c in expected if c not in columns]
        extra = [c for c in columns if c not in expected]
        if missing or extra:
            said = [f"lacks {_names(missing)}"] if missing else []
            said += [f"has extra {_names(extra)}"] if extra else []
            problems.append(f"source '{part.name}' {' and '.join(said)}")
    if problems:
        raise DataError(
            f"cannot append the sources: compared with source '{first.name}', "
            f"{'; '.join(problems)}. Appended sources need the same columns: rename or "
            "select them in the source (a SQL query, a different file), or use how: join."
        )
    return pd.concat([p.frame[expected] for p in parts], ignore_index=True)


def _join(parts: list[SourceData], spec: Combine) -> pd.DataFrame:
    keys = spec.on
    for part in parts:
        missing = [k for k in keys if k not in part.frame.columns]
        if missing:
            raise DataError(
                f"cannot join the sources on {_names(keys)}: source '{part.name}' has no "
                f"column {_names(missing)} (it has {_names(list(part.frame.columns))}). "
                "Fix 'on' under data.combine, or the source."
            )
    for part in parts[1:]:
        _check_unique_keys(part, keys)
    frames = _suffixed(parts, keys)
    result = frames[0]
    for part, frame in zip(parts[1:], frames[1:], strict=True):
        try:
            result = result.merge(frame, how=spec.join, on=keys, sort=False)
        except (ValueError, TypeError) as exc:
            raise DataError(
                f"cannot join source '{part.name}' on {_names(keys)}: {exc}. Make the key "
                "columns the same type in every source (e.g. cast in the SQL query)."
            ) from None
    return result.reset_index(drop=True)


def _check_unique_keys(part: SourceData, keys: list[str]) -> None:
    """A part joined onto the others must have one row per key, or rows would repeat."""
    repeated = part.frame.duplicated(subset=keys, keep=False)
    if repeated.any():
        example = part.frame.loc[repeated, keys].iloc[0].to_dict()
        raise DataError(
            f"cannot join source '{part.name}': {int(repeated.sum())} of its rows share a key "
            f"(e.g. {example}), so joined rows would be repeated. Make {_names(keys)} unique "
            "in that source (aggregate or deduplicate it), or use how: append."
        )


def _suffixed(parts: list[SourceData], keys: list[str]) -> list[pd.DataFrame]:
    """The frames, with non-key columns found in several parts renamed ``<col>_<source>``."""
    counts = Counter(c for p in parts for c in p.frame.columns if c not in keys)
    shared = {c for c, n in counts.items() if n > 1}
    frames = []
    names: Counter[object] = Counter()
    for part in parts:
        renamed = {c: f"{c}_{part.name}" for c in part.frame.columns if c in shared}
        frame = part.frame.rename(columns=renamed) if renamed else part.frame
        names.update(c for c in frame.columns if c not in keys)
        frames.append(frame)
    clashes = [str(c) for c, n in names.items() if n > 1]
    if clashes:
        raise DataError(
            f"cannot join the sources: after adding source names to shared columns, "
            f"{_names(clashes)} still appear twice. Rename those columns in a source."
        )
    return frames


def _names(columns: Sequence[object]) -> str:
    shown = ", ".join(repr(str(c)) for c in columns[:_MAX_SHOWN])
    more = f" and {len(columns) - _MAX_SHOWN} more" if len(columns) > _MAX_SHOWN else ""
    return shown + more
