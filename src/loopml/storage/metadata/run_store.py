"""Runs, their tags, params and metrics (the ``RunStore`` contract) on SQL."""

from __future__ import annotations

import collections
import functools
import itertools
import json
import math
import os
import re
import socket
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from loopml.domain import Metric, Run, RunStatus
from loopml.errors import ConflictError, NotFoundError
from loopml.storage.metadata import tables as t
from loopml.storage.metadata.base import StoreBase
from loopml.storage.metadata.codec import (
    AnyRow,
    from_json,
    metric_from_row,
    metric_value,
    new_id,
    run_from_row,
    to_json,
    utcnow,
)
from loopml.storage.metadata.protocols import Condition
from loopml.storage.metadata.run_search import (
    MetricColumns,
    join_metrics,
    matches_in_python,
    order_clause,
    param_prefilter,
    sql_filter,
)

MIN_PREFIX = 4
_HEX = re.compile(r"^[0-9a-f]+$")
_CHUNK = 500  # runs filtered in Python per fetch


class RunStoreMixin(StoreBase):
    """Create, finish, find and list runs; log and read their metrics."""

    def create_run(
        self,
        project_id: str,
        name: str,
        *,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        cache_key: str | None = None,
        code_version: str = "",
        status: RunStatus = RunStatus.RUNNING,
        outputs: Mapping[str, str] | None = None,
    ) -> Run:
        """Start a run (or record a finished one) and return it.

        Raises NotFoundError for an unknown project or parent run.
        """
        status = RunStatus(status)
        now = utcnow()
        run_id = new_id()
        values: dict[str, Any] = {
            "run_id": run_id,
            "project_id": project_id,
            "name": name,
            "status": status.value,
            "started_at": now,
            "ended_at": now if status.finished else None,
            "params": to_json(dict(params or {}), f"params of run '{name}'"),
            "outputs": to_json(dict(outputs or {}), f"outputs of run '{name}'"),
            "error": None,
            "code_version": code_version,
            "parent_run_id": parent_run_id,
            "cache_key": cache_key,
            "pid": os.getpid(),
            "host": socket.gethostname(),
        }
        tag_rows = [{"run_id": run_id, "key": k, "value": str(v)} for k, v in (tags or {}).items()]

        def insert(conn: sa.Connection) -> Run:
            self._require_project(conn, project_id)
            if parent_run_id is not None:
                self._require_run(conn, parent_run_id)
            conn.execute(sa.insert(t.runs).values(**values))
            if tag_rows:
                conn.execute(sa.insert(t.run_tags), tag_rows)
            return self._load_run(conn, run_id)

        return self._db.write(insert)

    def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        *,
        error: str | None = None,
        outputs: Mapping[str, str] | None = None,
    ) -> Run:
        """Set the final status, end time, error and outputs (when given) of a running run.

        Raises NotFoundError for an unknown run, ConflictError if it already finished.
        """
        status = RunStatus(status)
        if not status.finished:
            raise ValueError(f"finish_run needs a final status, not '{status.value}'")
        changes: dict[str, Any] = {"status": status.value, "ended_at": utcnow(), "error": error}
        if outputs is not None:
            changes["outputs"] = to_json(dict(outputs), f"outputs of run '{run_id}'")

        def update(conn: sa.Connection) -> Run:
            result = conn.execute(
                sa.update(t.runs)
                .where(t.runs.c.run_id == run_id, t.runs.c.status == RunStatus.RUNNING.value)
                .values(**changes)
            )
            run = self._load_run(conn, run_id)
            if result.rowcount == 0:
                raise ConflictError(
                    f"Run '{run_id}' ({run.name}) already finished with status "
                    f"'{run.status.value}'; a finished run cannot be finished again."
                )
            return run

        return self._db.write(update)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Add or overwrite tags of a run. Raises NotFoundError for an unknown run."""
        rows = [{"run_id": run_id, "key": k, "value": str(v)} for k, v in tags.items()]

        def upsert(conn: sa.Connection) -> None:
            self._require_run(conn, run_id)
            self._upsert(conn, t.run_tags, rows, keys=("run_id", "key"), update=("value",))

        self._db.write(upsert)

    def set_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Add or overwrite parameters of a run. Raises NotFoundError for an unknown run."""
        added = dict(params)

        def update(conn: sa.Connection) -> None:
            query = sa.select(t.runs.c.params).where(t.runs.c.run_id == run_id)
            row = conn.execute(query.with_for_update()).first()
            if row is None:
                self._require_run(conn, run_id)  # raises NotFoundError
                return
            if added:
                merged = to_json({**from_json(row.params), **added}, f"params of run '{run_id}'")
                conn.execute(
                    sa.update(t.runs).where(t.runs.c.run_id == run_id).values(params=merged)
                )

        self._db.write(update)

    def get_run(self, run_id: str) -> Run:
        """Return the run with this id or unique prefix (at least 4 characters).

        Raises NotFoundError if no run matches, ConflictError if several do.
        """
        wanted = run_id.strip().lower()
        return self._db.read(lambda conn: self._load_run(conn, self._resolve_run_id(conn, wanted)))

    def list_runs(
        self,
        project_id: str,
        *,
        name: str | None = None,
        status: RunStatus | None = None,
        parent_run_id: str | None = None,
        limit: int = 100,
    ) -> list[Run]:
        """Runs of a project, newest first, optionally filtered."""
        query, _, _ = self._filtered(project_id, (), name, status, parent_run_id)
        query = query.order_by(t.runs.c.id.desc()).limit(limit)
        return self._db.read(lambda conn: self._runs_with_tags(conn, query))

    def search_runs(
        self,
        project_id: str,
        *,
        where: Sequence[Condition] = (),
        name: str | None = None,
        status: RunStatus | None = None,
        parent_run_id: str | None = None,
        order_by: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Run]:
        """Runs of a project matching every condition of ``where``, in one SQL query.

        Metric and attribute conditions are SQL (joined latest values, see
        ``run_search``); params and tags are JSON text and tag rows, compared in Python on
        the ids and params that SQL returns in order (the same on every backend), chunk by
        chunk until ``limit`` runs match; only the page's runs are then read whole. See
        ``RunStore.search_runs``.
        """
        query, in_python, metrics = self._filtered(
            project_id, where, name, status, parent_run_id, order_by=order_by
        )
        query = query.order_by(*order_clause(order_by, self._db.dialect, metrics))
        if not in_python:
            return self._db.read(lambda conn: self._page(conn, query, limit, offset))

        def read(conn: sa.Connection) -> list[Run]:
            matching = self._matching_ids(conn, query, in_python, first=offset + limit)
            return self._whole_runs(conn, list(itertools.islice(matching, offset, offset + limit)))

        return self._db.read(read)

    def count_runs(
        self,
        project_id: str,
        *,
        where: Sequence[Condition] = (),
        name: str | None = None,
        status: RunStatus | None = None,
        parent_run_id: str | None = None,
    ) -> int:
        """How many runs ``search_runs`` finds with the same filters (all pages): one
        ``count(*)`` in SQL, or, with param or tag conditions, a pass over the ids and
        params SQL keeps, filtered in Python as the search filters them."""
        query, in_python, _ = self._filtered(project_id, where, name, status, parent_run_id)
        if not in_python:
            counted = sa.select(sa.func.count()).select_from(query.subquery())
            return self._db.read(lambda conn: int(conn.execute(counted).scalar_one()))
        return self._db.read(
            lambda conn: sum(1 for _ in self._matching_ids(conn, query, in_python))
        )

    def _matching_ids(
        self,
        conn: sa.Connection,
        query: sa.Select[Any],
        in_python: Sequence[Condition],
        *,
        first: int = _CHUNK,
    ) -> Iterator[str]:
        """The ids of ``query``'s runs (in its order) whose params and tags meet
        ``in_python``, read narrow (id and params, tags only when a condition names one)
        ``first`` rows, then chunk by chunk, as far as the caller iterates (SQLite stops
        sorting early when asked for few rows)."""
        narrow = query.with_only_columns(t.runs.c.run_id, t.runs.c.params)
        with_tags = any(c.kind == "tag" for c in in_python)
        result = conn.execute(narrow)
        size = max(first, 1)
        try:
            while rows := result.fetchmany(size):
                size = _CHUNK
                tags = self._tags_of(conn, [r.run_id for r in rows]) if with_tags else {}
                for run_id, params in rows:
                    if matches_in_python(from_json(params), tags.get(run_id, {}), in_python):
                        yield run_id
        finally:
            result.close()

    def _filtered(
        self,
        project_id: str,
        where: Sequence[Condition],
        name: str | None,
        status: RunStatus | None,
        parent_run_id: str | None,
        *,
        order_by: str | None = None,
    ) -> tuple[sa.Select[Any], list[Condition], MetricColumns]:
        """The runs query with every filter SQL can apply, joined with the latest values
        of the metrics the conditions and ``order_by`` name (their columns), and the
        conditions left for Python (params and tags). Raises TypeError for a condition
        that is not one."""
        conditions = list(where)
        for condition in conditions:
            if not isinstance(condition, Condition):
                raise TypeError(f"search_runs takes Condition objects, not {condition!r}")
        query = sa.select(t.runs).where(t.runs.c.project_id == project_id)
        if name is not None:
            query = query.where(t.runs.c.name == name)
        if status is not None:
            query = query.where(t.runs.c.status == RunStatus(status).value)
        if parent_run_id is not None:
            query = query.where(t.runs.c.parent_run_id == parent_run_id)
        query, metrics = join_metrics(query, conditions, order_by)
        for condition in conditions:
            if condition.kind in ("metric", "attribute"):
                query = query.where(sql_filter(condition, self._db.dialect, metrics))
            elif (prefilter := param_prefilter(condition)) is not None:
                query = query.where(prefilter)
        return query, [c for c in conditions if c.kind in ("param", "tag")], metrics

    def find_cached_run(self, project_id: str, name: str, cache_key: str) -> Run | None:
        """The newest succeeded run of step ``name`` with ``cache_key``, or None."""
        query = (
            sa.select(t.runs)
            .where(
                t.runs.c.project_id == project_id,
                t.runs.c.name == name,
                t.runs.c.cache_key == cache_key,
                t.runs.c.status == RunStatus.SUCCEEDED.value,
            )
            .order_by(t.runs.c.id.desc())
            .limit(1)
        )
        found = self._db.read(lambda conn: self._runs_with_tags(conn, query))
        return found[0] if found else None

    def log_metrics(self, run_id: str, metrics: Sequence[Metric]) -> None:
        """Append metric values in one transaction (timestamps default to now).

        On SQLite the rows go straight to the driver's ``executemany`` (about 3 times
        faster than through SQLAlchemy's per-row type processing), with the timestamps
        written exactly as ``UTCDateTime`` writes them. Raises NotFoundError for an
        unknown run.
        """
        if not metrics:
            return
        now = utcnow()
        if self._db.dialect == "sqlite":
            tuples = [
                (
                    run_id,
                    m.key,
                    metric_value(m.value),
                    int(m.step),
                    _sqlite_timestamp(m.timestamp or now),
                )
                for m in metrics
            ]

            def insert_sqlite(conn: sa.Connection) -> None:
                self._require_run(conn, run_id)
                conn.exec_driver_sql(_SQLITE_INSERT_METRICS, tuples)
                _keep_latest(conn, "sqlite", run_id, metrics)

            self._db.write(insert_sqlite)
            return
        rows = [
            {
                "run_id": run_id,
                "key": m.key,
                "value": metric_value(m.value),
                "step": int(m.step),
                "timestamp": m.timestamp or now,
            }
            for m in metrics
        ]

        def insert(conn: sa.Connection) -> None:
            self._require_run(conn, run_id)
            conn.execute(sa.insert(t.metrics), rows)
            _keep_latest(conn, self._db.dialect, run_id, metrics)

        self._db.write(insert)

    def get_metrics(self, run_id: str, key: str | None = None) -> list[Metric]:
        """All values of a run's metrics (or of one key), by key then step."""
        m = t.metrics.c
        query = sa.select(m.key, m.value, m.step, m.timestamp).where(m.run_id == run_id)
        if key is not None:
            query = query.where(m.key == key)
        query = query.order_by(m.key, m.step, m.id)
        return self._db.read(lambda conn: [metric_from_row(row) for row in conn.execute(query)])

    def latest_metrics(
        self, run_ids: Sequence[str], keys: Sequence[str] | None = None
    ) -> dict[str, dict[str, float]]:
        """For each run, each key's value at its highest step (the last logged on a tie),
        read from ``latest_metrics``.

        ``keys`` limits the result to those metrics. Every requested run is a key of the
        result, with {} when it has none.
        """
        wanted = list(dict.fromkeys(run_ids))
        if not wanted:
            return {}
        chosen = None if keys is None else list(dict.fromkeys(keys))

        def read(conn: sa.Connection) -> dict[str, dict[str, float]]:
            result: dict[str, dict[str, float]] = {run_id: {} for run_id in wanted}
            if chosen == []:
                return result
            rows = self._latest_rows(conn, wanted, chosen)
            for run_id, key, value in sorted(rows, key=_by_key):
                result[run_id][key] = math.nan if value is None else value  # NULL is NaN
            return result

        return self._db.read(read)

    def _latest_rows(
        self, conn: sa.Connection, run_ids: list[str], keys: list[str] | None
    ) -> Sequence[Any]:
        """(run_id, key, value) of ``latest_metrics`` for ``run_ids`` (and ``keys``). On
        SQLite the driver reads them raw: three times faster than SQLAlchemy's rows."""
        if self._db.dialect == "sqlite":
            if keys is None:
                return conn.exec_driver_sql(_SQLITE_LATEST, (json.dumps(run_ids),)).all()
            both = (json.dumps(run_ids), json.dumps(keys))
            return conn.exec_driver_sql(_SQLITE_LATEST + _SQLITE_KEYS, both).all()
        latest = t.latest_metrics.c
        query = sa.select(latest.run_id, latest.key, latest.value)
        query = query.where(in_ids(latest.run_id, run_ids, self._db.dialect))
        if keys is not None:
            query = query.where(latest.key.in_(keys))
        return conn.execute(query).all()

    def _resolve_run_id(self, conn: sa.Connection, wanted: str) -> str:
        if len(wanted) < MIN_PREFIX or not _HEX.match(wanted):
            raise NotFoundError(
                f"'{wanted}' is not a run id: give a run id or at least {MIN_PREFIX} of its "
                "first hex characters. Run `loopml runs` to list runs."
            )
        found = (
            conn.execute(
                sa.select(t.runs.c.run_id).where(t.runs.c.run_id.startswith(wanted)).limit(6)
            )
            .scalars()
            .all()
        )
        if wanted in found:
            return wanted
        if not found:
            raise NotFoundError(
                f"No run id starts with '{wanted}' in the metadata store {self._db.label}. "
                "Run `loopml runs` to list runs."
            )
        if len(found) > 1:
            shown = ", ".join(sorted(found)[:5])
            raise ConflictError(
                f"Run prefix '{wanted}' matches several runs ({shown}); "
                "give more characters of the run id."
            )
        return str(found[0])

    def _load_run(self, conn: sa.Connection, run_id: str) -> Run:
        runs = self._runs_with_tags(conn, sa.select(t.runs).where(t.runs.c.run_id == run_id))
        if not runs:
            self._require_run(conn, run_id)  # raises NotFoundError
        return runs[0]

    def _runs_with_tags(self, conn: sa.Connection, query: sa.Select[Any]) -> list[Run]:
        return self._attach_tags(conn, conn.execute(query).all())

    def _page(
        self, conn: sa.Connection, query: sa.Select[Any], limit: int, offset: int
    ) -> list[Run]:
        """One page of ``query``: its run ids first (narrow rows sort and skip fast), then
        those runs whole, in the same order."""
        page = query.with_only_columns(t.runs.c.run_id).limit(limit).offset(offset)
        return self._whole_runs(conn, list(conn.execute(page).scalars()))

    def _whole_runs(self, conn: sa.Connection, run_ids: list[str]) -> list[Run]:
        """The runs ``run_ids`` with their tags, in that order."""
        if not run_ids:
            return []
        whole = sa.select(t.runs).where(in_ids(t.runs.c.run_id, run_ids, self._db.dialect))
        position = {run_id: i for i, run_id in enumerate(run_ids)}
        return sorted(self._runs_with_tags(conn, whole), key=lambda run: position[run.run_id])

    def _tags_of(self, conn: sa.Connection, run_ids: list[str]) -> dict[str, dict[str, str]]:
        tags: dict[str, dict[str, str]] = {run_id: {} for run_id in run_ids}
        if tags:
            tag = t.run_tags.c
            tag_query = sa.select(tag.run_id, tag.key, tag.value).where(
                in_ids(tag.run_id, run_ids, self._db.dialect)
            )
            for run_id, key, value in conn.execute(tag_query.order_by(tag.key)).all():
                tags[run_id][key] = value
        return tags

    def _attach_tags(self, conn: sa.Connection, rows: Sequence[AnyRow]) -> list[Run]:
        tags = self._tags_of(conn, [row.run_id for row in rows])
        if not rows:
            return []
        # SQLAlchemy's Row finds each attribute by name in Python (about 0.4 us a field);
        # a namedtuple of the same fields does it in C: a third less time per run.
        make = _run_fields(tuple(rows[0]._fields))._make
        records = [make(row) for row in rows]
        return [run_from_row(record, tags[record.run_id]) for record in records]


