"""Labelling: rule-based labels, a labelling file round trip, and each row's label source.

Every row's ``label_source`` says where its label came from: ``data`` (it was in the
source), ``rule:<name>`` (a labelling rule of the spec), ``manual:<who>`` (imported from a
labelling file; ``labelled_at`` says when) or missing (still unlabelled). These lineage
columns (``LINEAGE_COLUMNS``) are bookkeeping: keep them out of the features.

Rows are matched by the key columns (``data.key``), compared as text so that ``7``,
``7.0`` and ``"7"`` are the same key whatever type a file or a snapshot gave them.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loopml.data.clean import parse_booleans
from loopml.data.expressions import evaluate
from loopml.data.schema import category_strings
from loopml.errors import DataError
from loopml.spec.quality import LabelRule

LABEL_SOURCE = "label_source"
LABELLED_AT = "labelled_at"
LINEAGE_COLUMNS = (LABEL_SOURCE, LABELLED_AT)
DATA = "data"
UNLABELLED = "unlabelled"  # how ``label_lineage`` counts rows without a label
_INTEGRAL = re.compile(r"^(-?\d+)\.0*$")


def apply_label_rules(
    df: pd.DataFrame, target: str, rules: Sequence[LabelRule]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Label the rows whose ``target`` is missing with the first rule whose ``when`` holds.

    Rows that already have a label keep it. Every rule is evaluated on ``df`` as given.

    Returns:
        A new frame with ``target`` filled and ``label_source`` set (``data`` for labels
        from the source, ``rule:<name>`` for the rules'), and the rows labelled per rule.

    Raises:
        DataError: ``target`` is not a column, a rule's expression is invalid (the
            message names ``data.labels.rules[i].when``), or a rule's label does not fit
            the target (text for a numeric target).
    """
    frame = with_label_source(df, target)
    unlabelled = frame[target].isna()
    counts: dict[str, int] = {}
    for i, rule in enumerate(rules):
        where = f"data.labels.rules[{i}]"
        hits = evaluate(df, rule.when, where=f"{where}.when").to_numpy() & unlabelled.to_numpy()
        counts[rule.name] = int(hits.sum())
        if not hits.any():
            continue
        values = pd.Series([rule.label] * int(hits.sum()), dtype=object)
        frame = _set_labels(frame, target, hits, values, where=f"{where}.label")
        frame.loc[hits, LABEL_SOURCE] = f"rule:{rule.name}"
        unlabelled &= ~hits
    return frame, counts


def with_label_source(df: pd.DataFrame, target: str) -> pd.DataFrame:
    """A copy of ``df`` with a ``label_source`` column: kept where it is set, ``data``
    where the target holds a label, missing elsewhere."""
    if target not in df.columns:
        raise DataError(f"no target column '{target}' in the data; columns: {_names(df)}")
    frame = df.copy()
    labelled = frame[target].notna()
    if LABEL_SOURCE in frame.columns:
        sources = frame[LABEL_SOURCE].astype("object")
        frame[LABEL_SOURCE] = sources.where(sources.notna() | ~labelled, DATA)
    else:
        frame[LABEL_SOURCE] = pd.Series(DATA, index=frame.index, dtype=object).where(labelled)
    return frame


def export_unlabelled(df: pd.DataFrame, target: str, key: Sequence[str], path: str | Path) -> int:
    """Write the rows without a label to a CSV file for people to label.

    The file holds the key columns first, then an empty ``target`` column to fill in,
    then every other column for context (not the lineage columns). It is written to a
    temporary file and moved into place.

    Returns:
        The number of rows written.

    Raises:
        DataError: ``target`` or a key column is not a column, or the key does not
            identify rows (a key value that is missing or repeated; the message names it).
    """
    key = list(key)
    _row_keys(df, key, target=target, source="the data")
    rows = df[df[target].isna()]
    others = [c for c in df.columns if c not in key and c != target and c not in LINEAGE_COLUMNS]
    out = rows[key + others].copy()
    out.insert(len(key), target, "")
    _write_csv_atomic(out, Path(path))
    return len(out)


