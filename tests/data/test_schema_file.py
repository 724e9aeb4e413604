"""schema.yaml: written with comments, read back the same, edits take effect, typos named."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from loopml.data.ingest import clean_column_names, read_source
from loopml.data.schema import infer_schema
from loopml.data.schema_file import load_schema, parse_schema, save_schema
from loopml.data.validate import infer_unique, validate_frame
from loopml.domain import ColumnKind
from loopml.errors import SpecError


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(30)],
            "age": [18 + (7 * i) % 25 for i in range(30)],  # 18..42, repeated
            "job": ["admin", "cook", "pilot"] * 10,
            "balance": [0.5 * i if i % 7 else None for i in range(30)],
            "vip": [True, False] * 15,
            "code": [1, 2, 3] * 10,
            "signed_up": pd.date_range("2020-01-01", periods=30, freq="D"),
            "job title": ["a: b", "x", "y"] * 10,  # a name and a value YAML must quote
        }
    )


def test_round_trip(tmp_path: Path, frame: pd.DataFrame) -> None:
    schema = infer_schema(frame, kinds={"code": ColumnKind.CATEGORICAL})
    unique = infer_unique(frame, schema)
    assert unique == {"customer_id"}
    path = save_schema(schema, tmp_path / "schema.yaml", unique=unique)
    assert load_schema(path) == (schema, unique)
    text = path.read_text()
    assert text.startswith("# The schema every new snapshot")
    assert "    categories: ['1', '2', '3']\n" in text
    assert "    min: 18\n    max: 42\n" in text  # integral bounds read as written
    assert "  customer_id:\n    kind: categorical\n" in text and "unique: true" in text
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_bike_round_trip(tmp_path: Path, bike_csv: Path) -> None:
    bike, _ = clean_column_names(read_source(bike_csv))
    schema = infer_schema(bike)
    unique = infer_unique(bike, schema)
    assert unique == {"column_0", "x", "instant"}
    loaded, loaded_unique = load_schema(save_schema(schema, tmp_path / "s.yaml", unique=unique))
    assert loaded == schema and loaded_unique == unique
    assert validate_frame(bike, loaded, unique=loaded_unique).violations == ()


def test_an_edited_file_takes_effect(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = save_schema(infer_schema(frame), tmp_path / "schema.yaml")
    assert validate_frame(frame, load_schema(path)[0]).violations == ()
    edited = path.read_text().replace("max: 42", "max: 40")
    edited = edited.replace("categories: [admin, cook, pilot]", "categories: [admin, cook]")
    edited = edited.replace("  job:\n", "  job:\n    unique: true\n")
    path.write_text(edited)
    schema, unique = load_schema(path)
    assert schema.column("age").max == 40.0 and unique == {"job"}
    report = validate_frame(frame, schema, unique=unique, fail_on=["out_of_range"])
    found = {(v.column, v.rule): v for v in report.violations}
    assert set(found) == {("age", "out_of_range"), ("job", "unseen_category"), ("job", "unique")}
    assert found["age", "out_of_range"].count == 2  # 41 and 42
    assert found["age", "out_of_range"].severity == "fail"
    assert found["job", "unseen_category"].severity == "warn"


def test_hand_written_categories_and_one_bound() -> None:
    text = "columns:\n  month:\n    kind: categorical\n    categories: [1, 2, 12]\n"
    text += "  age:\n    kind: numeric\n    min: 18\n"
    schema, unique = parse_schema(text)
    assert schema.column("month").categories == ("1", "2", "12")
    assert (schema.column("age").min, schema.column("age").max) == (18.0, None)
    assert unique == set()
    live = pd.DataFrame({"month": [1, 13], "age": [17, 99]})
    rules = {(v.column, v.rule, v.example) for v in validate_frame(live, schema).violations}
    assert rules == {
        ("month", "unseen_category", "13 (not seen in training)"),
        ("age", "out_of_range", "17 (below min 18)"),
    }


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("nullable: false", "nulable: false"), ":5: columns.age.nulable: unknown key. Did you"),
        (("kind: numeric", "kind: number"), ":4: columns.age.kind: Input should be 'numeric'"),
        (("max: 95", "max: lots"), ":8: columns.age.max: Input should be a valid number"),
        (("version: 1", "verson: 1"), ":1: verson: unknown key. Did you mean 'version'?"),
        (("    kind: categorical\n", "    dtype: str\n"), ":10: columns.job.kind: Field required"),
        (("    kind: categorical\n", ""), ":9: columns.job: expected a mapping of kind, dtype"),
        (("  job:", "  age:"), ":9: columns.age: the column is listed twice"),
        (("max: 95", "max: [95"), ":9: not valid YAML"),
    ],
)
def test_errors_name_the_file_and_line(
    tmp_path: Path, edit: tuple[str, str], expected: str
) -> None:
    text = (
        "version: 1\n"
        "columns:\n"
        "  age:\n"
        "    kind: numeric\n"
        "    nullable: false\n"
        "    dtype: int64\n"
        "    min: 18\n"
        "    max: 95\n"
        "  job:\n"
        "    kind: categorical\n"
    )
    path = tmp_path / "schema.yaml"
    path.write_text(text.replace(*edit))
    with pytest.raises(SpecError) as info:
        load_schema(path)
    assert f"{path}{expected}" in str(info.value)


def test_missing_file_and_newer_version(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no schema file here"):
        load_schema(tmp_path / "schema.yaml")
    with pytest.raises(SpecError, match="version 2 is newer"):
        parse_schema("version: 2\ncolumns: {}\n")
    with pytest.raises(SpecError, match="a mapping with 'columns:'"):
        parse_schema("- a\n")
