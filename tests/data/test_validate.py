"""Validating snapshots: real data is clean against its own schema; injected faults are
found with their counts, examples and severities."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.data.ingest import clean_column_names, read_source
from loopml.data.schema import infer_schema
from loopml.data.validate import (
    MAX_EXAMPLES,
    Finding,
    ValidationReport,
    infer_unique,
    raise_for_failures,
    validate_frame,
)
from loopml.domain import Schema
from loopml.errors import DataError, SchemaViolation
from loopml.spec.quality import Check, ValidationSpec


@pytest.fixture(scope="module")
def bank(bank_csv: Path) -> pd.DataFrame:
    frame, _ = clean_column_names(read_source(bank_csv))
    return frame


@pytest.fixture(scope="module")
def bank_schema(bank: pd.DataFrame) -> Schema:
    return infer_schema(bank)


def test_real_data_is_clean_against_its_own_schema(bank: pd.DataFrame, bike_csv: Path) -> None:
    bike, _ = clean_column_names(read_source(bike_csv))
    for frame in (bank, bike):
        schema = infer_schema(frame)
        report = validate_frame(frame, schema, unique=infer_unique(frame, schema))
        assert report.violations == () and report.ok
        assert (report.rows, report.columns) == frame.shape
        assert report.summary().startswith("no violations in")


def test_injected_faults(bank: pd.DataFrame, bank_schema: Schema) -> None:
    live = bank.head(2000).copy()
    live["age"] = live["age"].astype(object)
    live.loc[5, "age"] = "abc"  # the column's type changed
    live.loc[[7, 8], "age"] = 200  # out of range
    live.loc[[10, 11, 12], "age"] = [15, 16, 17]  # out of range, and fail the custom check
    live.loc[[3, 4, 9], "balance"] = np.nan  # nulls where the schema has none
    live["month"] = live["month"].astype(object)
    live.loc[20, "month"] = "smarch"  # type
    live = live.drop(columns=["pdays"])
    live["id"] = range(len(live))
    live.loc[30, "id"] = 29  # a repeat in a unique column
    live.loc[40, "campaign"] = 60
    checks = [
        Check(name="adult", expr="age >= 18"),
        Check(expr="campaign < 50", severity="warn"),
    ]
    report = validate_frame(live, bank_schema, unique={"id"}, checks=checks)
    found = {(v.column, v.rule): v for v in report.violations}
    assert set(found) == {
        ("age", "type"),
        ("age", "out_of_range"),
        ("balance", "null"),
        ("month", "type"),
        ("pdays", "missing_column"),
        ("id", "unique"),
        ("adult", "check"),
        ("campaign < 50", "check"),
    }
    typed = found["age", "type"]
    assert (typed.count, typed.row, typed.example) == (1, 5, "'abc' (not a number)")
    assert typed.severity == "fail" and typed.example_rows == (5,)
    out = found["age", "out_of_range"]
    assert (out.count, out.example_rows, out.severity) == (5, (7, 8, 10, 11, 12), "warn")
    assert out.example == "200 (outside [18, 95])"
    assert found["balance", "null"].example_rows == (3, 4, 9)
    assert found["balance", "null"].severity == "warn"
    assert found["pdays", "missing_column"].severity == "fail"
    assert found["id", "unique"].example == "29 (also in row 29)"
    assert (found["id", "unique"].row, found["id", "unique"].severity) == (30, "warn")
    adult = found["adult", "check"]  # 'abc' is not judged: the type rule reports it
    assert (adult.count, adult.example_rows, adult.example) == (3, (10, 11, 12), "age=15")
    assert adult.severity == "fail"
    assert found["campaign < 50", "check"].severity == "warn"
    assert {v.rule for v in report.failed} == {"type", "missing_column", "check"}
    assert len(report.failed) + len(report.warnings) == len(report.violations)
    assert not report.ok


def test_summary_and_to_dict(bank: pd.DataFrame, bank_schema: Schema) -> None:
    live = bank.head(500).copy()
    live.loc[[431, 432], "age"] = -3
    report = validate_frame(live, bank_schema, checks=[Check(expr="age >= 18")])
    lines = report.summary().splitlines()
    assert lines == [
        "[fail] age >= 18: check, 2 rows, e.g. row 431: age=-3",
        "[warn] age: out_of_range, 2 rows, e.g. row 431: -3 (outside [18, 95])",
    ]
    data = json.loads(json.dumps(report.to_dict()))
    assert (data["rows"], data["columns"], data["failed"], data["warnings"]) == (500, 12, 1, 1)
    assert data["violations"][0] == {
        "column": "age",
        "rule": "out_of_range",
        "count": 2,
        "example": "-3 (outside [18, 95])",
        "row": 431,
        "severity": "warn",
        "example_rows": [431, 432],
    }


def test_examples_are_capped(bank: pd.DataFrame, bank_schema: Schema) -> None:
    live = bank.head(100).copy()
    live["age"] = 999
    finding = validate_frame(live, bank_schema).violations[0]
    assert finding.count == 100 and finding.example_rows == tuple(range(MAX_EXAMPLES))


def test_fail_on_decides_severity(bank: pd.DataFrame, bank_schema: Schema) -> None:
    live = bank.head(100).copy()
    live.loc[0, "age"] = 200
    live.loc[1, "balance"] = np.nan
    every = ValidationSpec(fail_on=["out_of_range", "null"], checks=[Check(expr="age < 100")])
    report = validate_frame(live, bank_schema, checks=every.checks, fail_on=every.fail_on)
    assert {(v.rule, v.severity) for v in report.violations} == {
        ("out_of_range", "fail"),
        ("null", "fail"),
        ("check", "warn"),  # 'check' is not in fail_on: every check only warns
    }
    assert ValidationSpec().fail_on == ["missing_column", "type", "check"]


def test_raise_for_failures(bank: pd.DataFrame, bank_schema: Schema) -> None:
    live = bank.head(100).drop(columns=["age"])
    report = validate_frame(live, bank_schema, checks=[Check(name="adult", expr="age >= 18")])
    with pytest.raises(SchemaViolation) as info:
        raise_for_failures(report, "snapshot 1a2b3c")
    message = str(info.value)
    assert message.startswith("snapshot 1a2b3c: 2 schema violations fail the pipeline")
    assert "[fail] age: missing_column, expected a numeric column" in message
    assert "[fail] adult: check, cannot be evaluated: column 'age' is missing" in message
    assert "data.validation.fail_on" in message
    warn_only = validate_frame(live, bank_schema, fail_on=[])
    raise_for_failures(warn_only, "snapshot")  # warnings never raise
    assert warn_only.warnings and not warn_only.failed


def test_a_check_with_an_unknown_column_is_a_spec_typo(
    bank: pd.DataFrame, bank_schema: Schema
) -> None:
    with pytest.raises(DataError, match=r"checks\[1\]\.expr: expression 'agee >= 18' names"):
        validate_frame(
            bank.head(10), bank_schema, checks=[Check(expr="1 > 0"), Check(expr="agee >= 18")]
        )


def test_unique_ignores_nulls_and_finding_is_a_violation() -> None:
    frame = pd.DataFrame({"k": ["a", None, None, "b", "a"]})
    report = validate_frame(frame, infer_schema(frame), unique={"k"})
    (finding,) = report.violations
    assert isinstance(finding, Finding) and (finding.count, finding.row) == (1, 4)
    assert finding.example == "'a' (also in row 0)"
    assert ValidationReport((), 0, 0).ok
