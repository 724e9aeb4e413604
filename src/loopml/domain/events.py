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

    @property
    def gist(self) -> str:
        """What the event says in one line: its message or reason, else its plain fields."""
        for key in ("message", "reason"):
            if self.payload.get(key):
                return str(self.payload[key])
        shown = [
            f"{k} {v}"
            for k, v in self.payload.items()
            if v is not None and not isinstance(v, dict | list)
        ]
        return ", ".join(shown)
