"""Reading sources, cleaning column names, hashing files."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pandas as pd
import pytest

from loopml.data.ingest import clean_column_names, file_sha256, format_of, read_source
from loopml.errors import DataError

BANK_SHA256 = "282a1185b39c7358505de33b3aa7bb89619a4ab511eed93789461b5c28a3aef6"


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None], "c": [0.5, 1.5, 2.5]})


def test_bank_reads_with_its_trailing_space_and_cleans(bank_csv: Path) -> None:
    raw = read_source(bank_csv)
    assert raw.shape == (44_923, 12)
    assert "subscribed " in raw.columns
    frame, mapping = clean_column_names(raw)
    assert frame.columns[0] == "subscribed"
    assert mapping["subscribed "] == "subscribed"
    assert list(mapping) == list(raw.columns)
    assert list(frame.columns) == list(mapping.values())
    assert raw.columns[0] == "subscribed "  # the input frame is left alone


def test_bike_unnamed_index_and_upper_case_columns(bike_csv: Path) -> None:
    frame, mapping = clean_column_names(read_source(bike_csv))
    assert frame.shape == (17_520, 22)
    assert list(frame.columns[:3]) == ["column_0", "x", "instant"]
    assert mapping["X"] == "x"
    assert len(mapping) == 22
    assert frame["dteday"].iloc[0] == "1/1/11"


def test_clean_names_edge_cases() -> None:
    frame = pd.DataFrame(
        [[1, 2, 3, 4, 5, 6, 7, 8]],
        columns=["  Customer ID ", "customer-id", "a__b", "", "Unnamed: 4", "#", "Größe", "_x_"],
    )
    clean, mapping = clean_column_names(frame)
    assert list(clean.columns) == [
        "customer_id",
        "customer_id_2",
        "a_b",
        "column_3",
        "column_4",
        "column_5",
        "größe",
        "x",
    ]
    assert mapping["customer-id"] == "customer_id_2"
    assert clean.iloc[0].tolist() == [1, 2, 3, 4, 5, 6, 7, 8]


def test_clean_names_suffix_does_not_collide() -> None:
    frame = pd.DataFrame([[1, 2, 3]], columns=["a_2", "a", "A"])
    clean, _ = clean_column_names(frame)
    assert list(clean.columns) == ["a_2", "a", "a_3"]


@pytest.mark.parametrize(
    ("suffix", "write"),
    [
        (".csv", lambda df, p: df.to_csv(p, index=False)),
        (".tsv", lambda df, p: df.to_csv(p, index=False, sep="\t")),
        (".json", lambda df, p: df.to_json(p, orient="records")),
        (".jsonl", lambda df, p: df.to_json(p, orient="records", lines=True)),
        (".parquet", lambda df, p: df.to_parquet(p)),
        (".csv.gz", lambda df, p: df.to_csv(p, index=False)),
    ],
)
def test_formats_round_trip(tmp_path: Path, small: pd.DataFrame, suffix: str, write) -> None:
    path = tmp_path / f"data{suffix}"
    write(small, path)
    frame = read_source(path)
    assert list(frame.columns) == ["a", "b", "c"]
    assert frame["a"].tolist() == [1, 2, 3]
    assert frame["b"].iloc[0] == "x" and pd.isna(frame["b"].iloc[2])
    assert frame["c"].tolist() == [0.5, 1.5, 2.5]


def test_explicit_format_overrides_suffix(tmp_path: Path) -> None:
    path = tmp_path / "export.dat"
    path.write_text("a\tb\n1\t2\n")
    assert read_source(path, "tsv").to_dict("list") == {"a": [1], "b": [2]}
    with pytest.raises(DataError, match="cannot tell the format"):
        read_source(path)


def test_format_of_suffixes() -> None:
    assert format_of("x.CSV") == "csv"
    assert format_of("x.ndjson") == "jsonl"
    assert format_of("x.tsv.bz2") == "tsv"
    assert format_of("part.pq") == "parquet"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file") as info:
        read_source(tmp_path / "nope.csv")
    assert "nope.csv" in str(info.value)


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        read_source(path)


def test_header_only_csv_has_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("age,balance,subscribed\n")
    with pytest.raises(DataError, match="no rows") as info:
        read_source(path)
    assert "age, balance, subscribed" in str(info.value)


def test_blank_lines_only_csv(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n\n")
    with pytest.raises(DataError, match="no header"):
        read_source(path)


def test_truncated_parquet(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    pd.DataFrame({"a": range(1000), "b": [str(i) for i in range(1000)]}).to_parquet(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="not a readable Parquet file") as info:
        read_source(path)
    assert "truncated" in str(info.value)


def test_csv_row_with_extra_field_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(DataError, match="line 3"):
        read_source(path)


def test_csv_cut_inside_a_quote(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    path.write_text('a,b\n1,"complete"\n2,"cut off her')
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_source(path)


def test_csv_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,city\nann,paris\nbob,m\xfcnchen\n".encode("latin-1"))
    with pytest.raises(DataError, match="line 3 is not UTF-8"):
        read_source(path)


def test_corrupt_json(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text('[{"a": 1}, {"a": 2')
    with pytest.raises(DataError, match="cannot be parsed as JSON"):
        read_source(path)


def test_corrupt_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    path.write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(DataError, match="JSON lines"):
        read_source(path)


def test_empty_json_list(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("[]")
    with pytest.raises(DataError, match="no (rows|columns)"):
        read_source(path)


def test_unknown_format_name(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown format 'xlsx'"):
        read_source(tmp_path / "x.xlsx", "xlsx")


def test_file_sha256(bank_csv: Path, tmp_path: Path) -> None:
    assert file_sha256(bank_csv) == BANK_SHA256
    path = tmp_path / "blob.bin"
    data = bytes(range(256)) * 1000
    path.write_bytes(data)
    assert file_sha256(path, chunk_size=1000) == hashlib.sha256(data).hexdigest()


def test_gzip_is_read_through(tmp_path: Path) -> None:
    path = tmp_path / "data.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("a,b\n1,2\n")
    assert read_source(path).to_dict("list") == {"a": [1], "b": [2]}
