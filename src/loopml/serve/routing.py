"""Which loaded model answers which row: single, shadow, A/B and canary deployments.

A ``Routing`` is immutable; the server swaps the whole object when the deployment
changes, so a request sees one routing from start to end. In ``ab`` and ``canary`` modes
a row goes to the challenger when a hash of its sticky key (the value of the field
``key`` names, else the prediction id) falls in the first ``percent`` of 10,000
buckets, so one customer always meets the same model. In ``shadow`` mode the challenger
scores the same rows after the answer is sent; its output goes to its own log only.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loopml.serve.arrays import ArrayModel
from loopml.serve.batcher import MicroBatcher
from loopml.serve.logger import PredictionLogger

MODES = ("single", "shadow", "ab", "canary")
BUCKETS = 10_000


@dataclass(frozen=True)
class Slot:
    """One loaded model version with its batcher and its prediction log."""

    name: str
    version: int
    model: ArrayModel
    batcher: MicroBatcher
    logger: PredictionLogger

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class Routing:
    """The models in service and how rows are split between them."""

    primary: Slot
    mode: str = "single"
    challenger: Slot | None = None
    percent: float = 0.0
    key: str | None = None
    deployment_id: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)

    def to_challenger(self, rows: Sequence[Any], ids: list[str]) -> list[bool] | None:
        """Per row, whether the challenger answers it; None when the primary answers all."""
        if self.challenger is None or self.mode not in ("ab", "canary") or self.percent <= 0:
            return None
        cut = self.percent * BUCKETS / 100.0
        out = []
        for row, prediction_id in zip(rows, ids, strict=True):
            value = row.get(self.key) if self.key else None
            sticky = prediction_id if value is None else str(value)
            out.append(zlib.crc32(sticky.encode()) % BUCKETS < cut)
        return out if any(out) else None

    def describe(self) -> dict[str, Any]:
        return {
            "deployment_id": self.deployment_id,
            "mode": self.mode,
            "model": self.primary.ref,
            "challenger": None if self.challenger is None else self.challenger.ref,
            "percent": self.percent,
            "key": self.key,
        }


SlotFactory = Callable[[int, bool], Slot]
"""(version, shadow) -> a started slot."""


def routing_for(deployment: Any, make_slot: SlotFactory) -> Routing:
    """The routing a store ``Deployment`` asks for (its ``config``: ``challenger`` version,
    ``percent`` and sticky ``key``)."""
    config = dict(deployment.config or {})
    mode = deployment.mode if deployment.mode in MODES else "single"
    challenger_version = config.get("challenger")
    challenger = None
    if mode != "single" and challenger_version is not None:
        challenger = make_slot(int(challenger_version), mode == "shadow")
    return Routing(
        primary=make_slot(int(deployment.version), False),
        mode=mode,
        challenger=challenger,
        percent=float(config.get("percent", 0.0) or 0.0),
        key=config.get("key"),
        deployment_id=deployment.deployment_id,
        config=config,
    )
