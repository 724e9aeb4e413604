"""Read a SQL source (a query, or a whole table) through SQLAlchemy into a DataFrame."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from loopml.data.sources.env import interpolate
from loopml.data.sources.records import SourceData, frame_hash
from loopml.errors import DataError
from loopml.spec.sources import SqlSource

# user:password@ in a URL that SQLAlchemy cannot parse, to mask it anyway
_USERINFO = re.compile(r"(://[^:/@]*:)[^@]*@")
_MAX_TABLES_SHOWN = 20


def read_sql(
    source: SqlSource, env: Mapping[str, str], *, project_dir: Path | None = None
) -> SourceData:
    """Run ``source.query`` (or read ``source.table``) and return its rows.

    Args:
        source: the SQL source; ``${VAR}`` in its URL is replaced from ``env`` (see
            ``_resolve_url``).
        env: the environment for ``${VAR}`` references.
        project_dir: the folder a relative SQLite file path is taken from (default: the
            current folder, as SQLAlchemy does).

    Returns:
        The rows, the URL with its password masked as ``location``, and the sha256 of the
        rows (the same rows give the same hash).

    Raises:
        DataError: a variable is not set, the URL or driver is unknown, the database
            cannot be reached, the SQL fails or the table does not exist, or no row came
            back. The message names the source and the masked URL, never the password.

    The connection is rolled back when done, so a query cannot change the database. For a
    table, the record's ``query`` is the SELECT that was run.
    """
    url = _resolve_url(source, env)
    masked = url.render_as_string(hide_password=True)  # as written: a SQLite path stays relative
    url = _sqlite_path(url, source, project_dir)
    where = f"source '{source.name}' ({masked})"
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise DataError(
            f"{where}: cannot use this database URL: {exc}. Check the dialect and driver "
            "(e.g. postgresql+psycopg://, sqlite:///file.db) and that the driver is installed."
        ) from None
    try:
        frame = _run(engine, source, where, url.password)
        query = source.query or _compiled(_statement(source), engine)
    finally:
        engine.dispose()
    if len(frame) == 0:
        raise DataError(
            f"{where}: the {'query' if source.query else 'table'} returned no rows "
            f"(columns: {', '.join(map(str, frame.columns[:10]))}); check the "
            f"{'query' if source.query else 'table'} in data.sources"
        )
    return SourceData(
        name=source.name,
        type="sql",
        location=masked,
        query=query,
        source_hash=frame_hash(frame),
        rows=len(frame),
        frame=frame,
    )


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (also when SQLAlchemy cannot parse it)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return _USERINFO.sub(r"\1***@", url)


def _resolve_url(source: SqlSource, env: Mapping[str, str]) -> URL:
    """The URL with ``${VAR}`` replaced from ``env``.

    When the spec's URL parses as it stands, each part (user, password, host, database,
    query values) is filled in separately, so a password may hold ``@``, ``:`` or ``/``
    without URL-encoding. Otherwise (``${DATABASE_URL}``, ``${PORT}``) the whole text is
    filled in first and then parsed, and the values must be URL-encoded.
    """
    field = f"source '{source.name}' url"
    try:
        template = make_url(source.url)
    except (sa.exc.ArgumentError, ValueError):
        return _parse_url(interpolate(source.url, env, field), source)

    def fill(value: str | None) -> str | None:
        return None if value is None else interpolate(value, env, field)

    query = {
        key: tuple(interpolate(v, env, field) for v in value)
        if isinstance(value, tuple)
        else interpolate(value, env, field)
        for key, value in template.query.items()
    }
    return template.set(
        username=fill(template.username),
        password=fill(template.password),
        host=fill(template.host),
        database=fill(template.database),
        query=query,
    )


def _parse_url(text: str, source: SqlSource) -> URL:
    try:
        return make_url(text)
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise DataError(
            f"source '{source.name}': '{mask_url(text)}' is not a SQLAlchemy URL ({exc}); "
            "write dialect+driver://user:${PASSWORD}@host:port/database"
        ) from None


def _sqlite_path(url: URL, source: SqlSource, project_dir: Path | None) -> URL:
    """Resolve a relative SQLite file against ``project_dir`` and require that it exists.

    SQLite would otherwise create an empty database where the file was expected.
    """
    if url.get_backend_name() != "sqlite":
        return url
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return url
    path = Path(database).expanduser()
    if not path.is_absolute() and project_dir is not None:
        path = Path(project_dir) / path
    if not path.is_file():
        raise DataError(
            f"source '{source.name}': no SQLite database at {path}; check the path in the "
            "url (sqlite:///relative/to/project.db or sqlite:////absolute/path.db)"
        )
    return url.set(database=str(path))


def _run(engine: sa.Engine, source: SqlSource, where: str, password: str | None) -> pd.DataFrame:
    """Read the rows; database errors become DataError with the database's own message."""
    statement = _statement(source)
    try:
        conn = engine.connect()
    except sa.exc.SQLAlchemyError as exc:
        raise DataError(
            f"{where}: cannot connect: {_database_message(exc, password)}; check that the "
            "server is up and that host, port, database, user and password in the url are right"
        ) from None
    with conn:  # closing rolls back: a query changes nothing
        try:
            return pd.read_sql(statement, conn)
        except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
            error = _unwrapped(exc)
            detail = _database_message(error, password)
    if isinstance(error, sa.exc.ResourceClosedError):
        hint = "the query must return rows: write a SELECT"
    else:
        hint = _tables_hint(engine, source) if source.table else "check the query"
    raise DataError(f"{where}: {_what(source)} failed: {detail}; {hint}")