def read_label_file(path: str | Path, key: Sequence[str], target: str) -> pd.DataFrame:
    """Read a labelling file (as ``export_unlabelled`` wrote it, with labels filled in).

    Rows whose label is empty are ignored. Every value is read as text.

    Returns:
        The key columns and ``target``, as text, one row per label; the index is the line
        of the file each label is on.

    Raises:
        DataError: the file is missing or not CSV, lacks a key column or the target
            column, a labelled row has an empty key, or a key is labelled twice (the
            message names the key value and its lines).
    """
    path = Path(path)
    key = list(key)
    if not path.is_file():
        raise DataError(f"{path}: no such labelling file. Export one with export_unlabelled.")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, engine="c")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read as a CSV labelling file ({exc})") from exc
    absent = [c for c in [*key, target] if c not in raw.columns]
    if absent:
        raise DataError(
            f"{path}: no column {', '.join(map(repr, absent))}; a labelling file needs the "
            f"key ({', '.join(key)}) and the target '{target}'. It has: {_names(raw)}"
        )
    raw.index = pd.RangeIndex(2, len(raw) + 2)  # line numbers: the header is line 1
    labels = raw[[*key, target]].apply(lambda s: s.str.strip())
    labels = labels[labels[target] != ""]
    _row_keys(labels, key, target=target, source=str(path), line_numbers=True)
    return labels


def apply_manual_labels(
    df: pd.DataFrame,
    target: str,
    key: Sequence[str],
    labels: pd.DataFrame,
    labelled_by: str,
    labelled_at: datetime,
    *,
    override: bool = False,
) -> tuple[pd.DataFrame, int, int]:
    """Merge labels read by ``read_label_file`` into ``df`` by key.

    Manual labels replace missing labels and rule labels (and earlier manual ones); they
    replace labels from the source only when ``override`` is True. Labelled rows get
    ``label_source`` ``manual:<labelled_by>`` and ``labelled_at`` (UTC).

    Returns:
        The new frame, how many rows were labelled, and how many label keys matched no
        row of ``df``.

    Raises:
        DataError: a key column or the target is missing, the key does not identify the
            rows of ``df``, or a label does not fit the target (text for a numeric one).
        ValueError: ``labelled_by`` is empty.
    """
    if not labelled_by.strip():
        raise ValueError("labelled_by: say who labelled the rows")
    key = list(key)
    frame = with_label_source(df, target)
    row_keys = _row_keys(frame, key, target=target, source="the data")
    absent = [c for c in [*key, target] if c not in labels.columns]
    if absent:
        raise DataError(f"the labels lack column(s) {', '.join(map(repr, absent))}")
    positions = {k: i for i, k in enumerate(row_keys)}
    label_keys = _row_keys(labels, key, target=target, source="the labels", line_numbers=True)
    found = label_keys.map(positions)
    unknown = int(found.isna().sum())
    matched = labels[found.notna()]
    where = found[found.notna()].astype(int).to_numpy()
    sources = frame[LABEL_SOURCE].to_numpy(dtype=object)[where]
    allowed = [override or source != DATA for source in sources]
    rows = where[allowed]
    if len(rows) == 0:
        return frame, 0, unknown
    mask = np.zeros(len(frame), dtype=bool)
    mask[rows] = True
    values = matched[target][allowed]
    values.index = pd.Index(rows)
    frame = _set_labels(frame, target, mask, values.sort_index(), where="the labelling file")
    frame.loc[mask, LABEL_SOURCE] = f"manual:{labelled_by.strip()}"
    stamp = pd.Timestamp(labelled_at)
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    if LABELLED_AT not in frame.columns:
        frame[LABELLED_AT] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    frame.loc[mask, LABELLED_AT] = stamp
    return frame, int(len(rows)), unknown


def label_keys(
    frame: pd.DataFrame, key: Sequence[str], target: str, source: str
) -> list[tuple[Any, ...]]:
    """Each row's key as a tuple of text, as labels are matched (``7``, ``7.0`` and
    ``"7"`` are one key).

    Raises:
        DataError: a key column or ``target`` is missing, or a key is empty or repeated
            (the message names ``source``).
    """
    return list(_row_keys(frame, list(key), target=target, source=source))


def label_lineage(df: pd.DataFrame, target: str | None = None) -> dict[str, int]:
    """Rows per label source: ``{"data": 40000, "rule:long_call": 12, "manual:ana": 30,
    "unlabelled": 5}``. Without a ``label_source`` column, ``target`` tells labelled
    (``data``) from unlabelled rows.

    Raises:
        DataError: there is neither a ``label_source`` column nor a ``target``.
    """
    if LABEL_SOURCE not in df.columns:
        if target is None:
            raise DataError("no label_source column: run apply_label_rules first")
        df = with_label_source(df, target)
    sources = df[LABEL_SOURCE].astype("object").where(df[LABEL_SOURCE].notna(), UNLABELLED)
    counts = sources.value_counts(sort=False)
    return {str(name): int(count) for name, count in counts.items()}


