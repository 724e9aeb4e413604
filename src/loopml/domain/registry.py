"""Registered model versions and references to them (``name@version`` or ``name@alias``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loopml.domain.data import Schema

_REF = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)(?:@(?P<target>[A-Za-z0-9_.\-]+))?$")


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model.

    ``artifact_digest`` is the sha256 of the pickled bundle (transform + estimator);
    ``signature`` the input columns it expects; ``lineage`` names the snapshot, source
    hash, code version and parameters it came from.
    """

    name: str
    version: int
    run_id: str
    artifact_digest: str
    created_at: datetime
    signature: Schema
    metrics: Mapping[str, float] = field(default_factory=dict)
    lineage: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class ModelRef:
    """A parsed reference: ``target`` is a version number, an alias, or None (champion)."""

    name: str
    target: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        """Parse ``name``, ``name@3`` or ``name@champion``; raises ValueError otherwise."""
        match = _REF.match(text.strip())
        if not match:
            raise ValueError(
                f"'{text}' is not a model reference; use NAME, NAME@VERSION or NAME@ALIAS"
            )
        return cls(match["name"], match["target"])

    @property
    def version(self) -> int | None:
        return int(self.target) if self.target and self.target.isdigit() else None

    @property
    def alias(self) -> str:
        return "champion" if self.target is None else self.target
