"""The SQL metadata store: every aggregate's mixin composed into one ``MetadataStore``."""

from __future__ import annotations

from loopml.storage.metadata.data_store import (
    ArtifactIndexMixin,
    DataStoreMixin,
    ProjectStoreMixin,
)
from loopml.storage.metadata.engine import create_engine
from loopml.storage.metadata.migrate import ensure_schema
from loopml.storage.metadata.model_store import ModelStoreMixin
from loopml.storage.metadata.ops_store import (
    DeploymentStoreMixin,
    EventStoreMixin,
    FeedbackStoreMixin,
    MonitoringStoreMixin,
)
from loopml.storage.metadata.run_store import RunStoreMixin
from loopml.storage.metadata.transactions import Database
from loopml.storage.metadata.user_store import AuditStoreMixin, UserStoreMixin


class SqlMetadataStore(
    ProjectStoreMixin,
    RunStoreMixin,
    ArtifactIndexMixin,
    DataStoreMixin,
    ModelStoreMixin,
    DeploymentStoreMixin,
    MonitoringStoreMixin,
    FeedbackStoreMixin,
    EventStoreMixin,
    UserStoreMixin,
    AuditStoreMixin,
):
    """The metadata store on SQLite or PostgreSQL (see ``protocols`` for the contract).

    Each method is one transaction. One instance may be shared by threads (connections
    come from a pool); each process opens its own.
    """

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self._db.label

    def close(self) -> None:
        """Close the store's pooled connections; the object must not be used afterwards."""
        self._db.dispose()

    def __repr__(self) -> str:
        return f"SqlMetadataStore({self._db.label!r})"


def open_metadata_store(url: str) -> SqlMetadataStore:
    """Open the metadata store at ``url`` (a SQLAlchemy URL), creating an empty schema.

    Raises SchemaOutdated when the database has an older (or unknown) schema revision:
    run `loopml db upgrade`. Raises StorageError when the database cannot be opened.
    """
    engine = create_engine(url)
    try:
        ensure_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return SqlMetadataStore(Database(engine))