def _row_keys(
    frame: pd.DataFrame,
    key: list[str],
    *,
    target: str,
    source: str,
    line_numbers: bool = False,
) -> pd.Series:
    """Each row's key as a tuple of text; DataError when the key misses, is empty or repeats."""
    if not key:
        raise DataError("no key columns given: set data.key in loopml.yaml (e.g. [customer_id])")
    absent = [c for c in [*key, target] if c not in frame.columns]
    if absent:
        raise DataError(
            f"{source}: no column {', '.join(map(repr, absent))}; columns: {_names(frame)}"
        )
    parts = [_key_text(frame[c]) for c in key]
    keys = pd.Series(list(zip(*parts, strict=True)), index=frame.index, dtype=object)
    empty = pd.concat([p.isna() for p in parts], axis=1).any(axis=1)
    what = "line" if line_numbers else "row"
    if empty.any():
        first = _position(frame, int(np.argmax(empty.to_numpy())), line_numbers)
        raise DataError(
            f"{source}: the key ({', '.join(key)}) is empty in {int(empty.sum())} rows, "
            f"e.g. {what} {first}; every row needs a key"
        )
    repeated = keys.duplicated(keep=False)
    if repeated.any():
        value = keys[repeated].iloc[0]
        same = np.flatnonzero([k == value for k in keys])
        places = [_position(frame, int(i), line_numbers) for i in same[:5]]
        shown = ", ".join(f"{c}={v!r}" for c, v in zip(key, value, strict=True))
        raise DataError(
            f"{source}: key {shown} appears {len(same)} times "
            f"({what}s {', '.join(map(str, places))}); a key must identify one row"
        )
    return keys


def _position(frame: pd.DataFrame, position: int, line_numbers: bool) -> int:
    """How a message names a row: its position, or its file line (held in the index)."""
    return int(frame.index[position]) if line_numbers else position


def _key_text(series: pd.Series) -> pd.Series:
    """Key values as text: ``7``, ``7.0`` and ``"7"`` are all ``"7"``; blanks are missing."""
    text = category_strings(series).map(lambda v: str(v).strip(), na_action="ignore")
    text = text.map(lambda v: _INTEGRAL.sub(r"\1", v), na_action="ignore")
    return text.where(text != "", None)


def _set_labels(
    frame: pd.DataFrame, target: str, mask: Any, values: pd.Series, *, where: str
) -> pd.DataFrame:
    """``frame`` with ``values`` (one per marked row, in row order) written to ``target``,
    converted to the target's type: numbers, true/false or text."""
    column = frame[target]
    existing = column.dropna()
    dtype = column.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    boolean = pd.api.types.is_bool_dtype(dtype)
    if pd.api.types.is_object_dtype(dtype) and len(
        existing
    ):  # labels held as Python objects: look at them
        boolean = bool(existing.map(lambda v: isinstance(v, bool | np.bool_)).all())
        numeric = not boolean and bool(existing.map(_is_number).all())
    raw = values.reset_index(drop=True)
    if numeric:
        converted = pd.to_numeric(raw.map(_number, na_action="ignore"), errors="coerce")
        kind = "a number"
    elif boolean:
        converted = parse_booleans(raw)
        kind = "true/false"
    else:
        converted = raw.map(_text)
        kind = "text"
    bad = converted.isna() & raw.notna()
    if bad.any():
        raise DataError(
            f"{where}: label {raw[bad].iloc[0]!r} does not fit target '{target}', "
            f"which holds {kind} ({dtype}); fix the label"
        )
    updated = column.astype("object").to_numpy(copy=True)
    updated[mask] = converted.astype("object").to_numpy()
    result = pd.Series(updated, index=frame.index, name=target)
    if numeric:
        result = pd.to_numeric(result)
    elif boolean and not result.isna().any():
        result = result.astype(bool)
    elif isinstance(dtype, pd.StringDtype):
        result = result.astype(dtype)
    out = frame.copy()
    out[target] = result
    return out


def _is_number(value: Any) -> bool:
    return pd.api.types.is_number(value) and not isinstance(value, bool | np.bool_)


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _text(value: Any) -> Any:
    return category_strings(pd.Series([value], dtype=object)).iloc[0]


def _names(frame: pd.DataFrame) -> str:
    return ", ".join(str(c) for c in frame.columns)


def _write_csv_atomic(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        frame.to_csv(temp, index=False)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
