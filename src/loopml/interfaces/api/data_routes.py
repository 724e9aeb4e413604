"""Snapshots with their sources and profile, and the labelling queue: read by every
role; labels are given by labellers, editors and admins, as the signed-in user."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from loopml.interfaces.api.common import Caller, Limit, Offset, Service, check_project
from loopml.interfaces.api.encode import plain, records
from loopml.interfaces.api.policy import LABELLERS, READERS, allow

router = APIRouter(prefix="/api/v1/projects/{project}")
Value = str | int | float | bool


class Label(BaseModel):
    key: dict[str, Value] = Field(description="the row's key columns and their values")
    label: Value


class Labels(BaseModel):
    labels: Annotated[list[Label], Field(min_length=1, max_length=10_000)]


def _snapshot(snapshot: Any, models: list[str]) -> dict[str, Any]:
    return {
        **plain(snapshot),
        "rows": snapshot.row_count,
        "columns": [c.name for c in snapshot.schema.columns],
        "sources": plain(snapshot.details.get("sources", [])),
        "models": models,
    }


@router.get("/snapshots")
@allow(*READERS)
def snapshots(project: str, service: Service) -> Any:
    """The data snapshots, newest first: rows, columns, sources (with their hashes) and
    the versions trained on each."""
    check_project(service, project)
    return {"snapshots": [_snapshot(s, m) for s, m in service.list_snapshots_with_models()]}


@router.get("/snapshots/{snapshot_id}")
@allow(*READERS)
def snapshot(project: str, snapshot_id: str, service: Service) -> Any:
    """One snapshot (an id or a unique prefix) with its schema and a profile of each
    column (missing, distinct; min, max, mean or the commonest values)."""
    check_project(service, project)
    found = service.snapshot_details(snapshot_id)
    return {**_snapshot(found["snapshot"], found["models"]), "profile": plain(found["profile"])}


@router.get("/labels")
@allow(*READERS)
def labels(project: str, service: Service, limit: Limit = 50, offset: Offset = 0) -> Any:
    """A page of the rows still waiting for a label: key columns first, then the
    others; ``classes`` a label may take (empty for a number)."""
    check_project(service, project)
    queue = service.label_queue()
    page = queue.rows.iloc[offset : offset + limit]
    return {
        "target": queue.target,
        "key": list(queue.key),
        "classes": plain(list(queue.classes)),
        "rows": records(page),
        "total": len(queue.rows),
        "limit": limit,
        "offset": offset,
    }


@router.post("/labels")
@allow(*LABELLERS)
def give_labels(
    project: str, body: Labels, request: Request, service: Service, user: Caller
) -> Any:
    """Label rows of the queue as the signed-in user (stored like `loopml label import`;
    the next run trains with them)."""
    check_project(service, project)
    request.state.audit_target = f"{len(body.labels)} labels of {project}"
    pairs = [(item.key, item.label) for item in body.labels]
    return plain(service.add_labels(pairs, labelled_by=user.name))
