"""Parts of a large table: row groups cut into parts that keep their place, read one
bounded batch at a time, and bad files named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loopml.compute.parts import Part, count_rows, read_batches, table_parts
from loopml.errors import DataError


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    frame = pd.DataFrame({"x": np.arange(2500, dtype=np.float64), "y": ["a", "b"] * 1250})
    path = tmp_path_factory.mktemp("parts") / "t.parquet"
    frame.to_parquet(path, index=False, row_group_size=300)
    return frame, path


def test_parts_cover_every_row_group_once_in_order(table: tuple[pd.DataFrame, Path]) -> None:
    frame, path = table
    parts = table_parts(path, rows_per_part=1000)
    assert [p.rows for p in parts] == [1200, 1200, 100]  # whole row groups of 300
    assert [p.first_row for p in parts] == [0, 1200, 2400]
    assert [g for p in parts for g in p.row_groups or ()] == list(range(9))
    rows = [batch.num_rows for p in parts for batch in read_batches(p, chunk_rows=250)]
    assert max(rows) <= 250 and sum(rows) == 2500
    back = pd.concat(
        [b.to_pandas() for p in parts for b in read_batches(p, 250)], ignore_index=True
    )
    pd.testing.assert_frame_equal(back, frame)
    assert count_rows(path) == 2500


def test_csv_is_one_part_read_in_bounded_batches(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": np.arange(1000) * 0.5, "y": ["a", "b"] * 500})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    assert table_parts(path) == [Part(str(path), "csv")]
    assert count_rows(path) is None
    batches = list(read_batches(path, chunk_rows=128))
    assert [b.num_rows for b in batches] == [128] * 7 + [104]
    back = pa.Table.from_batches(batches).to_pandas()
    np.testing.assert_array_equal(back["x"], frame["x"])


def test_a_csv_value_that_breaks_its_column_type_deep_in_the_file_names_both(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bad.csv"
    lines = ["id,amount"] + [f"{i},{i * 1.5}" for i in range(20_000)] + ["20000,lots"]
    path.write_text("\n".join(lines) + "\n")
    seen = 0
    with pytest.raises(DataError, match=r"bad\.csv, column 'amount'.*'lots'"):
        for batch in read_batches(path, chunk_rows=5000, block_bytes=2**16):
            seen += batch.num_rows
    assert seen >= 15_000  # the rows before it were read, one bounded batch at a time


def test_missing_empty_and_unreadable_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.parquet does not exist"):
        table_parts(tmp_path / "nope.parquet")
    with pytest.raises(DataError, match=r"read \.csv or \.parquet files, not '\.xlsx'"):
        table_parts(tmp_path / "t.xlsx")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match=r"empty\.csv is empty: not even a header row"):
        list(read_batches(empty))
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"broken\.parquet cannot be read as Parquet"):
        table_parts(broken)
    none = tmp_path / "none.parquet"
    pq.write_table(pa.table({"x": pa.array([], pa.float64())}), none)
    assert [p.rows for p in table_parts(none)] == [0]
    assert list(read_batches(table_parts(none)[0])) == []
