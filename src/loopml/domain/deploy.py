"""Deployments: which model version serves, how, and where."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Deployment:
    """A model version put into service. ``mode`` is single, shadow, ab or canary;
    ``config`` holds the routing of the non-single modes (e.g. the challenger's version,
    its share of traffic and the sticky key) and, for a deployment that follows an
    alias (``alias``, e.g. champion), the alias whose moves it follows."""

    deployment_id: str
    project_id: str
    model_name: str
    version: int
    mode: str
    status: str
    created_at: datetime
    url: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def alias(self) -> str | None:
        """The alias this deployment follows (its version moves with it), or None."""
        alias = (self.config or {}).get("alias")
        return str(alias) if alias else None

    def serving(self) -> tuple[tuple[int, str], ...]:
        """Every version this deployment runs with its role: ``primary`` (answers),
        ``challenger`` (answers a share, in ab and canary) or ``shadow`` (scores every
        request, its answers only logged)."""
        roles = [(self.version, "primary")]
        challenger = (self.config or {}).get("challenger")
        if self.mode != "single" and challenger is not None:
            roles.append((int(challenger), "shadow" if self.mode == "shadow" else "challenger"))
        return tuple(roles)


@dataclass(frozen=True)
class Feedback:
    """Ground truth for an earlier prediction, sent to ``POST /feedback``."""

    prediction_id: str
    value: Any
    received_at: datetime
