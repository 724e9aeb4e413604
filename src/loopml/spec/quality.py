"""Spec sections for data quality: validation rules, cleaning steps and labelling rules.

They are wired into ``DataSpec`` as ``data.validation``, ``data.cleaning`` and
``data.labels``. In YAML::

    data:
      validation:
        fail_on: [missing_column, type, check]   # every other rule only warns
        checks:
          - {name: adult, expr: "age >= 18"}
          - {expr: "balance > -10000", severity: warn}
      cleaning:
        missing: {"*": median, job: mode, pdays: {fill: -1}, income: drop}
        outliers: {method: iqr, action: clip, factor: 1.5}
        drop_id_like: true
      labels:
        rules:
          - {name: long_call, when: "duration > 1000", label: 1}
"""

from __future__ import annotations

import ast
import re
from typing import Annotated, Any, Literal, Self

from pydantic import (
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)

from loopml.spec.base import Section

Rule = Literal[
    "missing_column", "type", "null", "out_of_range", "unseen_category", "unique", "check"
]
RULES: tuple[Rule, ...] = (
    "missing_column",
    "type",
    "null",
    "out_of_range",
    "unseen_category",
    "unique",
    "check",
)
DEFAULT_FAIL_ON: tuple[Rule, ...] = ("missing_column", "type", "check")
Severity = Literal["fail", "warn"]
_BACKTICKED = re.compile(r"`[^`]*`")


def _parses(expr: str) -> str:
    """``expr`` when it is one Python expression (backticked column names allowed)."""
    try:
        ast.parse(_BACKTICKED.sub("_", expr).strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"'{expr}' is not a valid expression ({exc.msg})") from None
    return expr


class Check(Section):
    """A custom rule every row must meet, e.g. ``age >= 18``.

    Rows where a column the expression names is null are not judged (that is the
    ``null`` rule's job). A failing check fails the pipeline when ``severity`` is
    ``fail`` and ``check`` is in ``fail_on``; otherwise it warns.
    """

    name: str | None = None
    expr: str = Field(min_length=1)
    severity: Severity = "fail"

    @field_validator("expr")
    @classmethod
    def _expr_parses(cls, value: str) -> str:
        return _parses(value)

    @property
    def label(self) -> str:
        """How reports name the check: its name, else its expression."""
        return self.name or self.expr


class ValidationSpec(Section):
    """Which schema rules fail the pipeline (the others only warn) and custom checks."""

    fail_on: list[Rule] = Field(default_factory=lambda: list(DEFAULT_FAIL_ON))
    checks: list[Check] = Field(default_factory=list)


class Fill(Section):
    """Fill missing values with a constant: ``{fill: 0}``."""

    fill: str | int | float | bool


POLICIES: tuple[str, ...] = ("drop", "keep", "mean", "median", "mode")


def _one_error(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Validate a missing-value policy with one clear error instead of one per union arm."""
    try:
        return handler(value)
    except ValidationError:
        raise ValueError(
            f"unknown missing-value policy {value!r}; use one of {', '.join(POLICIES)}, "
            "or {fill: VALUE}"
        ) from None


# "drop": drop the row; "keep": leave the null (the model's transform imputes later);
# "mean" / "median": numeric columns only; "mode": the most frequent value;
# {fill: VALUE}: a constant.
MissingPolicy = Annotated[
    Literal["drop", "keep", "mean", "median", "mode"] | Fill, WrapValidator(_one_error)
]


class OutlierSpec(Section):
    """Outliers by IQR (outside ``[q1 - factor*iqr, q3 + factor*iqr]``) or z-score
    (``|x - mean| > z * std``), clipped to the bounds or dropped with their rows.

    ``columns: null`` means every numeric column but the target and the protected ones.
    """

    method: Literal["iqr", "zscore"] = "iqr"
    action: Literal["clip", "drop"] = "clip"
    factor: float = Field(default=1.5, gt=0.0)
    z: float = Field(default=3.0, gt=0.0)
    columns: list[str] | None = None


class CleaningSpec(Section):
    """Declarative cleaning, applied in this order: coerce types, drop duplicate rows,
    missing values (``missing``: column -> policy, ``"*"`` for every other column),
    outliers, drop constant columns, drop identifier-like columns."""

    coerce_types: bool = True
    drop_duplicates: bool = True
    missing: dict[str, MissingPolicy] = Field(default_factory=dict)
    outliers: OutlierSpec | None = None
    drop_constant: bool = True
    drop_id_like: bool = False


class LabelRule(Section):
    """Label the unlabelled rows where ``when`` is true with ``label``."""

    name: str = Field(min_length=1)
    when: str = Field(min_length=1)
    label: str | int | float | bool

    @field_validator("when")
    @classmethod
    def _when_parses(cls, value: str) -> str:
        return _parses(value)


class LabelsSpec(Section):
    """Labelling functions, tried in order: the first rule whose ``when`` holds wins."""

    rules: list[LabelRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [r.name for r in self.rules]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(repeated)}")
        return self
