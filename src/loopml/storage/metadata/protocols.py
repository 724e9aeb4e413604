"""The metadata store's contract: small interfaces by aggregate, composed into one.

Contract every backend keeps (checked by ``tests/storage/metadata/contract``):

- Every method is one transaction: it either happens whole or not at all.
- Records are immutable once written, except a run's status, end time, error, outputs,
  tags and params (set while it runs or when it finishes) and a model's aliases (moved by
  ``set_alias``).
- Safe for concurrent use from several processes: version numbers of a model are unique
  and gap-free per name; ``log_metrics`` never loses a value; no caller ever sees
  "database is locked".
- ``get_*`` raises ``NotFoundError``, ``find_*`` returns None, ``list_*`` returns [] when
  there is nothing. Returned objects are domain dataclasses, never ORM rows.
- Timestamps are UTC-aware datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from loopml.domain import (
    ArtifactRef,
    Deployment,
    Event,
    Feedback,
    Metric,
    ModelVersion,
    PredictionBatch,
    Project,
    Run,
    RunStatus,
    Schema,
    Snapshot,
)
from loopml.domain.users import AuditEntry, User

CONDITION_OPS = (">", ">=", "<", "<=", "==", "!=")
RUN_ATTRIBUTES = ("status", "name", "duration")
_PREFIXES = {"metrics": "metric", "params": "param", "tags": "tag", "attributes": "attribute"}


def classify_key(key: str) -> tuple[str, str]:
    """Split a search key into its kind and name: ``("metric", "roc_auc")``.

    ``params.NAME``, ``tags.NAME``, ``metrics.NAME`` and ``attributes.NAME`` say the kind;
    a bare ``status``, ``name`` or ``duration`` is a run attribute, any other bare key a
    metric. Raises ValueError for an empty name or an unknown attribute.
    """
    prefix, dot, rest = key.partition(".")
    kind, name = ("metric", key)
    if dot and prefix in _PREFIXES:
        kind, name = _PREFIXES[prefix], rest
    elif key in RUN_ATTRIBUTES:
        kind = "attribute"
    if not name.strip():
        raise ValueError(f"search key '{key}' names nothing: write e.g. roc_auc or params.lr")
    if kind == "attribute" and name not in RUN_ATTRIBUTES:
        raise ValueError(f"'{name}' is not a run attribute: use one of {', '.join(RUN_ATTRIBUTES)}")
    return kind, name


@dataclass(frozen=True)
class Condition:
    """One filter of ``RunStore.search_runs``: ``key op value``.

    ``key`` is a metric (its latest value: highest step, last logged on a tie), a
    ``params.NAME``, a ``tags.NAME`` or a run attribute (``status``, ``name``, ``duration``
    in seconds); see ``classify_key``. ``op`` is one of ``CONDITION_OPS``. Metrics and
    ``duration`` compare with a number; ``status`` and ``name`` only with ``==``/``!=``.
    A run without the key (or whose latest value is NaN, or that is still running, for
    ``duration``) never matches, whatever the operator. Raises ValueError when invalid::

        Condition("roc_auc", ">", 0.8)
        Condition("params.model", "==", "lightgbm")
        Condition("tags.state", "!=", "pruned")
    """

    key: str
    op: str
    value: float | str

    def __post_init__(self) -> None:
        kind, name = classify_key(self.key)
        if self.op not in CONDITION_OPS:
            raise ValueError(
                f"'{self.op}' is not a comparison in '{self.key} {self.op} {self.value}': "
                f"use one of {' '.join(CONDITION_OPS)}"
            )
        numeric = isinstance(self.value, int | float) and not isinstance(self.value, bool)
        if not numeric and not isinstance(self.value, str):
            raise ValueError(f"the value of '{self.key}' must be a number or a string")
        if (kind == "metric" or name == "duration") and not numeric:
            raise ValueError(
                f"'{self.key} {self.op} {self.value}': {kind} '{name}' compares with a number"
            )
        if kind == "attribute" and name in ("status", "name"):
            if self.op not in ("==", "!="):
                raise ValueError(f"run {name} compares only with == or !=, not '{self.op}'")
            if not isinstance(self.value, str):
                raise ValueError(f"run {name} compares with a string, not {self.value!r}")
            if name == "status" and self.value not in {s.value for s in RunStatus}:
                allowed = ", ".join(s.value for s in RunStatus)
                raise ValueError(f"'{self.value}' is not a run status: use one of {allowed}")
        if numeric:
            object.__setattr__(self, "value", float(self.value))

    @property
    def kind(self) -> str:
        """``metric``, ``param``, ``tag`` or ``attribute``."""
        return classify_key(self.key)[0]

    @property
    def name(self) -> str:
        """The key without its kind prefix."""
        return classify_key(self.key)[1]

    def __str__(self) -> str:
        value = self.value if isinstance(self.value, float) else repr(self.value)
        return f"{self.key} {self.op} {value}"


class ProjectStore(Protocol):
    def ensure_project(self, name: str) -> Project:
        """Return the project called ``name``, creating it if needed (race-safe)."""
        ...

    def get_project(self, name: str) -> Project: ...

    def list_projects(self) -> list[Project]:
        """Every project in the store, by name."""
        ...


class RunStore(Protocol):
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
        """Start a run (status running, this process's pid and host) and return it.

        ``status=REUSED`` with ``outputs`` records a step served from cache in one call.
        """
        ...

    def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        *,
        error: str | None = None,
        outputs: Mapping[str, str] | None = None,
    ) -> Run:
        """Set the final status, end time, error and outputs of a running run."""
        ...

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None: ...

    def set_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Add or overwrite parameters of a run (running or finished), in one transaction."""
        ...

    def get_run(self, run_id: str) -> Run:
        """Return the run; ``run_id`` may be a unique prefix of at least 4 characters."""
        ...

    def list_runs(
        self,
        project_id: str,
        *,
        name: str | None = None,
        status: RunStatus | None = None,
        parent_run_id: str | None = None,
        limit: int = 100,
    ) -> list[Run]:
        """Runs newest first."""
        ...

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
        """Runs of a project matching every condition of ``where`` (and the filters).

        ``order_by`` is a metric key (its latest value) or ``name``/``status``/``duration``,
        ascending, or descending with a leading ``-``; runs without a value come last and
        ties go newest first. Without ``order_by``: newest first. At most ``limit`` runs,
        after skipping the first ``offset`` (a page).
        Raises ValueError for an invalid ``order_by``.
        """
        ...

    def count_runs(
        self,
        project_id: str,
        *,
        where: Sequence[Condition] = (),
        name: str | None = None,
        status: RunStatus | None = None,
        parent_run_id: str | None = None,
    ) -> int:
        """How many runs ``search_runs`` finds with the same filters, over all pages."""
        ...

    def find_cached_run(self, project_id: str, name: str, cache_key: str) -> Run | None:
        """The newest succeeded run of step ``name`` with ``cache_key``, or None."""
        ...

    def log_metrics(self, run_id: str, metrics: Sequence[Metric]) -> None:
        """Append metric values in one transaction (timestamps default to now)."""
        ...

    def get_metrics(self, run_id: str, key: str | None = None) -> list[Metric]:
        """All values of a run's metrics (or of one key), by key then step."""
        ...

    def latest_metrics(
        self, run_ids: Sequence[str], keys: Sequence[str] | None = None
    ) -> dict[str, dict[str, float]]:
        """For each run, each key's value at its highest step (only ``keys`` when given)."""
        ...


class ArtifactIndex(Protocol):
    def record_artifact(self, ref: ArtifactRef, *, media_type: str, run_id: str | None) -> None:
        """Remember an artifact (idempotent by digest)."""
        ...

    def list_artifacts(self, run_id: str) -> list[tuple[ArtifactRef, str]]:
        """Artifacts first recorded by a run, with their media types."""
        ...


class DataStore(Protocol):
    def add_snapshot(self, snapshot: Snapshot) -> Snapshot:
        """Record a snapshot; an existing ``snapshot_id`` returns the stored one unchanged."""
        ...

    def get_snapshot(self, snapshot_id: str) -> Snapshot: ...

    def list_snapshots(self, project_id: str) -> list[Snapshot]:
        """Snapshots newest first."""
        ...


class ModelStore(Protocol):
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
        """Register the next version of ``name`` (1, 2, ...), race-safe across processes."""
        ...

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """Raises NotFoundError naming the latest version when ``version`` does not exist."""
        ...

    def get_model_by_alias(self, name: str, alias: str) -> ModelVersion: ...

    def list_model_versions(self, name: str | None = None) -> list[ModelVersion]:
        """Versions of one model (or all models), newest first, with their aliases."""
        ...

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` at ``version`` (moving it from any other version)."""
        ...

    def delete_alias(self, name: str, alias: str) -> None: ...


class DeploymentStore(Protocol):
    def add_deployment(
        self,
        project_id: str,
        model_name: str,
        version: int,
        *,
        mode: str,
        url: str | None,
        config: Mapping[str, Any] | None = None,
    ) -> Deployment: ...

    def set_deployment_status(self, deployment_id: str, status: str) -> Deployment: ...

    def list_deployments(self, project_id: str) -> list[Deployment]:
        """Deployments newest first."""
        ...


class MonitoringStore(Protocol):
    def add_prediction_batch(self, batch: PredictionBatch) -> None: ...

    def list_prediction_batches(
        self, model_name: str, version: int | None = None
    ) -> list[PredictionBatch]:
        """Batches oldest first."""
        ...


class FeedbackStore(Protocol):
    def add_feedback(self, project_id: str, items: Iterable[tuple[str, Any]]) -> int:
        """Record ``(prediction_id, value)`` pairs (a later value replaces an earlier)."""
        ...

    def list_feedback(self, project_id: str, since: datetime | None = None) -> list[Feedback]:
        """Feedback oldest first."""
        ...


class EventStore(Protocol):
    def add_event(self, project_id: str, kind: str, payload: Mapping[str, Any]) -> Event: ...

    def list_events(
        self,
        project_id: str,
        kind: str | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = False,
    ) -> list[Event]:
        """Events oldest first (or newest), a page when ``limit`` is given."""
        ...

    def count_events(self, project_id: str, kind: str | None = None) -> int:
        """How many events of a project (or of one kind)."""
        ...


class UserStore(Protocol):
    """The team server's users; only hashes of passwords and tokens are stored."""

    def add_user(self, name: str, role: str, password_hash: str) -> User:
        """Create a user; ConflictError when the name is taken."""
        ...

    def get_user(self, name: str) -> User: ...

    def list_users(self) -> list[User]:
        """Users by name."""
        ...

    def remove_user(self, name: str) -> None:
        """Delete a user and its tokens."""
        ...

    def find_password_hash(self, name: str) -> str | None: ...

    def add_token(self, name: str, token_hash: str) -> None: ...

    def find_user_by_token(self, token_hash: str) -> User | None: ...


class AuditStore(Protocol):
    def add_audit(self, user: str, action: str, target: str, client: str, outcome: str) -> None:
        """Append an entry timestamped now."""
        ...

    def list_audit(self, *, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        """Entries newest first."""
        ...

    def server_secret(self, name: str) -> str:
        """A random secret created on first use, the same for every process."""
        ...


class MetadataStore(
    ProjectStore,
    RunStore,
    ArtifactIndex,
    DataStore,
    ModelStore,
    DeploymentStore,
    MonitoringStore,
    FeedbackStore,
    EventStore,
    UserStore,
    AuditStore,
    Protocol,
):
    """Every aggregate's store in one object, opened by ``open_metadata_store(url)``."""

    def close(self) -> None: ...
