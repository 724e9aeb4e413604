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
    its share of traffic and the sticky key)."""

    deployment_id: str
    project_id: str
    model_name: str
    version: int
    mode: str
    status: str
    created_at: datetime
    url: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Feedback:
    """Ground truth for an earlier prediction, sent to ``POST /feedback``."""

    prediction_id: str
    value: Any
    received_at: datetime
