"""Files logged by a tracking run: stored content-addressed, indexed, named on the run."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from loopml.domain import ArtifactRef
from loopml.errors import DataError
from loopml.storage.artifacts.protocols import ArtifactStore
from loopml.storage.metadata.protocols import ArtifactIndex


def store_run_file(
    artifacts: ArtifactStore,
    index: ArtifactIndex,
    run_id: str,
    path: str | Path,
    name: str | None = None,
) -> tuple[str, ArtifactRef]:
    """Put the file at ``path`` into ``artifacts`` (by its sha256), record it in ``index``
    as first written by ``run_id`` and return the name it takes on the run (``name``,
    else the file's name) with its reference.

    Raises DataError when ``path`` is not a file or ``name`` is empty.
    """
    file = Path(path)
    if not file.is_file():
        what = "a folder, not a file" if file.is_dir() else "not found"
        raise DataError(f"log_artifact: {file} is {what}; give the path of one file")
    chosen = file.name if name is None else name.strip()
    if not chosen:
        raise DataError("log_artifact: name must not be empty")
    ref = artifacts.put_file(file)
    index.record_artifact(ref, media_type=media_type(file), run_id=run_id)
    return chosen, ref


def media_type(path: Path) -> str:
    """The file's media type by its suffix (``application/octet-stream`` when unknown)."""
    if path.suffix.lower() == ".parquet":
        return "application/vnd.apache.parquet"
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"
