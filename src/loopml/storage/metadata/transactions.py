"""One transaction per store method: retries, and driver errors turned into loopml errors.

``Database.read`` and ``Database.write`` run a function inside one transaction and return
its result. SQLAlchemy and driver exceptions never leave this module: they become
``StorageError`` (chained), or ``ConflictError`` for a unique constraint that a concurrent
change won. A write that hits a transient failure ("database is locked" on SQLite, a
serialization failure or deadlock on PostgreSQL) is retried a few times with a backoff;
``retry_unique=True`` also retries on a unique violation, for writes that pick the next
free key themselves (model version numbers).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from loopml.errors import ConflictError, StorageError
from loopml.storage.metadata.engine import WRITE_OPTION

T = TypeVar("T")

WRITE_ATTEMPTS = 12
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
_TRANSIENT_SQLITE_TEXT = ("database is locked", "database table is locked", "database is busy")


class Database:
    """An engine plus the transaction helpers every store mixin uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.label = engine.url.render_as_string(hide_password=True)
        self._writer = engine.execution_options(**{WRITE_OPTION: True})

    def read(self, fn: Callable[[sa.Connection], T]) -> T:
        """Run ``fn`` in a read transaction and return its result."""
        try:
            with self.engine.connect() as conn, conn.begin():
                return fn(conn)
        except sa_exc.SQLAlchemyError as exc:
            raise self.storage_error(exc) from exc

    def write(self, fn: Callable[[sa.Connection], T], *, retry_unique: bool = False) -> T:
        """Run ``fn`` in a write transaction (retried when transient) and return its result.

        Raises ConflictError when a unique constraint fails (after the retries, with
        ``retry_unique``), StorageError for any other database failure.
        """
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            last = attempt == WRITE_ATTEMPTS
            try:
                with self._writer.begin() as conn:
                    return fn(conn)
            except sa_exc.IntegrityError as exc:
                if not is_unique_violation(exc):
                    raise self.storage_error(exc) from exc
                if not retry_unique or last:
                    raise ConflictError(
                        f"A concurrent change won in the metadata store {self.label}: "
                        f"{driver_message(exc)}. Try again."
                    ) from exc
            except sa_exc.DBAPIError as exc:
                if not is_transient(exc) or last:
                    raise self.storage_error(exc) from exc
            except sa_exc.SQLAlchemyError as exc:
                raise self.storage_error(exc) from exc
            _backoff(attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def storage_error(self, exc: BaseException) -> StorageError:
        """A StorageError naming this database and the driver's message."""
        return StorageError(
            f"The metadata store {self.label} failed: {driver_message(exc)}. "
            "Check that the database is reachable and writable."
        )

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def is_unique_violation(exc: sa_exc.DBAPIError) -> bool:
    """Whether ``exc`` is a unique or primary-key constraint failure."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        return str(sqlstate) == "23505"
    return "UNIQUE constraint failed" in str(orig) or "PRIMARY KEY" in str(orig)


def is_transient(exc: sa_exc.DBAPIError) -> bool:
    """Whether retrying the transaction may succeed (lock timeouts, serialization)."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _TRANSIENT_SQLSTATES:
        return True
    text = str(orig).lower()
    return any(marker in text for marker in _TRANSIENT_SQLITE_TEXT)


def driver_message(exc: BaseException) -> str:
    """The first line of the driver's message (or of ``exc``'s)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__


def _backoff(attempt: int) -> None:
    time.sleep(min(0.5, 0.005 * 2**attempt) * (0.5 + random.random()))  # noqa: S311 - jitter
