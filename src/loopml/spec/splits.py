"""Spec section ``split``: how the hold-out test part is cut from the data.

The hold-out is cut once, before any search or fit, and is never seen by either. In
YAML::

    split: {method: stratified, test_size: 0.2}          # classes in equal shares
    split: {method: group, group_column: customer_id}    # no customer in both parts
    split:                                               # out of time
      method: time
      time_column: dteday
      test_from: 2012-01-01     # rows at or after it are the test part (else test_size)
      gap: 30D                  # train rows in the 30 days before it are dropped
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, Self

import pandas as pd
from pydantic import Field, field_validator, model_validator

from loopml.spec.base import Section

SplitMethod = Literal["stratified", "random", "time", "group"]


class SplitSpec(Section):
    """How the hold-out is cut.

    - ``stratified``: a random share ``test_size`` with each class in equal shares in
      both parts (random for regression);
    - ``random``: a random share ``test_size``;
    - ``group``: a random share ``test_size`` of the groups of ``group_column``, so no
      group is in both parts;
    - ``time``: the latest rows by ``time_column`` (dates as text parse too): those at or
      after ``test_from`` when given, else the latest ``test_size`` share, never cutting
      through one timestamp. ``gap`` (a duration such as ``7D``, ``30D``, ``12h``) keeps
      only the training rows before ``test start - gap``: with ``test_from: 2012-01-01``
      and ``gap: 30D`` training ends on 2011-12-01, so nothing near the boundary leaks
      across it.
    """

    method: SplitMethod = "stratified"
    test_size: float = Field(default=0.2, gt=0.0, lt=1.0)
    time_column: str | None = None
    group_column: str | None = None
    test_from: str | None = None
    gap: str | None = None
    holdout_sample: float | None = Field(default=None, ge=0.0, lt=0.5)
    random_state: int = 42

    @field_validator("test_from", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        if isinstance(value, dt.date):  # YAML reads 2012-01-01 as a date
            return value.isoformat()
        if isinstance(value, str):
            try:
                dt.datetime.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(
                    f"'{value}' is not an ISO date; write e.g. 2012-01-01 or 2012-01-01T06:00"
                ) from None
            return value.strip()
        return value

    @field_validator("gap")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            gap = pd.Timedelta(value)
        except (ValueError, TypeError):
            raise ValueError(
                f"'{value}' is not a duration; write e.g. 7D, 30D, 12h or 2W"
            ) from None
        if pd.isna(gap) or gap < pd.Timedelta(0):
            raise ValueError(f"'{value}' is not a duration of zero or more")
        return value

    @model_validator(mode="after")
    def _method_needs(self) -> Self:
        if self.method == "time" and not self.time_column:
            raise ValueError("method 'time' needs 'time_column'")
        if self.method == "group" and not self.group_column:
            raise ValueError("method 'group' needs 'group_column'")
        for name in ("test_from", "gap"):
            if getattr(self, name) is not None and self.method != "time":
                raise ValueError(f"'{name}' applies to method 'time' only")
        return self

    @property
    def sample_share(self) -> float:
        """The share of the training period kept as a random out-of-sample hold-out that
        the search never sees: ``holdout_sample``, by default 0.1 for time splits (whose
        test part is out of time) and 0 otherwise (the test part is out of sample)."""
        if self.holdout_sample is not None:
            return self.holdout_sample
        return 0.1 if self.method == "time" else 0.0

    @property
    def test_start(self) -> pd.Timestamp | None:
        """``test_from`` as a timestamp, or None."""
        return None if self.test_from is None else pd.Timestamp(self.test_from)

    @property
    def gap_delta(self) -> pd.Timedelta:
        """``gap`` as a duration (zero when there is none)."""
        return pd.Timedelta(0) if self.gap is None else pd.Timedelta(self.gap)
