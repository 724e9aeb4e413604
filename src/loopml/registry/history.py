"""What a version is and went through: status, stage history, output schema, from events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from loopml.domain import Event, ModelVersion
from loopml.registry.approval import approval_status
from loopml.storage.metadata.protocols import MetadataStore


@dataclass(frozen=True)
class VersionDetails:
    """A version with its approval ``status`` (None when none was asked), its stage
    ``history`` (oldest first: ``at``, ``kind``, ``details``) and its output schema."""

    version: ModelVersion
    status: str | None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def output_schema(self) -> dict[str, Any]:
        return dict(self.version.lineage.get("output_schema") or {})


def describe_version(
    store: MetadataStore, project_id: str, version: ModelVersion
) -> VersionDetails:
    """Status and stage history of ``version`` from the project's events."""
    events = store.list_events(project_id)
    return VersionDetails(version, approval_status(events, version), stage_history(events, version))


def list_with_status(
    store: MetadataStore, project_id: str, name: str | None = None
) -> list[tuple[ModelVersion, str | None]]:
    """Versions (newest first) with their approval status."""
    events = store.list_events(project_id)
    return [(v, approval_status(events, v)) for v in store.list_model_versions(name)]


def stage_history(events: Sequence[Event], version: ModelVersion) -> list[dict[str, Any]]:
    """What happened to ``version``, oldest first: ``at``, ``kind`` and ``details``.

    Being replaced as champion by a later version is part of its history too.
    """
    history = []
    for event in events:
        if not event.kind.startswith("model.") or event.payload.get("model") != version.name:
            continue
        payload = dict(event.payload)
        if payload.get("version") == version.version:
            kind = event.kind.removeprefix("model.")
        elif event.kind == "model.promoted" and payload.get("previous") == version.version:
            kind = "replaced"
        else:
            continue
        history.append({"at": event.created_at, "kind": kind, "details": _details(kind, payload)})
    return history


def _details(kind: str, payload: dict[str, Any]) -> str:
    if kind in ("approved", "rejected"):
        note = f": {payload['note']}" if payload.get("note") else ""
        return f"by {payload.get('by')}{note}"
    if kind == "promoted":
        return f"champion ({payload.get('reason')})"
    if kind == "replaced":
        return f"champion moved to version {payload.get('version')}"
    if kind in ("alias_set", "alias_deleted"):
        return f"{payload.get('alias')}{_by(' by', payload.get('by', ''))}"
    if kind == "registered":
        return f"gate {payload.get('gate') or '-'}, run {str(payload.get('run_id'))[:12]}"
    if kind == "approval_requested":
        approvers = payload.get("approvers") or []
        return f"approvers: {', '.join(approvers)}" if approvers else "any named approver"
    return ""


def _by(prefix: str, by: str) -> str:
    return f"{prefix} {by}" if by else ""
