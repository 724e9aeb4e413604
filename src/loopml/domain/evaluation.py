"""The business gate's result: a verdict with one check per success criterion."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Verdict(enum.StrEnum):
    GO = "go"
    NO_GO = "no-go"


@dataclass(frozen=True)
class CriterionCheck:
    """One success criterion applied to one value: ``value op threshold``; ``low`` and
    ``high`` bound the value's bootstrap confidence interval when it was computed."""

    metric: str
    op: str
    threshold: float
    value: float | None
    passed: bool
    reason: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class GateResult:
    """Go when every check passed; ``reasons`` explain each failure."""

    checks: tuple[CriterionCheck, ...]

    @property
    def verdict(self) -> Verdict:
        return Verdict.GO if all(c.passed for c in self.checks) else Verdict.NO_GO

    @property
    def reasons(self) -> list[str]:
        return [c.reason for c in self.checks if not c.passed]
