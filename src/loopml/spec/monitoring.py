"""The ``monitor`` section of the spec: drift tests and thresholds, windows, policies.

Defaults work for a spec that says nothing. The old keys ``drift_method: psi`` and
``drift_threshold`` are still read: they mean "PSI for every column, at this threshold".

```yaml
monitor:
  window: {by: time, size: 1D}          # or {by: count, size: 10000}
  min_rows: 30                          # fewer rows in a window: measured, not judged
  drift:
    large_sample: 10000                 # from this many rows: effect sizes, not p-values
    numeric: auto                       # auto | psi | ks | wasserstein | jensenshannon
    categorical: auto                   # auto | psi | chisquare | jensenshannon
    min_effect: 0.03                    # a p-value test alerts only if Jensen-Shannon >= this
    thresholds: {wasserstein: 0.05, jensenshannon: 0.025, psi: 0.2, ks: 0.01, chisquare: 0.01}
  quality: {max_missing_increase: 0.05, max_new_category_share: 0.01, max_out_of_range_share: 0.01}
  performance: {max_drop: 0.05}         # live primary metric vs the hold-out
  policies:
    - {when: drift, action: log}
    - {when: [drift, performance], action: webhook, url: "https://hooks.example/x"}
    - {when: performance, action: retrain}
  retrain: {min_labelled: 100, recent_share: 0.3, min_improvement: 0.02, shadow_requests: 200}
```
"""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from loopml.spec.base import Section

DriftTest = Literal["psi", "ks", "chisquare", "jensenshannon", "wasserstein"]
NumericTest = Literal["auto", "psi", "ks", "wasserstein", "jensenshannon"]
CategoricalTest = Literal["auto", "psi", "chisquare", "jensenshannon"]
Signal = Literal["drift", "quality", "performance", "operations"]
# p-value tests: drift when the p-value is BELOW the threshold; the others: at or above
P_VALUE_TESTS = frozenset({"ks", "chisquare"})
_DURATION = re.compile(r"^(\d+)\s*(s|min|h|D|W)$")
_SECONDS = {"s": 1, "min": 60, "h": 3600, "D": 86400, "W": 604800}


class Thresholds(Section):
    """One threshold per test: distances and PSI flag at or above, p-values below."""

    psi: float = Field(default=0.2, gt=0)
    ks: float = Field(default=0.01, gt=0, lt=1)
    chisquare: float = Field(default=0.01, gt=0, lt=1)
    jensenshannon: float = Field(default=0.025, gt=0, le=1)
    wasserstein: float = Field(default=0.05, gt=0)

    def for_test(self, test: str) -> float:
        return float(getattr(self, test))


class DriftSettings(Section):
    """Which test each column gets; ``auto`` picks by column type and sample size.

    The rule of ``auto`` (both samples' sizes count; the smaller decides):
    numeric: ``ks`` p-value below ``large_sample`` rows, else ``wasserstein`` distance
    normalised by the reference's standard deviation; categorical: ``chisquare``
    p-value below ``large_sample``, else ``jensenshannon`` distance (base 2); ordinal:
    as numeric, on the ranks of its levels (``numeric`` chooses).
    A p-value test (``ks``, ``chisquare``) alerts only when the Jensen-Shannon distance
    also reaches ``min_effect``: a significant but tiny change is not drift.
    """

    large_sample: int = Field(default=10_000, ge=2)
    numeric: NumericTest = "auto"
    categorical: CategoricalTest = "auto"
    thresholds: Thresholds = Field(default_factory=Thresholds)
    min_effect: float = Field(default=0.03, ge=0, le=1)

    def choose(self, column_type: str, rows: int) -> DriftTest:
        """The test for a column of ``column_type`` given ``rows``; an ordinal column is
        tested on its levels' ranks as a numeric one is (``numeric``'s setting)."""
        small = rows < self.large_sample
        if column_type in ("numeric", "ordinal"):
            if self.numeric != "auto":
                return self.numeric
            return "ks" if small else "wasserstein"
        if self.categorical != "auto":
            return self.categorical
        return "chisquare" if small else "jensenshannon"


