"""A reference to an immutable, content-addressed artifact."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ArtifactRef:
    """An artifact by its sha256 hex digest and size in bytes."""

    digest: str
    size: int
