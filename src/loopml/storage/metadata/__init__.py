"""The metadata store: runs, metrics, snapshots, models, deployments, events.

``open_metadata_store(url)`` returns a ``MetadataStore`` (see ``protocols``) on SQLite or
PostgreSQL; ``upgrade_database(url)`` brings an older schema up to ``SCHEMA_REVISION``.
SQLAlchemy is imported on first use, so importing the protocols stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml.storage.metadata.protocols import MetadataStore

if TYPE_CHECKING:
    from loopml.storage.metadata.store import SqlMetadataStore

# The head of migrations/versions (a test checks it against Alembic's head). Opening a
# store compares it with the database's alembic_version without importing Alembic.
SCHEMA_REVISION = "0006"

__all__ = ["SCHEMA_REVISION", "MetadataStore", "open_metadata_store", "upgrade_database"]


def open_metadata_store(url: str) -> SqlMetadataStore:
    """Open the metadata store at ``url``; an empty database gets the current schema.

    Raises ``SchemaOutdated`` for a database at another schema revision (run
    `loopml db upgrade`) and ``StorageError`` when the database cannot be opened.
    """
    from loopml.storage.metadata.store import open_metadata_store as _open

    return _open(url)


def upgrade_database(url: str, target: str = "head") -> str:
    """Upgrade the database at ``url`` to ``target`` (default: ``SCHEMA_REVISION``) and
    return the revision it is then at.

    Raises ``StorageError`` when the database cannot be reached or upgraded.
    """
    from loopml.storage.metadata.migrate import upgrade_database as _upgrade

    return _upgrade(url, target)
