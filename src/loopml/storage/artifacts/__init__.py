"""Content-addressed artifact stores: a local folder, or any fsspec URI.

``open_artifact_store(uri)`` picks the store from the URI; both keep the contract of
``ArtifactStore`` (see ``protocols.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from loopml.storage.artifacts.local import LocalArtifactStore
from loopml.storage.artifacts.protocols import ArtifactStore
from loopml.storage.artifacts.remote import FsspecArtifactStore

__all__ = ["ArtifactStore", "FsspecArtifactStore", "LocalArtifactStore", "open_artifact_store"]


def open_artifact_store(
    uri: str | Path, storage_options: Mapping[str, Any] | None = None
) -> ArtifactStore:
    """Open the artifact store at ``uri``.

    A plain path or a ``file://`` URI gives a ``LocalArtifactStore``; any other fsspec URI
    (``s3://bucket/prefix``, ``gs://...``, ``memory://x``) gives an ``FsspecArtifactStore``
    whose filesystem gets ``storage_options`` (endpoint, credentials, ...; a local store
    ignores them).

    Raises:
        StorageError: the URI's scheme needs an fsspec backend that is not installed.
    """
    text = str(uri)
    if isinstance(uri, Path) or "://" not in text:
        return LocalArtifactStore(text)
    if text.startswith("file://"):
        return LocalArtifactStore(url2pathname(urlsplit(text).path))
    return FsspecArtifactStore(text, **(storage_options or {}))
