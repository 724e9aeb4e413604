"""Human approval: a named person approves a version into champion, or rejects it.

The decisions are events (``model.approved``, ``model.rejected``) with who, when and why,
so the audit trail and the version's status are one record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from loopml.domain import Event, ModelVersion
from loopml.errors import ConflictError, DataError
from loopml.registry.registry import CHALLENGER, CHAMPION, find_alias, promote
from loopml.storage.metadata.protocols import MetadataStore

AWAITING, APPROVED, REJECTED = "awaiting approval", "approved", "rejected"
_DECISIONS = {"model.approved": APPROVED, "model.rejected": REJECTED}


def approval_status(events: Sequence[Event], version: ModelVersion) -> str | None:
    """``approved``/``rejected`` once decided, ``awaiting approval`` while requested, else None."""
    status = None
    for event in _events_of(events, version):
        if event.kind == "model.approval_requested":
            status = status or AWAITING
        elif event.kind in _DECISIONS:
            status = _DECISIONS[event.kind]
    return status


def approve(
    store: MetadataStore,
    project_id: str,
    version: ModelVersion,
    *,
    by: str,
    note: str = "",
    approvers: Sequence[str] = (),
) -> dict[str, Any]:
    """Approve ``version`` as ``by`` and make it the champion.

    Raises DataError when ``by`` is empty or not among ``approvers`` (when any are listed),
    ConflictError when the version failed the gate or was already approved or rejected.
    """
    by = _check_person(by, approvers, version)
    _check_undecided(store, project_id, version)
    if version.lineage.get("gate") not in (None, "go"):
        raise ConflictError(
            f"{version.ref} did not pass the gate (verdict {version.lineage.get('gate')}); "
            "a no-go version cannot be approved. Fix the model and `loopml run` again."
        )
    payload = _decision(version, by, note)
    store.add_event(project_id, "model.approved", payload)
    if CHAMPION not in version.aliases:
        promote(store, project_id, version.name, version.version, reason=f"approved by {by}")
    _drop_challenger(store, project_id, version)
    return payload


def reject(
    store: MetadataStore,
    project_id: str,
    version: ModelVersion,
    *,
    by: str,
    note: str,
    approvers: Sequence[str] = (),
) -> dict[str, Any]:
    """Reject ``version`` as ``by`` because of ``note``: it will never become champion.

    Raises DataError without a person or a reason, ConflictError when the version was
    already decided or is the champion now.
    """
    by = _check_person(by, approvers, version)
    if not note.strip():
        raise DataError(f"say why {version.ref} is rejected: --note TEXT")
    _check_undecided(store, project_id, version)
    if CHAMPION in version.aliases:
        raise ConflictError(
            f"{version.ref} is the champion; promote another version before rejecting it"
        )
    payload = _decision(version, by, note)
    store.add_event(project_id, "model.rejected", payload)
    _drop_challenger(store, project_id, version)
    return payload


def require_approved(store: MetadataStore, project_id: str, version: ModelVersion) -> None:
    """Refuse (ConflictError) to make a version champion that waits for or lost approval."""
    status = approval_status(store.list_events(project_id), version)
    if status in (AWAITING, REJECTED):
        raise ConflictError(
            f"{version.ref} is {status}; only `loopml approve {version.ref} --by NAME` "
            "makes it the champion"
        )


def _check_person(by: str, approvers: Sequence[str], version: ModelVersion) -> str:
    by = by.strip()
    if not by:
        raise DataError(f"say who decides on {version.ref}: --by NAME")
    if approvers and by not in approvers:
        raise DataError(
            f"'{by}' may not approve or reject {version.ref}; registry.approvers in "
            f"loopml.yaml lists {', '.join(approvers)}"
        )
    return by


def _check_undecided(store: MetadataStore, project_id: str, version: ModelVersion) -> None:
    for event in _events_of(store.list_events(project_id), version):
        if event.kind in _DECISIONS:
            who, when = event.payload.get("by"), event.payload.get("at")
            raise ConflictError(
                f"{version.ref} was already {_DECISIONS[event.kind]} by {who} at {when}; "
                "a decision is final. Register a new version with `loopml run`."
            )


def _decision(version: ModelVersion, by: str, note: str) -> dict[str, Any]:
    return {
        "model": version.name,
        "version": version.version,
        "by": by,
        "note": note.strip(),
        "at": datetime.now(UTC).isoformat(),
    }


def _drop_challenger(store: MetadataStore, project_id: str, version: ModelVersion) -> None:
    current = find_alias(store, version.name, CHALLENGER)
    if current is not None and current.version == version.version:
        store.delete_alias(version.name, CHALLENGER)
        store.add_event(
            project_id,
            "model.alias_deleted",
            {"model": version.name, "version": version.version, "alias": CHALLENGER},
        )


def _events_of(events: Sequence[Event], version: ModelVersion) -> list[Event]:
    return [
        e
        for e in events
        if e.payload.get("model") == version.name and e.payload.get("version") == version.version
    ]