def _by_key(row: Any) -> Any:
    return row[1]


@functools.cache
def _run_fields(names: tuple[str, ...]) -> Any:
    return collections.namedtuple("RunRow", names)


_SQLITE_INSERT_METRICS = (
    "INSERT INTO metrics (run_id, key, value, step, timestamp) VALUES (?, ?, ?, ?, ?)"
)


# without ORDER BY: SQLite would then walk the (key, value) index, not the primary key
_SQLITE_LATEST = (
    "SELECT run_id, key, value FROM latest_metrics WHERE run_id IN (SELECT value FROM json_each(?))"
)
_SQLITE_KEYS = " AND key IN (SELECT value FROM json_each(?))"


def _sqlite_timestamp(value: datetime) -> str:
    """``value`` in UTC as SQLAlchemy's SQLite DATETIME stores it (naive input is UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


def id_table(ids: Sequence[str], dialect: str) -> Any:
    """A table of ``ids`` (column ``value``) from one bound parameter, however many ids:
    ``unnest(array)`` on PostgreSQL, ``json_each(json)`` on SQLite (no variable limit, and
    none of the per-id work of an expanding ``IN`` list)."""
    if dialect == "postgresql":
        array = sa.bindparam(None, list(ids), type_=postgresql.ARRAY(sa.Text))
        return sa.func.unnest(array).table_valued("value").render_derived()
    text = sa.bindparam(None, json.dumps(list(ids)), type_=sa.Text)
    return sa.func.json_each(text).table_valued("value")


def in_ids(column: sa.ColumnElement[Any], ids: Sequence[str], dialect: str) -> Any:
    """``column IN ids`` with one bound parameter (see ``id_table``)."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(ids), type_=postgresql.ARRAY(sa.Text)))
    return column.in_(sa.select(id_table(ids, dialect).c.value).scalar_subquery())


def _keep_latest(conn: sa.Connection, dialect: str, run_id: str, logged: Sequence[Metric]) -> None:
    """Bring ``latest_metrics`` up to date with values just logged: the last of each key's
    highest step in the batch replaces the kept one unless that one has a higher step
    (an upsert, on SQLite and PostgreSQL alike)."""
    newest: dict[str, Metric] = {}
    for metric in logged:
        kept = newest.get(metric.key)
        if kept is None or metric.step >= kept.step:
            newest[metric.key] = metric
    rows = [
        {"run_id": run_id, "key": m.key, "value": metric_value(m.value), "step": int(m.step)}
        for m in newest.values()
    ]
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(t.latest_metrics)
    upsert = insert.on_conflict_do_update(
        index_elements=["run_id", "key"],
        set_={"value": insert.excluded.value, "step": insert.excluded.step},
        where=insert.excluded.step >= t.latest_metrics.c.step,
    )
    conn.execute(upsert, rows)
