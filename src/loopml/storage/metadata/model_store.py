"""The model registry (versions and aliases) on SQL.

Version numbers are allocated as ``max(version) + 1`` inside the registering transaction:
SQLite's ``BEGIN IMMEDIATE`` serializes writers, PostgreSQL takes a transaction-level
advisory lock on the model name, and the unique (name, version) constraint plus a retry
settle any race that remains. Numbers are therefore unique and gap-free per name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from loopml.domain import ModelVersion, Schema
from loopml.errors import NotFoundError
from loopml.storage.metadata import tables as t
from loopml.storage.metadata.base import StoreBase
from loopml.storage.metadata.codec import (
    model_version_from_row,
    schema_to_json,
    to_json,
    utcnow,
)

_LOCK_CLASS = 0x6C6D6C  # first key of pg_advisory_xact_lock(int, int): "lml"


class ModelStoreMixin(StoreBase):
    """Register model versions, point aliases at them, look them up."""

    def create_model_version(
        self,
        project_id: str,
        name: str,
        *,
        run_id: str,
        artifact_digest: str,
        signature: Schema,
        metrics: Mapping[str, float],
        lineage: Mapping[str, Any],
    ) -> ModelVersion:
        """Register the next version of ``name`` (1, 2, ...), race-safe across processes.

        Raises NotFoundError for an unknown project.
        """
        values = {
            "project_id": project_id,
            "name": name,
            "run_id": run_id,
            "artifact_digest": artifact_digest,
            "signature": schema_to_json(signature, f"signature of model '{name}'"),
            "metrics": to_json({k: float(v) for k, v in metrics.items()}, "model metrics"),
            "lineage": to_json(dict(lineage), f"lineage of model '{name}'"),
        }

        def register(conn: sa.Connection) -> ModelVersion:
            self._require_project(conn, project_id)
            if self._db.dialect == "postgresql":
                conn.execute(
                    sa.select(sa.func.pg_advisory_xact_lock(_LOCK_CLASS, sa.func.hashtext(name)))
                )
            version = (_latest_version(conn, name) or 0) + 1
            conn.execute(
                sa.insert(t.model_versions).values(**values, version=version, created_at=utcnow())
            )
            return self._load_version(conn, name, version)

        return self._db.write(register, retry_unique=True)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """Return version ``version`` of ``name``.

        Raises NotFoundError naming the latest version when it does not exist.
        """
        return self._db.read(lambda conn: self._load_version(conn, name, version))

    def get_model_by_alias(self, name: str, alias: str) -> ModelVersion:
        """Return the version of ``name`` that ``alias`` points at; NotFoundError if none."""

        def get(conn: sa.Connection) -> ModelVersion:
            a = t.model_aliases.c
            version = conn.execute(
                sa.select(a.version).where(a.name == name, a.alias == alias)
            ).scalar()
            if version is None:
                self._require_model(conn, name)
                raise NotFoundError(
                    f"Model '{name}' has no alias '{alias}' "
                    f"({_describe_aliases(conn, name)}). Run `loopml models {name}`."
                )
            return self._load_version(conn, name, version)

        return self._db.read(get)

    def list_model_versions(self, name: str | None = None) -> list[ModelVersion]:
        """Versions of one model (or all models), newest first, with their aliases."""
        mv = t.model_versions
        query = sa.select(mv).order_by(mv.c.id.desc())
        if name is not None:
            query = query.where(mv.c.name == name)

        def read(conn: sa.Connection) -> list[ModelVersion]:
            rows = conn.execute(query).all()
            aliases = _aliases(conn, {row.name for row in rows})
            return [
                model_version_from_row(row, aliases.get((row.name, row.version), ()))
                for row in rows
            ]

        return self._db.read(read)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` at ``version`` (moving it from any other version).

        Raises NotFoundError when the model or the version does not exist.
        """
        row = {"name": name, "alias": alias, "version": version, "updated_at": utcnow()}

        def point(conn: sa.Connection) -> None:
            self._load_version(conn, name, version)  # raises NotFoundError
            self._upsert(
                conn,
                t.model_aliases,
                [row],
                keys=("name", "alias"),
                update=("version", "updated_at"),
            )

        self._db.write(point, retry_unique=True)

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``alias`` from model ``name``; NotFoundError if it is not set."""

        def delete(conn: sa.Connection) -> None:
            a = t.model_aliases.c
            result = conn.execute(
                sa.delete(t.model_aliases).where(a.name == name, a.alias == alias)
            )
            if result.rowcount == 0:
                self._require_model(conn, name)
                raise NotFoundError(
                    f"Model '{name}' has no alias '{alias}' "
                    f"({_describe_aliases(conn, name)}). Run `loopml models {name}`."
                )

        self._db.write(delete)

    def _load_version(self, conn: sa.Connection, name: str, version: int) -> ModelVersion:
        mv = t.model_versions.c
        row = conn.execute(
            sa.select(t.model_versions).where(mv.name == name, mv.version == version)
        ).first()
        if row is None:
            latest = self._require_model(conn, name)
            raise NotFoundError(
                f"Model '{name}' has no version {version} (latest is {latest}). "
                f"Run `loopml models {name}`."
            )
        aliases = _aliases(conn, {name}).get((name, version), ())
        return model_version_from_row(row, aliases)

    def _require_model(self, conn: sa.Connection, name: str) -> int:
        """The latest version of ``name``; NotFoundError if it has none."""
        latest = _latest_version(conn, name)
        if latest is None:
            raise NotFoundError(
                f"No model named '{name}' is registered in the metadata store "
                f"{self._db.label}. Run `loopml models` to list models."
            )
        return latest


def _latest_version(conn: sa.Connection, name: str) -> int | None:
    mv = t.model_versions.c
    return conn.execute(sa.select(sa.func.max(mv.version)).where(mv.name == name)).scalar()


def _aliases(conn: sa.Connection, names: Iterable[str]) -> dict[tuple[str, int], tuple[str, ...]]:
    """Aliases of the given models by (name, version), sorted by alias."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    a = t.model_aliases.c
    found: dict[tuple[str, int], list[str]] = {}
    query = sa.select(a.name, a.alias, a.version).where(a.name.in_(wanted)).order_by(a.alias)
    for row in conn.execute(query):
        found.setdefault((row.name, row.version), []).append(row.alias)
    return {key: tuple(value) for key, value in found.items()}


def _describe_aliases(conn: sa.Connection, name: str) -> str:
    pairs = sorted(
        (alias, version)
        for (_, version), aliases in _aliases(conn, {name}).items()
        for alias in aliases
    )
    if not pairs:
        return "it has no aliases"
    return "aliases: " + ", ".join(f"{alias} -> {version}" for alias, version in pairs)
