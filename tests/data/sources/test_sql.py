"""SQL sources against a real SQLite file and the real PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from loopml.data.sources import mask_url, read_sql
from loopml.errors import DataError
from loopml.spec.sources import SqlSource

FRAME = pd.DataFrame(
    {"id": [3, 1, 2], "Plan Name": ["gold", "free", None], "spend": [10.5, 0.0, 3.25]}
)


def _load(url: str, frame: pd.DataFrame = FRAME, table: str = "customers") -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        frame.to_sql(table, conn, index=False)
    engine.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    _load(f"sqlite:///{path}")
    return path


def test_sqlite_table_and_query_give_the_same_frame(tmp_path: Path, sqlite_db: Path) -> None:
    by_table = read_sql(
        SqlSource(url="sqlite:///shop.db", table="customers"), {}, project_dir=tmp_path
    )
    query = 'select id, "Plan Name", spend from customers'
    by_query = read_sql(SqlSource(url=f"sqlite:///{sqlite_db}", query=query), {})
    pd.testing.assert_frame_equal(by_table.frame, FRAME)
    pd.testing.assert_frame_equal(by_query.frame, FRAME)
    assert by_table.source_hash == by_query.source_hash
    assert by_table.type == "sql" and by_table.rows == 3
    assert by_table.location == "sqlite:///shop.db"
    assert by_table.query is not None and "customers" in by_table.query.lower()
    assert by_query.query == query


def test_sqlite_missing_file_is_not_created(tmp_path: Path) -> None:
    source = SqlSource(name="shop", url="sqlite:///nothing.db", table="customers")
    with pytest.raises(DataError, match="no SQLite database at"):
        read_sql(source, {}, project_dir=tmp_path)
    assert not (tmp_path / "nothing.db").exists()


def test_sqlite_unknown_table_lists_the_tables(tmp_path: Path, sqlite_db: Path) -> None:
    source = SqlSource(name="shop", url="sqlite:///shop.db", table="custmers")
    with pytest.raises(DataError) as caught:
        read_sql(source, {}, project_dir=tmp_path)
    message = str(caught.value)
    assert "source 'shop' (sqlite:///shop.db)" in message
    assert "no such table: custmers" in message
    assert "tables there: customers" in message


def test_a_query_that_returns_no_rows_is_reported(tmp_path: Path, sqlite_db: Path) -> None:
    source = SqlSource(url="sqlite:///shop.db", query="select * from customers where id > 99")
    with pytest.raises(DataError, match="the query returned no rows"):
        read_sql(source, {}, project_dir=tmp_path)


def test_a_statement_cannot_change_the_database(tmp_path: Path, sqlite_db: Path) -> None:
    source = SqlSource(url="sqlite:///shop.db", query="delete from customers")
    with pytest.raises(DataError, match="failed"):
        read_sql(source, {}, project_dir=tmp_path)
    assert (
        read_sql(
            SqlSource(url="sqlite:///shop.db", table="customers"), {}, project_dir=tmp_path
        ).rows
        == 3
    )


def test_bad_url_and_unknown_driver_are_data_errors() -> None:
    with pytest.raises(DataError, match="is not a SQLAlchemy URL"):
        read_sql(SqlSource(url="not a url", table="t"), {})
    with pytest.raises(DataError, match="cannot use this database URL"):
        read_sql(SqlSource(url="nosuchdb://u:pw@host/db", table="t"), {})
    with pytest.raises(DataError, match="cannot use this database URL") as caught:
        read_sql(SqlSource(url="mysql+nosuchdriver://u:hunter2@host/db", table="t"), {})
    assert "hunter2" not in str(caught.value)


@pytest.mark.postgres
def test_password_from_the_environment_is_masked(postgres_url: str) -> None:
    url = make_url(postgres_url).set(password="placeholder")
    template = url.render_as_string(hide_password=False).replace("placeholder", "${PGPASS}")
    source = SqlSource(name="warehouse", url=template, query="select * from no_such_table")
    with pytest.raises(DataError, match="no_such_table") as caught:
        read_sql(source, {"PGPASS": "env-password-42"})
    assert "env-password-42" not in str(caught.value)
    assert ":***@" in str(caught.value)
    with pytest.raises(DataError, match="'PGPASS' is not set"):
        read_sql(source, {})
    works = SqlSource(name="warehouse", url=template, query="select 1 as x")
    part = read_sql(works, {"PGPASS": "p@ss/w:rd?#"})  # no URL-encoding needed
    assert part.frame["x"].tolist() == [1]
    assert "p@ss" not in part.location and ":***@" in part.location


def test_a_whole_url_from_the_environment(tmp_path: Path, sqlite_db: Path) -> None:
    source = SqlSource(url="${SHOP_URL}", table="customers")
    part = read_sql(source, {"SHOP_URL": f"sqlite:///{sqlite_db}"})
    assert part.rows == 3
    assert part.location == f"sqlite:///{sqlite_db}"


@pytest.mark.postgres
def test_postgres_table_and_query_give_the_same_frame(postgres_url: str) -> None:
    _load(postgres_url)
    by_table = read_sql(SqlSource(name="pg", url=postgres_url, table="customers"), {})
    query = 'select id, "Plan Name", spend from customers'
    by_query = read_sql(SqlSource(name="pg", url=postgres_url, query=query), {})
    pd.testing.assert_frame_equal(by_table.frame, FRAME)
    pd.testing.assert_frame_equal(by_query.frame, FRAME)
    assert by_table.source_hash == by_query.source_hash
    again = read_sql(SqlSource(name="pg", url=postgres_url, table="customers"), {})
    assert again.source_hash == by_table.source_hash


@pytest.mark.postgres
def test_postgres_schema_qualified_table(postgres_url: str) -> None:
    _load(postgres_url, table="Mixed Case")
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        schema = conn.execute(sa.text("select current_schema()")).scalar_one()
    engine.dispose()
    part = read_sql(SqlSource(url=postgres_url, table=f"{schema}.Mixed Case"), {})
    assert part.rows == 3
    assert part.query is not None and f'{schema}."Mixed Case"' in part.query


@pytest.mark.postgres
def test_postgres_failing_query_and_unknown_table_mask_the_password(postgres_url: str) -> None:
    _load(postgres_url)
    with_password = make_url(postgres_url).set(password="s3cret-pw")
    url = with_password.render_as_string(hide_password=False)
    masked = mask_url(url)
    assert "s3cret-pw" not in masked and "***" in masked
    failures = [
        (SqlSource(name="pg", url=url, query="selec id from customers"), "syntax error"),
        (SqlSource(name="pg", url=url, table="nowhere"), 'relation "nowhere" does not exist'),
    ]
    for source, expected in failures:
        with pytest.raises(DataError) as caught:
            read_sql(source, {})
        message = str(caught.value)
        assert "s3cret-pw" not in message
        assert f"source 'pg' ({masked})" in message
        assert expected in message


def test_connection_refused_names_the_masked_url() -> None:
    url = "postgresql+psycopg://loopml:topsecret@127.0.0.1:1/db?connect_timeout=2"
    with pytest.raises(DataError) as caught:
        read_sql(SqlSource(name="pg", url=url, query="select 1"), {})
    message = str(caught.value)
    assert "topsecret" not in message
    assert "loopml:***@127.0.0.1:1/db" in message
    assert "cannot connect" in message
