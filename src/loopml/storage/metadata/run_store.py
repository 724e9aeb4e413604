"""Runs, their tags and their metrics (the ``RunStore`` contract) on SQL."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from loopml.domain import Metric, Run, RunStatus
from loopml.errors import ConflictError, NotFoundError
from loopml.storage.metadata import tables as t
from loopml.storage.metadata.base import StoreBase
from loopml.storage.metadata.codec import (
    metric_from_row,
    metric_value,
    new_id,
    run_from_row,
    to_json,
    utcnow,
)

MIN_PREFIX = 4
_HEX = re.compile(r"^[0-9a-f]+$")
_CHUNK = 500  # ids per IN (...) clause


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
        query = sa.select(t.runs).where(t.runs.c.project_id == project_id)
        if name is not None:
            query = query.where(t.runs.c.name == name)
        if status is not None:
            query = query.where(t.runs.c.status == RunStatus(status).value)
        if parent_run_id is not None:
            query = query.where(t.runs.c.parent_run_id == parent_run_id)
        query = query.order_by(t.runs.c.id.desc()).limit(limit)
        return self._db.read(lambda conn: self._runs_with_tags(conn, query))

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

        Raises NotFoundError for an unknown run.
        """
        if not metrics:
            return
        now = utcnow()
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

        self._db.write(insert)

    def get_metrics(self, run_id: str, key: str | None = None) -> list[Metric]:
        """All values of a run's metrics (or of one key), by key then step."""
        m = t.metrics.c
        query = sa.select(m.key, m.value, m.step, m.timestamp).where(m.run_id == run_id)
        if key is not None:
            query = query.where(m.key == key)
        query = query.order_by(m.key, m.step, m.id)
        return self._db.read(lambda conn: [metric_from_row(row) for row in conn.execute(query)])

    def latest_metrics(self, run_ids: Sequence[str]) -> dict[str, dict[str, float]]:
        """For each run, each key's value at its highest step (the last logged on a tie).

        Every requested run is a key of the result, with {} when it has no metrics.
        """
        wanted = list(dict.fromkeys(run_ids))

        def read(conn: sa.Connection) -> dict[str, dict[str, float]]:
            result: dict[str, dict[str, float]] = {run_id: {} for run_id in wanted}
            for start in range(0, len(wanted), _CHUNK):
                for row in conn.execute(_latest_query(wanted[start : start + _CHUNK])):
                    value = float("nan") if row.value is None else row.value
                    result[row.run_id][row.key] = value
            return result

        return self._db.read(read)

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
        return found[0]

    def _load_run(self, conn: sa.Connection, run_id: str) -> Run:
        runs = self._runs_with_tags(conn, sa.select(t.runs).where(t.runs.c.run_id == run_id))
        if not runs:
            self._require_run(conn, run_id)  # raises NotFoundError
        return runs[0]

    def _runs_with_tags(self, conn: sa.Connection, query: sa.Select[Any]) -> list[Run]:
        rows = conn.execute(query).all()
        tags: dict[str, dict[str, str]] = {row.run_id: {} for row in rows}
        ids = list(tags)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            tag_query = sa.select(t.run_tags).where(t.run_tags.c.run_id.in_(chunk))
            for tag in conn.execute(tag_query.order_by(t.run_tags.c.key)):
                tags[tag.run_id][tag.key] = tag.value
        return [run_from_row(row, tags[row.run_id]) for row in rows]


def _latest_query(run_ids: list[str]) -> sa.Select[Any]:
    m = t.metrics.c
    rank = (
        sa.func.row_number()
        .over(partition_by=(m.run_id, m.key), order_by=(m.step.desc(), m.id.desc()))
        .label("rank")
    )
    ranked = sa.select(m.run_id, m.key, m.value, rank).where(m.run_id.in_(run_ids)).subquery()
    return sa.select(ranked.c.run_id, ranked.c.key, ranked.c.value).where(ranked.c.rank == 1)
