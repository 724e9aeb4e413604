"""What both artifact stores share: digest checks, messages, writer liveness, chunk size."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path
from typing import BinaryIO

from loopml.errors import IntegrityError, NotFoundError

CHUNK_SIZE = 1 << 20  # 1 MiB: files are hashed and copied in pieces this size
STALE_AFTER_S = 3600.0  # a temporary file untouched this long is swept even if its pid lives
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_PART = re.compile(r"^(?P<pid>\d+)-[0-9a-f]+\.part$")


def normalize_digest(digest: str) -> str:
    """Return ``digest`` as 64 lowercase hex characters (a ``sha256:`` prefix is allowed).

    Raises:
        NotFoundError: ``digest`` is not a sha256 hex digest, so no artifact can have it.
    """
    text = digest.strip().lower().removeprefix("sha256:")
    if not _HEX64.match(text):
        raise NotFoundError(
            f"'{digest}' is not an artifact digest: expected 64 hexadecimal characters "
            "(a sha256), optionally prefixed by 'sha256:'."
        )
    return text


def digest_key(digest: str) -> str:
    """The relative key of an artifact: ``sha256/<first 2 hex>/<other 62 hex>``."""
    return f"sha256/{digest[:2]}/{digest[2:]}"


def part_name() -> str:
    """A fresh temporary file name that says which process writes it."""
    return f"{os.getpid()}-{uuid.uuid4().hex}.part"


def part_pid(name: str) -> int | None:
    """The writer's pid encoded in a temporary file name, or None for a foreign file."""
    match = _PART.match(name)
    return int(match["pid"]) if match else None


def open_source(path: str | Path) -> BinaryIO:
    """Open a file to store; NotFoundError (one error tree) when it does not exist."""
    try:
        return Path(path).open("rb")
    except FileNotFoundError as exc:
        raise NotFoundError(f"Cannot store {path}: no such file.") from exc


def copy_hashing(src: BinaryIO, dst: BinaryIO) -> tuple[str, int]:
    """Copy ``src`` to ``dst`` in chunks, hashing on the way: (sha256 hex, size)."""
    hasher = hashlib.sha256()
    size = 0
    while chunk := src.read(CHUNK_SIZE):
        hasher.update(chunk)
        dst.write(chunk)
        size += len(chunk)
    return hasher.hexdigest(), size


def not_found(digest: str, uri: str) -> NotFoundError:
    return NotFoundError(
        f"Artifact sha256:{digest[:12]} is not in the artifact store at {uri}. "
        "Check LOOPML_ARTIFACTS points at the right store, or re-run the step that made it."
    )


def corrupt(digest: str, actual: str, where: str, reads: int = 1) -> IntegrityError:
    times = f" (read {reads} times)" if reads > 1 else ""
    return IntegrityError(
        f"Artifact sha256:{digest[:12]}... at {where} is corrupt: its content hashes to "
        f"sha256:{actual[:12]}...{times} Refusing to load it. Restore it from a backup or "
        "re-run the step that made it."
    )
