"""Read a data source into a DataFrame, clean its column names, and fingerprint the file."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from loopml.errors import DataError

FORMATS = ("csv", "tsv", "json", "jsonl", "parquet")
_SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_COMPRESSION_SUFFIXES = {".gz", ".bz2", ".zip", ".xz", ".zst"}
# pandas names a column with an empty header "Unnamed: <position>"
_UNNAMED = re.compile(r"^Unnamed: \d+(_level_\d+)?$")
_NOT_WORD = re.compile(r"[\W_]+")


def read_source(path: str | Path, fmt: str | None = None) -> pd.DataFrame:
    """Read a csv, tsv, json, jsonl or parquet file into a DataFrame.

    Args:
        path: the file (a folder of Parquet files is accepted for ``parquet``).
        fmt: one of ``FORMATS``; None takes it from the suffix (``.csv.gz`` is csv).

    Returns:
        The rows as read, with the file's own column names (see ``clean_column_names``).

    Raises:
        DataError: the file is missing, its format is unknown, it is empty, has a header
            but no rows, or cannot be parsed (corrupt, truncated, not UTF-8).

    CSV and TSV go through pandas' C parser rather than pyarrow's: it is strict where
    pyarrow is lenient (an unterminated quote, bytes that are not UTF-8) and its errors
    name the line. Parquet and JSON lines are read with pyarrow.
    """
    path = Path(path)
    fmt = fmt or format_of(path)
    if fmt not in FORMATS:
        raise DataError(f"{path}: unknown format '{fmt}'; use one of {', '.join(FORMATS)}")
    if not path.exists():
        raise DataError(f"{path}: no such file. Check the path (data.sources in loopml.yaml).")
    if path.is_dir() and fmt != "parquet":
        raise DataError(f"{path}: is a folder, not a {fmt} file")
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes); export the data again")
    frame = _READERS[fmt](path)
    if frame.shape[1] == 0:
        raise DataError(f"{path}: no columns found; is it really a {fmt} file?")
    if len(frame) == 0:
        raise DataError(
            f"{path}: has columns ({', '.join(map(str, frame.columns[:10]))}) but no rows; "
            "export the data again with its rows"
        )
    return frame


def format_of(path: str | Path) -> str:
    """The format named by ``path``'s suffix; raises DataError for an unknown suffix."""
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in _COMPRESSION_SUFFIXES:
        suffixes.pop()
    if path.is_dir() and not suffixes:
        return "parquet"
    fmt = _SUFFIXES.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise DataError(
            f"{path}: cannot tell the format from the suffix '{''.join(path.suffixes)}'; "
            "name it *.csv, *.tsv, *.json, *.jsonl or *.parquet, or set the source's "
            "format in loopml.yaml"
        )
    return fmt


def _read_delimited(path: Path, sep: str) -> pd.DataFrame:
    kind = "TSV" if sep == "\t" else "CSV"
    try:
        return pd.read_csv(path, sep=sep, engine="c", low_memory=False)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: no header and no rows; is the file empty?") from exc
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: {_first_bad_line(path)} is not UTF-8 text ({exc.reason}, byte "
            f"0x{exc.object[exc.start]:02x}); re-save the file as UTF-8"
        ) from exc
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise DataError(
            f"{path}: cannot be parsed as {kind} ({exc}). The file may be truncated or "
            f"corrupt, or not {kind}: check that line, or set the source's format in loopml.yaml"
        ) from exc


def _read_json(path: Path, lines: bool) -> pd.DataFrame:
    kind = "JSON lines" if lines else "JSON"
    try:
        if lines:
            # any failure falls through to the pandas reader, whose error is clearer
            with contextlib.suppress(Exception):
                return pd.read_json(path, lines=True, engine="pyarrow")
        return pd.read_json(path, lines=lines)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: is not UTF-8 text ({exc.reason}); re-save as UTF-8") from exc
    except (ValueError, OSError) as exc:
        expected = "one JSON object per line" if lines else "a list of records"
        raise DataError(
            f"{path}: cannot be parsed as {kind} ({exc}); expected {expected}. "
            "The file may be truncated or corrupt."
        ) from exc


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa

    try:
        return pd.read_parquet(path, engine="pyarrow")
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(
            f"{path}: is not a readable Parquet file ({exc}). It may be truncated or "
            "corrupt: write it again."
        ) from exc


_READERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "csv": lambda p: _read_delimited(p, ","),
    "tsv": lambda p: _read_delimited(p, "\t"),
    "json": lambda p: _read_json(p, lines=False),
    "jsonl": lambda p: _read_json(p, lines=True),
    "parquet": _read_parquet,
}


def _first_bad_line(path: Path) -> str:
    """'line N' of the first line that is not UTF-8 (only called on the error path)."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return f"line {number}"
    return "the file"


def clean_column_names(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename columns to clean, unique snake_case names.

    Each name is stripped, lowercased, runs of characters other than letters and digits
    become one ``_`` and leading/trailing ``_`` go; an empty name or pandas' ``Unnamed: N``
    becomes ``column_<position>``; a repeated name gets ``_2``, ``_3``, ...

    Returns:
        The renamed frame (a shallow copy) and ``{original: clean}`` for every column.
    """
    clean: list[str] = []
    used: set[str] = set()
    mapping: dict[str, str] = {}
    for position, original in enumerate(df.columns):
        name = clean_name(original, position)
        candidate, n = name, 1
        while candidate in used:
            n += 1
            candidate = f"{name}_{n}"
        used.add(candidate)
        clean.append(candidate)
        mapping[str(original)] = candidate
    return df.set_axis(clean, axis=1), mapping


def clean_name(name: object, position: int) -> str:
    """The clean form of one column name (without de-duplication)."""
    text = "" if name is None else str(name)
    if _UNNAMED.match(text.strip()):
        return f"column_{position}"
    text = _NOT_WORD.sub("_", text.strip().lower()).strip("_")
    return text or f"column_{position}"


def file_sha256(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """The sha256 hex digest of a file, read in chunks of ``chunk_size`` bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
