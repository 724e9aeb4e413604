"""Monitoring judges an ordinal column on its levels' ranks, in the signature's order."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd

from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.monitor.watch import check_traffic
from loopml.spec.monitoring import MonitorSpec

LEVELS = ("very low", "low", "medium", "high", "very high")
SIGNATURE = Schema((ColumnSchema("satisfaction", ColumnKind.ORDINAL, "str", categories=LEVELS),))
START = pd.Timestamp("2026-03-01", tz="UTC")


def rows(n: int, seed: int, p: list[float]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"satisfaction": rng.choice(np.array(LEVELS, dtype=object), n, p=p)})


def logged(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.insert(0, "prediction_id", [uuid.uuid4().hex for _ in range(len(out))])
    out.insert(1, "predicted_at", START + pd.to_timedelta(np.arange(len(out)), unit="s"))
    out.insert(2, "latency_ms", 5.0)
    out["version"] = 1
    out["prediction"] = "no"
    return out


def check(live: pd.DataFrame):
    reference = rows(4000, 0, [0.2] * 5)
    return check_traffic(reference, SIGNATURE, [logged(live)], MonitorSpec(), version=1).outcome


def test_a_move_up_the_scale_is_ordinal_drift_that_names_the_levels() -> None:
    outcome = check(rows(600, 1, [0.02, 0.08, 0.2, 0.3, 0.4]))
    (feature,) = [f for f in outcome.latest.drift if f.feature == "satisfaction"]
    assert (feature.column_type, feature.method) == ("ordinal", "ks")
    (evidence,) = outcome.alerts["drift"]
    assert evidence.startswith("satisfaction (ks") and "'very high' 2" in evidence


def test_the_same_shares_are_no_drift() -> None:
    outcome = check(rows(600, 2, [0.2] * 5))
    assert "drift" not in outcome.alerts
