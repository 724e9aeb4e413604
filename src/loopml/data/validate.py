"""Validate a snapshot: the saved schema, unique columns and the spec's custom checks.

Every finding names the column (or the check), the rule, how many rows break it, an
example value with its row and up to ``MAX_EXAMPLES`` row positions, and whether it fails
the pipeline or only warns (``data.validation.fail_on``). Rules: ``missing_column``,
``type``, ``null``, ``out_of_range``, ``unseen_category`` (see ``check_schema``),
``unique`` (a value repeated in a unique column) and ``check`` (a custom expression).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from loopml.data.expressions import column_names, evaluate_unknown
from loopml.data.infer import is_id_like
from loopml.data.schema import Violation, describe_value, find_breaks
from loopml.domain import Schema
from loopml.errors import SchemaViolation
from loopml.spec.quality import DEFAULT_FAIL_ON, Check

MAX_EXAMPLES = 5  # row positions kept per finding


@dataclass(frozen=True)
class Finding(Violation):
    """A ``Violation`` graded ``fail`` or ``warn``, with up to ``MAX_EXAMPLES`` rows.

    ``row`` and ``example_rows`` are positions in the validated frame (0-based); ``row``
    is the first of them and ``example`` quotes its value.
    """

    severity: str = "fail"
    example_rows: tuple[int, ...] = ()

    @property
    def line(self) -> str:
        """One line for a report: ``[fail] age: out_of_range, 12 rows, e.g. row 431: ...``."""
        if self.rule == "missing_column" or self.row is None:
            return f"[{self.severity}] {self.column}: {self.rule}, {self.example}"
        rows = "1 row" if self.count == 1 else f"{self.count} rows"
        return (
            f"[{self.severity}] {self.column}: {self.rule}, {rows}, "
            f"e.g. row {self.row}: {self.example}"
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["example_rows"] = list(self.example_rows)
        return out


@dataclass(frozen=True)
class ValidationReport:
    """Every finding on a frame of ``rows`` rows and ``columns`` columns."""

    violations: tuple[Finding, ...]
    rows: int
    columns: int

    @property
    def failed(self) -> tuple[Finding, ...]:
        """The findings that fail the pipeline."""
        return tuple(v for v in self.violations if v.severity == "fail")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """The findings that only warn."""
        return tuple(v for v in self.violations if v.severity == "warn")

    @property
    def ok(self) -> bool:
        """True when nothing fails (warnings allowed)."""
        return not self.failed

    def summary(self) -> str:
        """One line per finding, failures first; ``no violations`` when clean."""
        if not self.violations:
            return f"no violations in {self.rows} rows, {self.columns} columns"
        return "\n".join(v.line for v in (*self.failed, *self.warnings))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict for the run record."""
        return {
            "rows": self.rows,
            "columns": self.columns,
            "failed": len(self.failed),
            "warnings": len(self.warnings),
            "violations": [v.to_dict() for v in self.violations],
        }


def validate_frame(
    df: pd.DataFrame,
    schema: Schema,
    *,
    unique: Collection[str] = (),
    checks: Sequence[Check] = (),
    fail_on: Collection[str] = DEFAULT_FAIL_ON,
) -> ValidationReport:
    """Check ``df`` against ``schema``, the ``unique`` columns and the custom ``checks``.

    Args:
        df: the rows to check (a snapshot, before or after cleaning).
        schema: the saved schema (see ``load_schema``); columns it does not name are not
            checked, columns it names that ``df`` lacks are ``missing_column``.
        unique: columns whose non-null values must all differ.
        checks: the spec's ``data.validation.checks``; a check judges only the rows where
            its answer is known (not where a value it compares is missing, or is text in
            a numeric column: the ``null`` and ``type`` rules report those).
        fail_on: the rules that fail the pipeline; the others only warn. A check fails
            when ``check`` is in ``fail_on`` and its own severity is ``fail``.

    Returns:
        The report; call ``raise_for_failures`` to stop on failing findings.

    Raises:
        DataError: a check does not parse, uses a forbidden construct, or names a column
            that neither ``df`` nor ``schema`` has (a typo in the spec).
    """
    fail_on = set(fail_on)
    findings: list[Finding] = []
    for found in find_breaks(df, schema):
        severity = "fail" if found.rule in fail_on else "warn"
        if found.flags is None:
            findings.append(Finding(found.column, found.rule, len(df), found.why, None, severity))
        else:
            findings.append(
                _finding(found.column, found.rule, found.flags, severity, found.values, found.why)
            )
    ordered = [c for c in schema.names() if c in unique] + sorted(set(unique) - set(schema.names()))
    for column in ordered:
        if column in df.columns:
            findings += _unique(df[column], column, "fail" if "unique" in fail_on else "warn")
    for i, check in enumerate(checks):
        severity = "fail" if check.severity == "fail" and "check" in fail_on else "warn"
        findings += _check(df, schema, check, f"data.validation.checks[{i}].expr", severity)
    return ValidationReport(tuple(findings), len(df), df.shape[1])