def _unwrapped(exc: Exception) -> Exception:
    """The SQLAlchemy error inside pandas' DatabaseError wrapper."""
    cause = exc.__cause__
    if isinstance(exc, pd.errors.DatabaseError) and isinstance(cause, Exception):
        return cause
    return exc


def _statement(source: SqlSource) -> sa.TextClause | sa.Select[Any]:
    if source.query is not None:
        return sa.text(source.query)
    assert source.table is not None  # the spec guarantees one of query and table
    schema, _, name = source.table.rpartition(".")
    table = sa.table(name, schema=schema or None)
    return sa.select(sa.literal_column("*")).select_from(table)


def _compiled(statement: sa.TextClause | sa.Select[Any], engine: sa.Engine) -> str:
    """The SQL text of ``statement`` in the engine's dialect, on one line."""
    return " ".join(str(statement.compile(dialect=engine.dialect)).split())


def _what(source: SqlSource) -> str:
    return "the query" if source.query is not None else f"reading table '{source.table}'"


def _database_message(exc: Exception, password: str | None) -> str:
    """The driver's message (not SQLAlchemy's wrapper with its link), password removed."""
    orig = getattr(exc, "orig", None)
    text = str(orig) if orig is not None else str(exc)
    text = text.split("\n(Background on this error")[0]
    text = " ".join(text.split())
    if password:
        text = text.replace(password, "***")
    return text


def _tables_hint(engine: sa.Engine, source: SqlSource) -> str:
    """Name the tables the database has, when it can tell (only on the error path)."""
    assert source.table is not None
    schema = source.table.rpartition(".")[0] or None
    try:
        names = sorted(sa.inspect(engine).get_table_names(schema=schema))
    except Exception:  # noqa: BLE001 - a hint only; the real error is already reported
        return "check the table name"
    if not names:
        return "the database has no tables there; check the URL and the schema"
    shown = ", ".join(names[:_MAX_TABLES_SHOWN])
    more = f" and {len(names) - _MAX_TABLES_SHOWN} more" if len(names) > _MAX_TABLES_SHOWN else ""
    return f"tables there: {shown}{more}"
