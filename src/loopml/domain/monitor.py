"""Logged prediction batches and drift reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PredictionBatch:
    """A Parquet artifact holding logged requests (inputs, outputs, ids, latency)."""

    batch_id: str
    project_id: str
    model_name: str
    version: int
    artifact_digest: str
    row_count: int
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one feature: ``score`` by ``method`` against ``threshold``."""

    feature: str
    method: str
    score: float
    threshold: float

    @property
    def drifted(self) -> bool:
        return self.score >= self.threshold


@dataclass(frozen=True)
class DriftReport:
    """Drift of every feature between the training reference and logged traffic."""

    model_name: str
    version: int
    reference_rows: int
    current_rows: int
    features: tuple[FeatureDrift, ...]
    created_at: datetime

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    @property
    def alert(self) -> bool:
        return bool(self.drifted_features)
