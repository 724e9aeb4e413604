"""Spec models of data sources (files, SQL, HTTP JSON APIs) and of how several combine.

A source is declared under ``data.sources`` in ``loopml.yaml``; ``type`` picks the kind and
defaults to ``file``. Strings that may carry secrets (a SQL URL, HTTP headers and params)
can reference environment variables as ``${VAR}``; they are replaced when data is read,
never stored in the spec.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, Self

from pydantic import Discriminator, Field, Tag, model_validator

from loopml.spec.base import Section

SOURCE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]*$"
FileFormat = Literal["csv", "tsv", "json", "jsonl", "parquet"]
PaginationStyle = Literal["page", "offset", "cursor", "next_url"]

# The query parameter each pagination style sends when the spec does not name one.
_DEFAULT_PARAM: dict[str, str] = {"page": "page", "offset": "offset", "cursor": "cursor"}


class FileSource(Section):
    """One file or a glob of files (relative to the project folder), appended in name order.

    ``format`` defaults to each file's suffix (``.csv.gz`` is csv). ``path`` may be an
    fsspec URL (``s3://bucket/calls-*.parquet``); ``storage_options`` then replace the
    settings' for this source (another endpoint or account), ``${VAR}`` in their text
    read from the environment.
    """

    type: Literal["file"] = "file"
    name: str = Field(default="main", pattern=SOURCE_NAME_PATTERN)
    path: str = Field(min_length=1)
    format: FileFormat | None = None
    storage_options: dict[str, Any] | None = None


class SqlSource(Section):
    """A SQL query, or a whole table (``schema.table`` allowed), read through SQLAlchemy.

    ``url`` is a SQLAlchemy URL; write the password as ``${VAR}`` to keep it out of the spec.
    """

    type: Literal["sql"] = "sql"
    name: str = Field(default="main", pattern=SOURCE_NAME_PATTERN)
    url: str = Field(min_length=1)
    query: str | None = None
    table: str | None = None

    @model_validator(mode="after")
    def _query_or_table(self) -> Self:
        if (self.query is None) == (self.table is None):
            raise ValueError("give exactly one of 'query' or 'table'")
        if self.query is not None and not self.query.strip():
            raise ValueError("'query' is empty")
        if self.table is not None and not all(self.table.split(".")):
            raise ValueError(f"'table' {self.table!r} must be 'name' or 'schema.name'")
        return self


class Pagination(Section):
    """How an HTTP source walks its pages.

    - ``page``: sends ``param`` = start, start+1, ... until a page has no records.
    - ``offset``: sends ``param`` = start (0 unless given), start+size, ... until a page has
      fewer than ``size`` records.
    - ``cursor``: sends the value found at the dotted path ``next`` in each response as
      ``param``, until it is missing or null.
    - ``next_url``: follows the URL found at the dotted path ``next`` until it is missing
      or null.

    ``size_param`` (with ``size``) sends the page size too. ``param`` defaults to the
    style's name (``page``, ``offset``, ``cursor``).
    """

    style: PaginationStyle
    param: str = Field(default="page", min_length=1)
    start: int = Field(default=1, ge=0)
    size_param: str | None = None
    size: int | None = Field(default=None, ge=1)
    next: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _style_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        style = data.get("style")
        filled = dict(data)
        if "param" not in filled and style in _DEFAULT_PARAM:
            filled["param"] = _DEFAULT_PARAM[style]
        if "start" not in filled and style == "offset":
            filled["start"] = 0
        return filled

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.style in ("cursor", "next_url") and not self.next:
            raise ValueError(
                f"style '{self.style}' needs 'next': the dotted path of the "
                f"{'cursor' if self.style == 'cursor' else 'next URL'} in each response"
            )
        if self.style == "offset" and self.size is None:
            raise ValueError("style 'offset' needs 'size': the number of records per page")
        if self.size_param is not None and self.size is None:
            raise ValueError("'size_param' needs 'size': the page size to send")
        return self


class HttpSource(Section):
    """A JSON API read with GET, page by page, with retries and exponential backoff.

    ``records`` is the dotted path of the list of records in each response (None: the
    response is the list). Header, param and URL values may hold ``${VAR}``.
    """

    type: Literal["http"] = "http"
    name: str = Field(default="main", pattern=SOURCE_NAME_PATTERN)
    url: str = Field(min_length=1)
    params: dict[str, str | int | float] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    records: str | None = None
    pagination: Pagination | None = None
    timeout_s: float = Field(default=10.0, gt=0.0)
    retries: int = Field(default=3, ge=0, le=20)
    backoff_s: float = Field(default=0.5, ge=0.0)
    max_pages: int = Field(default=1000, ge=1)

    @model_validator(mode="after")
    def _records_for_links(self) -> Self:
        page = self.pagination
        if page is not None and page.style in ("cursor", "next_url") and not self.records:
            raise ValueError(
                f"pagination style '{page.style}' reads 'next' from a JSON object, so set "
                "'records' to the dotted path of the list of records in it"
            )
        return self


def _source_type(value: Any) -> str:
    """The tag of a source: its ``type``, ``file`` when none is given."""
    if isinstance(value, dict):
        return str(value.get("type", "file"))
    return str(getattr(value, "type", "file"))


AnySource = Annotated[
    Annotated[FileSource, Tag("file")]
    | Annotated[SqlSource, Tag("sql")]
    | Annotated[HttpSource, Tag("http")],
    Discriminator(
        _source_type,
        custom_error_type="source_type",
        custom_error_message="unknown source type; use 'file', 'sql' or 'http'",
    ),
]
SOURCE_TYPES: tuple[str, ...] = ("file", "sql", "http")


class Combine(Section):
    """How several sources become one frame.

    ``append`` stacks their rows (their columns must agree); ``join`` merges them one after
    another on the ``on`` key columns, each source's keys unique after the first.
    """

    how: Literal["append", "join"] = "append"
    on: list[str] = Field(default_factory=list)
    join: Literal["left", "inner", "outer"] = "left"

    @model_validator(mode="after")
    def _keys_for_join(self) -> Self:
        if self.how == "join" and not self.on:
            raise ValueError("how 'join' needs 'on': the key columns shared by every source")
        if self.how == "append" and self.on:
            raise ValueError("'on' is only used with how: join")
        if len(set(self.on)) != len(self.on):
            raise ValueError(f"'on' repeats a column: {self.on}")
        return self


def check_unique_names(sources: Sequence[FileSource | SqlSource | HttpSource]) -> None:
    """Raise ValueError when two of ``sources`` share a name.

    Call it from a model validator so the error is reported against the spec.
    """
    seen: set[str] = set()
    for source in sources:
        if source.name in seen:
            raise ValueError(
                f"two sources are named '{source.name}'; give each source a unique 'name'"
            )
        seen.add(source.name)


__all__ = [
    "SOURCE_TYPES",
    "AnySource",
    "Combine",
    "FileSource",
    "HttpSource",
    "Pagination",
    "SqlSource",
    "check_unique_names",
]
