"""Deployments: which model version serves, how, and where."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Deployment:
    """A model version put into service. ``mode`` is single, shadow, ab or canary."""

    deployment_id: str
    project_id: str
    model_name: str
    version: int
    mode: str
    status: str
    created_at: datetime
    url: str | None = None
