"""Events: the audit trail of decisions (gate verdicts, promotions, alerts, deployments)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Event:
    """Something that happened, with its evidence in ``payload``."""

    event_id: int
    project_id: str
    kind: str
    created_at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)
