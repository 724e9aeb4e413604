"""A large source streamed to a Parquet snapshot: the rows ingest would read, written one
bounded batch at a time, stored by its hash; bad files named, nothing half-written."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from loopml.data.ingest import clean_column_names, read_source
from loopml.data.stream import snapshot_file, write_parquet
from loopml.errors import DataError
from loopml.storage.artifacts import open_artifact_store


def source_frame(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    amount = rng.normal(100, 20, n)
    amount[::17] = np.nan
    return pd.DataFrame(
        {
            "Customer ID": np.arange(n),
            "Amount (EUR)": amount,
            "plan": rng.choice(["basic", "pro"], n),
        }
    )


def test_a_csv_streams_to_the_rows_ingest_reads_under_clean_names(tmp_path: Path) -> None:
    source = tmp_path / "big.csv"
    source_frame().to_csv(source, index=False)
    seen: list[tuple[int, int | None]] = []
    output = tmp_path / "out" / "snapshot.parquet"
    rows, column_map, schema = write_parquet(
        source, output, chunk_rows=500, progress=lambda d, t: seen.append((d, t))
    )
    assert rows == 3000 and seen == [(500 * (i + 1), None) for i in range(6)]
    assert column_map == {
        "Customer ID": "customer_id",
        "Amount (EUR)": "amount_eur",
        "plan": "plan",
    }
    assert schema.names == ["customer_id", "amount_eur", "plan"]
    expected, _ = clean_column_names(read_source(source))
    written = pd.read_parquet(output)
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)
    assert pq.ParquetFile(output).metadata.num_row_groups == 6  # one per batch read
    assert [p.name for p in output.parent.iterdir()] == ["snapshot.parquet"]


def test_a_parquet_source_streams_with_its_total_and_lands_in_the_store(tmp_path: Path) -> None:
    source = tmp_path / "big.parquet"
    source_frame().to_parquet(source, index=False, row_group_size=1000)
    artifacts = open_artifact_store(tmp_path / "artifacts")
    seen: list[tuple[int, int | None]] = []
    snapshot = snapshot_file(
        source, artifacts, chunk_rows=400, progress=lambda d, t: seen.append((d, t))
    )
    assert snapshot.rows == 3000 and seen == [(min(400 * (i + 1), 3000), 3000) for i in range(8)]
    data = artifacts.get_bytes(snapshot.snapshot_id)
    assert hashlib.sha256(data).hexdigest() == snapshot.snapshot_id == snapshot.ref.digest
    back = pd.read_parquet(io.BytesIO(data))
    assert list(back.columns) == ["customer_id", "amount_eur", "plan"]
    np.testing.assert_array_equal(back["amount_eur"], source_frame()["Amount (EUR)"])


def test_bad_sources_are_named_and_leave_nothing(tmp_path: Path) -> None:
    output = tmp_path / "out" / "snapshot.parquet"
    bad = tmp_path / "bad.csv"
    lines = ["id,amount"] + [f"{i},{i * 0.5}" for i in range(20_000)] + ["20000,lots"]
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"bad\.csv, column 'amount'.*'lots'"):
        write_parquet(bad, output, chunk_rows=1000, block_bytes=2**16)
    header = tmp_path / "header.csv"
    header.write_text("a,b\n")
    with pytest.raises(DataError, match=r"header\.csv: has a header but no rows"):
        write_parquet(header, output)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match=r"empty\.csv is empty"):
        write_parquet(empty, output)
    with pytest.raises(DataError, match=r"nope\.csv does not exist"):
        snapshot_file(tmp_path / "nope.csv", open_artifact_store(tmp_path / "artifacts"))
    assert list(output.parent.iterdir()) == []  # no partial file