class Window(Section):
    """Windows of logged traffic: by time (``size: 1D``, ``6h``, ``30min``) or by count."""

    by: Literal["time", "count"] = "time"
    size: str | int = "1D"

    @model_validator(mode="after")
    def _size_fits(self) -> Self:
        if self.by == "count":
            if not isinstance(self.size, int) or self.size < 1:
                raise ValueError("a count window needs a whole number of rows >= 1 as 'size'")
        elif not isinstance(self.size, str) or not _DURATION.match(self.size):
            raise ValueError(
                f"a time window needs a duration as 'size' such as 30min, 6h, 1D or 1W; "
                f"got {self.size!r}"
            )
        return self

    @property
    def seconds(self) -> int:
        """The length of a time window in seconds."""
        match = _DURATION.match(str(self.size))
        assert match is not None
        return int(match.group(1)) * _SECONDS[match.group(2)]


class QualitySettings(Section):
    """Data-quality limits of a window of live traffic against the training data."""

    max_missing_increase: float = Field(default=0.05, ge=0, le=1)
    max_new_category_share: float = Field(default=0.01, ge=0, le=1)
    max_out_of_range_share: float = Field(default=0.01, ge=0, le=1)


class PerformanceSettings(Section):
    """Live primary metric against the hold-out: an alert when it is worse by more than
    ``max_drop``, in the metric's units for scores between 0 and 1 (AUC, accuracy, F1,
    R²...), as a fraction of the hold-out value for errors in the target's units (RMSE,
    MAE): 0.05 is five points of AUC, or an RMSE five per cent higher."""

    max_drop: float = Field(default=0.05, ge=0)
    min_feedback: int = Field(default=30, ge=1)


class OperationsSettings(Section):
    max_p95_latency_ms: float = Field(default=500.0, gt=0)
    max_error_rate: float = Field(default=0.01, ge=0, le=1)


class RetrainSettings(Section):
    """How a ``retrain`` policy replaces the champion, only with a proven challenger.

    The feedback-labelled traffic is cut by time: the older part joins the training data,
    the latest ``recent_share`` judges champion against challenger (never trained on).
    A challenger that is better there by ``min_improvement`` (a fraction of the champion's
    primary metric) shadows ``shadow_requests`` requests, and is promoted only if it is
    better by the same margin on the shadowed requests that got feedback.
    """

    min_labelled: int = Field(default=100, ge=2)
    recent_share: float = Field(default=0.3, gt=0, lt=1)
    min_improvement: float = Field(default=0.0, ge=0)
    shadow_requests: int = Field(default=200, ge=0)
    min_shadow_feedback: int = Field(default=30, ge=1)


class Policy(Section):
    """When a signal alerts, take ``action``: ``log`` (an event), ``webhook`` (POST the
    evidence as JSON, retried), ``retrain`` (see RetrainSettings) or ``rollback`` (back
    to the previous deployment)."""

    when: list[Signal] = Field(default_factory=lambda: list[Signal](["drift"]))
    action: Literal["log", "webhook", "retrain", "rollback"]
    url: str | None = None
    retries: int = Field(default=3, ge=0, le=10)
    timeout_s: float = Field(default=5.0, gt=0)

    @field_validator("when", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _webhook_has_url(self) -> Self:
        if self.action == "webhook" and not self.url:
            raise ValueError("a webhook policy needs 'url'")
        if self.action != "webhook" and self.url:
            raise ValueError(f"'url' applies to webhook policies, not to '{self.action}'")
        return self


class MonitorSpec(Section):
    """How loopml watches a served model; see the module docstring."""

    window: Window = Field(default_factory=Window)
    min_rows: int = Field(default=30, ge=1)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    performance: PerformanceSettings = Field(default_factory=PerformanceSettings)
    operations: OperationsSettings = Field(default_factory=OperationsSettings)
    policies: list[Policy] = Field(default_factory=lambda: [Policy(action="log")])
    retrain: RetrainSettings = Field(default_factory=RetrainSettings)
    # the first spec's keys, kept as aliases
    drift_method: Literal["psi"] | None = None
    drift_threshold: float | None = Field(default=None, gt=0.0)

    @model_validator(mode="after")
    def _old_keys(self) -> Self:
        if self.drift_method is None and self.drift_threshold is None:
            return self
        drift = self.drift
        if drift.numeric != "auto" or drift.categorical != "auto":
            raise ValueError(
                "drift_method/drift_threshold are the old form of drift.numeric, "
                "drift.categorical and drift.thresholds: use one form, not both"
            )
        thresholds = drift.thresholds.model_copy(
            update={"psi": self.drift_threshold or drift.thresholds.psi}
        )
        migrated = drift.model_copy(
            update={"numeric": "psi", "categorical": "psi", "thresholds": thresholds}
        )
        object.__setattr__(self, "drift", migrated)
        object.__setattr__(self, "drift_method", None)  # dumped in the new form only
        object.__setattr__(self, "drift_threshold", None)
        return self
