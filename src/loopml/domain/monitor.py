"""Logged prediction batches and drift reports."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
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


P_VALUE_METHODS = frozenset({"ks", "chisquare"})


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one feature: ``score`` by ``method`` against ``threshold``.

    Distances and PSI drift at or above the threshold; p-values (``ks``, ``chisquare``)
    below it. ``verdict``, when set, overrides the comparison (a feature whose live
    values are all missing has drifted whatever its score); ``note`` says why.
    ``stats`` holds every statistic measured, by name; ``rows`` the current rows.
    """

    feature: str
    method: str
    score: float
    threshold: float
    column_type: str = ""
    rows: int = 0
    note: str = ""
    verdict: bool | None = None
    stats: Mapping[str, float] = field(default_factory=dict)

    @property
    def drifted(self) -> bool:
        if self.verdict is not None:
            return self.verdict
        if math.isnan(self.score):
            return False
        if self.method in P_VALUE_METHODS:
            return self.score < self.threshold
        return self.score >= self.threshold


class DriftVerdicts:
    """What a drift result with ``features`` says: which drifted, and whether to alert."""

    features: tuple[FeatureDrift, ...]

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    @property
    def alert(self) -> bool:
        return bool(self.drifted_features)


@dataclass(frozen=True)
class DriftReport(DriftVerdicts):
    """Drift of every feature between the training reference and logged traffic."""

    model_name: str
    version: int
    reference_rows: int
    current_rows: int
    features: tuple[FeatureDrift, ...]
    created_at: datetime
