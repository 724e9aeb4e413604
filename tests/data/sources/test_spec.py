"""The spec models of sources: defaults, the discriminated union, and validation."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from loopml.spec.sources import (
    AnySource,
    Combine,
    FileSource,
    HttpSource,
    Pagination,
    SqlSource,
    check_unique_names,
)

SOURCES = TypeAdapter(list[AnySource])


def test_a_source_without_type_is_a_file() -> None:
    (source,) = SOURCES.validate_python([{"path": "data/*.csv"}])
    assert source == FileSource(path="data/*.csv")
    assert source.name == "main" and source.format is None


def test_each_type_parses_to_its_model() -> None:
    parsed = SOURCES.validate_python(
        [
            {"type": "file", "name": "a", "path": "a.parquet", "format": "parquet"},
            {"type": "sql", "name": "b", "url": "sqlite:///x.db", "table": "t"},
            {"type": "http", "name": "c", "url": "https://api.example.com/items"},
        ]
    )
    assert [type(s) for s in parsed] == [FileSource, SqlSource, HttpSource]
    http = parsed[2]
    assert isinstance(http, HttpSource)
    assert (http.timeout_s, http.retries, http.backoff_s, http.max_pages) == (10, 3, 0.5, 1000)


def test_unknown_type_and_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="unknown source type"):
        SOURCES.validate_python([{"type": "ftp", "path": "x"}])
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        SOURCES.validate_python([{"type": "sql", "url": "sqlite://", "table": "t", "path": "x"}])


def test_sql_needs_exactly_one_of_query_and_table() -> None:
    with pytest.raises(ValidationError, match="exactly one of 'query' or 'table'"):
        SqlSource(url="sqlite://", query="select 1", table="t")
    with pytest.raises(ValidationError, match="exactly one of 'query' or 'table'"):
        SqlSource(url="sqlite://")
    with pytest.raises(ValidationError, match="'schema.name'"):
        SqlSource(url="sqlite://", table="a..b")


def test_pagination_rules() -> None:
    with pytest.raises(ValidationError, match="style 'cursor' needs 'next'"):
        Pagination(style="cursor")
    with pytest.raises(ValidationError, match="style 'next_url' needs 'next'"):
        Pagination(style="next_url")
    with pytest.raises(ValidationError, match="style 'offset' needs 'size'"):
        Pagination(style="offset")
    with pytest.raises(ValidationError, match="'size_param' needs 'size'"):
        Pagination(style="page", size_param="per_page")
    assert Pagination(style="page").param == "page"
    offset = Pagination(style="offset", size=50)
    assert (offset.param, offset.start) == ("offset", 0)
    assert Pagination(style="cursor", next="meta.next").param == "cursor"
    assert Pagination(style="offset", size=5, param="skip", start=1).start == 1


def test_link_pagination_needs_a_records_path() -> None:
    paging = Pagination(style="cursor", next="next")
    with pytest.raises(ValidationError, match="set 'records'"):
        HttpSource(url="http://x", pagination=paging)
    assert HttpSource(url="http://x", pagination=paging, records="items").records == "items"


def test_combine_rules() -> None:
    assert Combine() == Combine(how="append", on=[], join="left")
    with pytest.raises(ValidationError, match="how 'join' needs 'on'"):
        Combine(how="join")
    with pytest.raises(ValidationError, match="only used with how: join"):
        Combine(on=["id"])


def test_source_names_must_be_unique_and_simple() -> None:
    check_unique_names([FileSource(path="a.csv", name="a"), FileSource(path="b.csv", name="b")])
    with pytest.raises(ValueError, match="two sources are named 'a'"):
        check_unique_names(
            [FileSource(path="a.csv", name="a"), SqlSource(name="a", url="x", table="t")]
        )
    with pytest.raises(ValidationError, match="name"):
        FileSource(path="a.csv", name="has space")


def test_models_are_frozen() -> None:
    source = FileSource(path="a.csv")
    with pytest.raises(ValidationError):
        source.path = "b.csv"  # type: ignore[misc]
