"""File sources streamed to one Parquet snapshot in the artifact store with a seeded
sample: every row kept, the same hash again, exactly N sampled rows from the source,
globs appended in name order (local and on a real S3 server), bad files named and
nothing stored."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.s3 import S3

from loopml.data.sources import fingerprint_files
from loopml.data.sources.streamed import stream_sources
from loopml.errors import DataError
from loopml.spec.sources import FileSource
from loopml.storage.artifacts import open_artifact_store


def frame(n: int, start: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(start)
    return pd.DataFrame(
        {
            "Row ID": np.arange(start, start + n),
            "Amount (EUR)": rng.normal(100, 20, n).round(3),
            "plan": rng.choice(["basic", "pro"], n),
        }
    )


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("big")
    frame(20_000).to_csv(folder / "big.csv", index=False)
    return folder


def stream(folder: Path, path: str, artifacts: Path, seed: int = 42, rows: int = 1500):
    lines: list[tuple[str, float | None]] = []
    streamed = stream_sources(
        [FileSource(path=path)],
        folder,
        open_artifact_store(artifacts),
        sample_rows=rows,
        seed=seed,
        batch_rows=3000,
        progress=lambda line, fraction: lines.append((line, fraction)),
    )
    return streamed, lines


def test_a_csv_streams_whole_to_the_store_and_samples_n_of_its_rows(
    big_csv: Path, tmp_path: Path
) -> None:
    streamed, lines = stream(big_csv, "big.csv", tmp_path / "a")
    assert (streamed.rows, streamed.batches) == (20_000, 7)
    assert lines[-1] == ("source 'main': big.csv: 20,000 rows streamed", None)
    assert streamed.column_map == {"Row ID": "row_id", "Amount (EUR)": "amount_eur", "plan": "plan"}
    stored = open_artifact_store(tmp_path / "a").get_bytes(streamed.ref.digest)
    full = pd.read_parquet(io.BytesIO(stored))
    np.testing.assert_array_equal(full["row_id"], np.arange(20_000))
    np.testing.assert_array_equal(full["amount_eur"], frame(20_000)["Amount (EUR)"])
    assert streamed.sources[0].source_hash == fingerprint_files(FileSource(path="big.csv"), big_csv)

    sample = streamed.sample.to_pandas()
    assert len(sample) == 1500 and sample["row_id"].is_unique
    rows = full.set_index("row_id").loc[sample["row_id"]].reset_index()
    pd.testing.assert_frame_equal(sample, rows, check_dtype=False)  # rows of the source

    again, _ = stream(big_csv, "big.csv", tmp_path / "b")
    assert again.ref.digest == streamed.ref.digest
    assert again.sample.equals(streamed.sample)
    other, _ = stream(big_csv, "big.csv", tmp_path / "b", seed=7)
    assert other.ref.digest == streamed.ref.digest
    assert len(set(other.sample["row_id"].to_pylist()) & set(sample["row_id"])) < 500


def test_a_parquet_glob_is_appended_in_name_order(tmp_path: Path) -> None:
    frame(4000, start=4000).to_parquet(tmp_path / "calls-1.parquet", row_group_size=1000)
    frame(4000).iloc[:, ::-1].to_parquet(tmp_path / "calls-0.parquet")  # columns reordered
    streamed, _ = stream(tmp_path, "calls-*.parquet", tmp_path / "art", rows=8000)
    assert streamed.rows == 8000 and streamed.sample.num_rows == 8000
    assert streamed.sources[0].location == "calls-0.parquet, calls-1.parquet"
    assert streamed.schema.names == ["plan", "amount_eur", "row_id"]  # the first file's
    np.testing.assert_array_equal(streamed.sample["row_id"].to_numpy(), np.arange(8000))


def test_a_later_file_with_other_columns_is_named_and_nothing_is_stored(
    tmp_path: Path,
) -> None:
    frame(2000).to_csv(tmp_path / "calls-0.csv", index=False)
    frame(2000).rename(columns={"plan": "tier"}).to_csv(tmp_path / "calls-1.csv", index=False)
    with pytest.raises(DataError, match=r"calls-1\.csv lacks \['plan'\] and has extra \['tier'\]"):
        stream(tmp_path, "calls-*.csv", tmp_path / "art")
    assert not [p for p in (tmp_path / "art").rglob("*") if p.is_file()]
    (tmp_path / "calls-1.csv").write_text("Row ID,Amount (EUR),plan\n1,lots,pro\n")
    with pytest.raises(DataError, match=r"calls-1\.csv, column 'amount_eur'.*lots"):
        stream(tmp_path, "calls-*.csv", tmp_path / "art")
    assert not [p for p in (tmp_path / "art").rglob("*") if p.is_file()]


def test_a_glob_of_objects_streams_one_download_at_a_time(s3: S3, tmp_path: Path) -> None:
    for part in range(2):
        buffer = io.BytesIO()
        frame(1500, start=part * 1500).to_parquet(buffer, index=False)
        s3.put(f"exports/calls-{part}.parquet", buffer.getvalue())
    url = s3.url("exports/calls-*.parquet")
    streamed, lines = stream(tmp_path, url, tmp_path / "art", rows=1000)
    assert streamed.rows == 3000 and streamed.sample.num_rows == 1000
    downloads = [line for line, _ in lines if line.startswith("downloading")]
    assert len(downloads) == 2
    assert streamed.sources[0].source_hash == fingerprint_files(FileSource(path=url), tmp_path)
    assert streamed.sources[0].location.endswith("calls-1.parquet")
