"""What reading sources returns: each source's frame and lineage, and the combined result."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class SourceRecord:
    """Where one source's rows came from (the lineage kept with a snapshot).

    ``location`` is the file path(s) relative to the project, the SQL URL with its
    password masked, or the HTTP URL as written in the spec (``${VAR}`` not expanded).
    """

    name: str
    type: str
    location: str
    query: str | None
    source_hash: str
    rows: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of the record."""
        return {
            "name": self.name,
            "type": self.type,
            "location": self.location,
            "query": self.query,
            "source_hash": self.source_hash,
            "rows": self.rows,
        }


@dataclass(frozen=True, eq=False)
class SourceData:
    """One source as read: its rows (raw column names) and where they came from."""

    name: str
    type: str
    location: str
    query: str | None
    source_hash: str
    rows: int
    frame: pd.DataFrame

    def record(self) -> SourceRecord:
        """The lineage of this source, without the frame."""
        return SourceRecord(
            name=self.name,
            type=self.type,
            location=self.location,
            query=self.query,
            source_hash=self.source_hash,
            rows=self.rows,
        )


@dataclass(frozen=True, eq=False)
class IngestResult:
    """All sources read and combined.

    ``frame`` keeps the sources' raw column names; ``source_hash`` is the sha256 over the
    sources' hashes in the order they are declared.
    """

    frame: pd.DataFrame
    sources: list[SourceRecord]
    source_hash: str

    def to_dict(self) -> dict[str, Any]:
        """The lineage as a JSON-safe dict (no frame)."""
        return {
            "source_hash": self.source_hash,
            "rows": len(self.frame),
            "sources": [s.to_dict() for s in self.sources],
        }


def combined_hash(hashes: Iterable[str]) -> str:
    """sha256 over hex digests, in order (one per line)."""
    digest = hashlib.sha256()
    for value in hashes:
        digest.update(f"{value}\n".encode())
    return digest.hexdigest()


def frame_hash(frame: pd.DataFrame) -> str:
    """sha256 of a frame's column names, dtypes and row values; the same rows, the same hash.

    The row index is ignored. Values are hashed with ``pd.util.hash_pandas_object``, which
    is deterministic (fixed key) and handles object columns holding mixed values.
    """
    digest = hashlib.sha256()
    header = [[str(name), str(dtype)] for name, dtype in frame.dtypes.items()]
    digest.update(json.dumps(header).encode())
    for _, column in frame.items():
        if column.dtype == object:
            column = column.map(_canonical, na_action="ignore")
        values = pd.util.hash_pandas_object(column, index=False, categorize=False)
        digest.update(values.to_numpy().tobytes())
    return digest.hexdigest()


def _canonical(value: Any) -> Any:
    """Nested values (JSON columns) as sorted JSON text, so they can be hashed."""
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True, default=str)
    return value