def raise_for_failures(report: ValidationReport, where: str) -> None:
    """Raise ``SchemaViolation`` listing the failing findings of ``report``, if any.

    ``where`` names the data (a file or a snapshot) at the head of the message.
    """
    failed = report.failed
    if not failed:
        return
    lines = "\n  ".join(v.line for v in failed)
    noun = "violation fails" if len(failed) == 1 else "violations fail"
    raise SchemaViolation(
        f"{where}: {len(failed)} schema {noun} the pipeline ({report.rows} rows checked):\n"
        f"  {lines}\n"
        "Fix the data; or relax the rule in schema.yaml; or remove the rule from "
        "data.validation.fail_on in loopml.yaml so that it only warns."
    )


def infer_unique(df: pd.DataFrame, schema: Schema) -> set[str]:
    """The columns of ``schema`` that look like identifiers in ``df`` (see
    ``is_id_like``): all values distinct, no nulls. Saved as ``unique: true``."""
    return {
        c.name
        for c in schema.columns
        if c.name in df.columns and is_id_like(df[c.name], c.kind, c.name)
    }


def _finding(
    column: str,
    rule: str,
    flags: np.ndarray,
    severity: str,
    values: pd.Series,
    why: str = "",
    example: str | None = None,
) -> Finding:
    positions = np.flatnonzero(flags)[:MAX_EXAMPLES]
    first = int(positions[0])
    text = example if example is not None else describe_value(rule, values.iloc[first], why)
    return Finding(
        column,
        rule,
        int(np.count_nonzero(flags)),
        text,
        first,
        severity,
        tuple(int(p) for p in positions),
    )


def _unique(series: pd.Series, column: str, severity: str) -> list[Finding]:
    try:
        repeated = series.duplicated(keep="first")
    except TypeError:  # unhashable values (lists from JSON): compare their text
        repeated = series.astype(str).duplicated(keep="first")
    flags = (repeated & series.notna()).to_numpy(dtype=bool)
    if not flags.any():
        return []
    first = int(np.flatnonzero(flags)[0])
    value = series.iloc[first]
    earlier = int(np.flatnonzero(_same(series, value))[0])
    example = f"{describe_value('unique', value)} (also in row {earlier})"
    return [_finding(column, "unique", flags, severity, series, example=example)]


def _same(series: pd.Series, value: object) -> np.ndarray:
    try:
        return (series == value).to_numpy(dtype=bool, na_value=False)
    except (TypeError, ValueError):
        return (series.astype(str) == str(value)).to_numpy(dtype=bool)


def _check(
    df: pd.DataFrame, schema: Schema, check: Check, where: str, severity: str
) -> list[Finding]:
    names = column_names(check.expr, where=where)
    absent = [n for n in names if n not in df.columns]
    if absent and all(n in schema.names() for n in absent):  # reported as missing_column
        why = f"cannot be evaluated: column '{absent[0]}' is missing"
        return [Finding(check.label, "check", len(df), why, None, severity)]
    holds = evaluate_unknown(df, check.expr, where=where)
    flags = (holds == False).to_numpy(dtype=bool, na_value=False)  # noqa: E712 - NA stays NA
    if not flags.any():
        return []
    first = int(np.flatnonzero(flags)[0])
    example = ", ".join(f"{n}={describe_value('check', df[n].iloc[first])}" for n in names)
    example = example or f"'{check.expr}' is false"
    return [_finding(check.label, "check", flags, severity, df.index.to_series(), example=example)]
