"""The project record: one per spec folder (or per name in a shared store)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Project:
    """A project known to the metadata store."""

    project_id: str
    name: str
    created_at: datetime
