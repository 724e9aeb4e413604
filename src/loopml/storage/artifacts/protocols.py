"""The artifact store's contract.

- Artifacts are immutable and addressed by the sha256 of their bytes.
- Writes are atomic: nothing is visible under a digest until all its bytes are stored;
  a writer killed mid-way leaves only a temporary file, swept by ``sweep_partial``.
- Every read verifies the hash and raises ``IntegrityError`` on a mismatch, before the
  bytes reach any parser (so a tampered model is never unpickled).
- Putting bytes that already exist is a cheap no-op returning the same reference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from loopml.domain import ArtifactRef


class ArtifactStore(Protocol):
    uri: str

    def put_bytes(self, data: bytes) -> ArtifactRef: ...

    def put_file(self, path: str | Path) -> ArtifactRef:
        """Store a file's bytes, hashing while copying (for files larger than memory)."""
        ...

    def get_bytes(self, digest: str) -> bytes:
        """Return the verified bytes; NotFoundError or IntegrityError otherwise."""
        ...

    def get_file(self, digest: str, dest: str | Path) -> Path:
        """Copy the verified artifact to ``dest`` atomically and return the path."""
        ...

    def exists(self, digest: str) -> bool: ...

    def sweep_partial(self) -> int:
        """Remove temporary files left by dead writers; return how many were removed."""
        ...
