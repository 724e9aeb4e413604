"""File sources: every format, globs appended in order, hashes, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from loopml.data.ingest import file_sha256
from loopml.data.sources import hash_files, read_files
from loopml.errors import DataError
from loopml.spec.sources import FileSource

FRAME = pd.DataFrame({"Customer ID": [1, 2, 3], "plan": ["a", "b", None], "spend": [0.5, 1.5, 2]})


def _write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif suffix == ".json":
        frame.to_json(path, orient="records")
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("name", ["d.csv", "d.tsv", "d.json", "d.jsonl", "d.parquet"])
def test_each_format_reads_one_file(tmp_path: Path, name: str) -> None:
    path = _write(FRAME, tmp_path / "data" / name)
    part = read_files(FileSource(path=f"data/{name}"), tmp_path)
    assert list(part.frame.columns) == ["Customer ID", "plan", "spend"]  # names not cleaned
    assert part.frame["Customer ID"].tolist() == [1, 2, 3]
    assert part.rows == 3
    assert part.location == f"data/{name}"
    assert (part.name, part.type, part.query) == ("main", "file", None)
    assert part.source_hash == hash_files([path], tmp_path)


def test_format_can_be_given_for_an_odd_suffix(tmp_path: Path) -> None:
    path = tmp_path / "export.dat"
    FRAME.to_csv(path, index=False, sep="\t")
    part = read_files(FileSource(path="export.dat", format="tsv"), tmp_path)
    assert part.rows == 3


def _three_csvs(folder: Path) -> list[Path]:
    return [
        _write(FRAME.assign(spend=FRAME["spend"] + i), folder / f"part-{i}.csv") for i in (2, 0, 1)
    ]


def test_glob_appends_files_in_sorted_order(tmp_path: Path) -> None:
    _three_csvs(tmp_path / "in")
    part = read_files(FileSource(name="parts", path="in/part-*.csv"), tmp_path)
    assert part.rows == 9
    assert part.frame["spend"].tolist() == [0.5, 1.5, 2, 1.5, 2.5, 3, 2.5, 3.5, 4]
    assert part.frame.index.tolist() == list(range(9))
    assert part.location == "in/part-0.csv, in/part-1.csv, in/part-2.csv"


def test_glob_hash_changes_when_one_file_changes(tmp_path: Path) -> None:
    paths = _three_csvs(tmp_path / "in")
    source = FileSource(path="in/*.csv")
    before = read_files(source, tmp_path).source_hash
    assert read_files(source, tmp_path).source_hash == before
    _write(FRAME.assign(spend=99.0), paths[1])
    after = read_files(source, tmp_path).source_hash
    assert after != before
    pairs = sorted((f"in/{p.name}", file_sha256(p)) for p in paths)
    assert after == hash_files([tmp_path / rel for rel, _ in pairs], tmp_path)


def test_columns_in_another_order_are_aligned(tmp_path: Path) -> None:
    _write(FRAME, tmp_path / "a.csv")
    _write(FRAME[["spend", "plan", "Customer ID"]], tmp_path / "b.csv")
    part = read_files(FileSource(path="*.csv"), tmp_path)
    assert list(part.frame.columns) == ["Customer ID", "plan", "spend"]
    assert part.frame["Customer ID"].tolist() == [1, 2, 3, 1, 2, 3]


def test_mismatched_columns_name_the_file(tmp_path: Path) -> None:
    _write(FRAME, tmp_path / "a.csv")
    _write(FRAME.rename(columns={"plan": "tier"}), tmp_path / "b.csv")
    _write(FRAME, tmp_path / "c.csv")
    with pytest.raises(DataError) as caught:
        read_files(FileSource(name="monthly", path="*.csv"), tmp_path)
    message = str(caught.value)
    assert "source 'monthly': b.csv lacks 'plan' and has extra 'tier' compared with a.csv" in (
        message
    )


def test_no_matching_file_names_the_pattern(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no file matches 'in/\*.csv'"):
        read_files(FileSource(path="in/*.csv"), tmp_path)
    with pytest.raises(DataError, match="no file matches 'missing.csv'"):
        read_files(FileSource(path="missing.csv"), tmp_path)


def test_truncated_parquet_is_a_data_error(tmp_path: Path) -> None:
    path = _write(FRAME, tmp_path / "d.parquet")
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(DataError, match="not a readable Parquet file"):
        read_files(FileSource(path="d.parquet"), tmp_path)


def test_a_corrupt_file_in_a_glob_is_named(tmp_path: Path) -> None:
    _write(FRAME, tmp_path / "a.csv")
    (tmp_path / "b.csv").write_bytes(b'id,name\n1,"unterminated\n')
    with pytest.raises(DataError, match="b.csv"):
        read_files(FileSource(path="*.csv"), tmp_path)


def test_recursive_glob_and_parquet_folder(tmp_path: Path) -> None:
    _write(FRAME, tmp_path / "lake" / "2024" / "a.parquet")
    _write(FRAME, tmp_path / "lake" / "2025" / "b.parquet")
    part = read_files(FileSource(path="lake/**/*.parquet"), tmp_path)
    assert part.rows == 6
    assert part.location == "lake/2024/a.parquet, lake/2025/b.parquet"
    folder = read_files(FileSource(path="lake/2024"), tmp_path)  # a Parquet dataset folder
    assert folder.rows == 3
    assert folder.source_hash == hash_files([tmp_path / "lake" / "2024" / "a.parquet"], tmp_path)


def test_absolute_path_outside_the_project(tmp_path: Path) -> None:
    path = _write(FRAME, tmp_path / "elsewhere" / "d.csv")
    project = tmp_path / "project"
    project.mkdir()
    part = read_files(FileSource(path=str(path)), project)
    assert part.location == path.resolve().as_posix()
