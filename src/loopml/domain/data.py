"""Data snapshots and the schema they are checked against."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


class ColumnKind(enum.StrEnum):
    """How loopml treats a column, independent of its storage dtype."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    ORDINAL = "ordinal"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    TEXT = "text"

    @property
    def has_categories(self) -> bool:
        """Categorical or ordinal: values are categories (ordinal ones in a known order)."""
        return self in (ColumnKind.CATEGORICAL, ColumnKind.ORDINAL)


@dataclass(frozen=True)
class ColumnSchema:
    """What a column may hold. ``categories`` is set for categorical and ordinal columns
    only; for an ordinal column it is the order of its levels, lowest first."""

    name: str
    kind: ColumnKind
    dtype: str
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    categories: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Schema:
    """An ordered set of column schemas."""

    columns: tuple[ColumnSchema, ...]

    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSchema:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; ``Schema.from_dict`` rebuilds the same schema."""
        return {"columns": [_column_dict(c) for c in self.columns]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        return cls(tuple(_column_from_dict(c) for c in data["columns"]))


def _column_dict(col: ColumnSchema) -> dict[str, Any]:
    out = asdict(col)
    out["kind"] = str(col.kind)
    out["categories"] = list(col.categories) if col.categories is not None else None
    return out


def _column_from_dict(data: Mapping[str, Any]) -> ColumnSchema:
    cats = data.get("categories")
    return ColumnSchema(
        name=data["name"],
        kind=ColumnKind(data["kind"]),
        dtype=data.get("dtype", ""),
        nullable=data.get("nullable", True),
        min=data.get("min"),
        max=data.get("max"),
        categories=tuple(cats) if cats is not None else None,
    )


@dataclass(frozen=True)
class Snapshot:
    """An immutable Parquet snapshot of ingested data.

    ``snapshot_id`` is the sha256 of the Parquet artifact, so the same data is the same
    snapshot. ``source_hash`` is the sha256 of the raw sources (combined); ``column_map``
    maps each original column name to its cleaned name; ``details`` holds each source
    (type, location, query, hash, rows) and how they were combined.
    """

    snapshot_id: str
    project_id: str
    source: str
    source_hash: str
    row_count: int
    schema: Schema
    created_at: datetime
    column_map: Mapping[str, str] = field(default_factory=dict)
    code_version: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
