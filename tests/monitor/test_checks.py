"""Windows of the prediction log: drift, quality, operations, live metric and staleness."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.monitor.performance import make_scorer
from loopml.monitor.watch import check_traffic
from loopml.spec.monitoring import MonitorSpec

SIGNATURE = Schema(
    (
        ColumnSchema("age", ColumnKind.NUMERIC, "float64"),
        ColumnSchema("job", ColumnKind.CATEGORICAL, "str"),
        ColumnSchema("signed_at", ColumnKind.DATETIME, "datetime64[ns]"),
    )
)
JOBS = np.array(["admin", "technician", "student"], dtype=object)
DAY = pd.Timedelta(days=1)
START = pd.Timestamp("2026-03-01", tz="UTC")


def rows(n: int, seed: int, *, age_shift: float = 0.0, jobs=JOBS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, n) + age_shift * 10,
            "job": rng.choice(jobs, n),
            "signed_at": pd.Timestamp("2024-01-01"),
        }
    )


def logged(frame: pd.DataFrame, day: int, *, version: int = 1, latency=None) -> pd.DataFrame:
    n = len(frame)
    rng = np.random.default_rng(day)
    out = frame.copy()
    out.insert(0, "prediction_id", [uuid.uuid4().hex for _ in range(n)])
    out.insert(1, "predicted_at", START + day * DAY + pd.to_timedelta(np.arange(n), unit="s"))
    out.insert(2, "latency_ms", rng.gamma(2.0, 5.0, n) if latency is None else latency)
    out["version"] = version
    out["probability"] = rng.random(n)
    out["prediction"] = np.where(out["probability"] >= 0.5, "yes", "no")
    return out


def reference() -> pd.DataFrame:
    frame = rows(6000, 0)
    frame["probability"] = np.random.default_rng(9).random(len(frame))
    return frame


def spec(**changes) -> MonitorSpec:
    return MonitorSpec.model_validate(changes)


def check(log, monitor: MonitorSpec | None = None, **options):
    return check_traffic(
        reference(), SIGNATURE, log, monitor or spec(), version=1,
        outputs={"probability": "numeric"}, **options,
    )  # fmt: skip


def test_daily_windows_find_the_day_drift_started() -> None:
    log = [
        logged(rows(2000, 1), 0),
        logged(rows(2000, 2), 1),
        logged(rows(2000, 3, age_shift=0.5), 2),
    ]
    outcome = check(log).outcome
    assert [w.rows for w in outcome.windows] == [2000, 2000, 2000]
    assert [w.start for w in outcome.windows] == [START, START + DAY, START + 2 * DAY]
    assert [w.drifted_features for w in outcome.windows] == [[], [], ["age"]]
    assert [f.feature for f in outcome.latest.drift] == ["age", "job", "probability"]
    assert outcome.alerts["drift"][0].startswith("age (ks ")
    assert outcome.staleness.first_drift_at == START + 2 * DAY
    assert outcome.staleness.first_drifted == ("age",)
    assert outcome.staleness.first_at == START


def test_count_windows_split_the_log_by_rows_in_any_chunking() -> None:
    log = logged(rows(2500, 1), 0)
    monitor = spec(window={"by": "count", "size": 1000})
    outcome = check([log.iloc[:700], log.iloc[700:]], monitor).outcome
    assert [w.rows for w in outcome.windows] == [1000, 1000, 500]
    assert outcome.windows[0].start == START  # the first prediction of the window


def test_windows_below_min_rows_are_measured_not_judged() -> None:
    log = [logged(rows(500, 1), 0), logged(rows(1, 2, age_shift=5.0), 1)]
    outcome = check(log).outcome
    latest = outcome.latest
    assert latest.rows == 1 and latest.drifted_features == [] and not outcome.alert
    assert "only 1 row(s) in this window (monitor.min_rows is 30)" in latest.note
    assert all(f.note == latest.note for f in latest.drift)


def test_no_traffic_is_a_message_not_an_error() -> None:
    outcome = check([]).outcome
    assert outcome.windows == () and not outcome.alert
    assert outcome.message == "no predictions logged yet: serve the model and send traffic first"
    assert outcome.staleness.first_at is None


def test_quality_names_new_categories_out_of_range_values_and_missing() -> None:
    live = rows(1000, 1, jobs=np.array(["admin", "pilot", "astronaut"], dtype=object))
    live.loc[:99, "age"] = 500.0
    live.loc[100:299, "age"] = np.nan
    quality = {i.kind: i for i in check([logged(live, 0)]).outcome.latest.quality}
    assert set(quality) == {"new_category", "out_of_range", "missing"}
    assert quality["new_category"].column == "job"
    assert "'astronaut'" in quality["new_category"].message
    assert "'pilot'" in quality["new_category"].message
    assert quality["out_of_range"].share == pytest.approx(100 / 800, abs=0.005)
    assert quality["missing"].message == "age: 20.0% missing (training: 0.0%)"


def test_operations_per_version_latency_errors_and_throughput() -> None:
    latency = np.random.default_rng(5).lognormal(2, 0.6, 3000)
    first = logged(rows(3000, 1), 0, latency=latency)
    second = logged(rows(600, 2), 0, version=2, latency=np.full(600, 900.0))
    second = second.rename(columns={"version": "model_version"})  # as the server logs it
    second["error"] = [None] * 570 + ["timeout"] * 30
    third = logged(rows(100, 3), 0, version=3).assign(version=3)  # an older log's column
    outcome = check([first, second, third]).outcome
    ops = {o.version: o for o in outcome.latest.operations}
    assert ops.pop(3).rows == 100
    assert set(ops) == {1, 2}
    for q in (50, 95, 99):
        expected = np.percentile(latency, q)
        assert getattr(ops[1], f"p{q}_ms") == pytest.approx(expected, rel=0.03)
    assert ops[2].error_rate == pytest.approx(0.05) and ops[1].error_rate == 0
    assert ops[2].alert and not ops[1].alert  # 900 ms p95 and 5 % errors
    assert ops[1].throughput == pytest.approx(3000 / 2999)
    assert "operations" not in outcome.alerts  # version 2 is not the one monitored
    assert outcome.latest.rows == 3000  # drift reads version 1 only


def test_live_metric_from_feedback_joined_by_prediction_id() -> None:
    days = [logged(rows(400, d), d) for d in range(3)]
    rng = np.random.default_rng(3)
    feedback = {}
    for d, day in enumerate(days):
        good = day["probability"] >= 0.5
        truth = np.where(good, "yes", "no") if d < 2 else rng.choice(["yes", "no"], len(day))
        feedback.update(zip(day["prediction_id"][:300], truth[:300], strict=True))
    scorer = make_scorer("classification", "roc_auc", ["no", "yes"], "yes")
    outcome = check(
        days, feedback=feedback, metric="roc_auc", holdout=0.9, greater_is_better=True,
        scorer=scorer,
    ).outcome  # fmt: skip
    perf = [w.performance for w in outcome.windows]
    assert [p.rows for p in perf] == [300, 300, 300]
    assert perf[0].value == pytest.approx(1.0) and not perf[0].alert
    last = days[2].iloc[:300]
    truth = np.array([feedback[i] for i in last["prediction_id"]]) == "yes"
    assert perf[2].value == pytest.approx(roc_auc_score(truth, last["probability"]))
    assert perf[2].alert and outcome.alerts["performance"] == [perf[2].message]
    assert outcome.staleness.degraded_at == START + 2 * DAY
    assert outcome.staleness.days_to_degrade == pytest.approx(2.0)


def test_too_little_feedback_is_shown_but_not_judged() -> None:
    day = logged(rows(400, 1), 0)
    feedback = dict.fromkeys(day["prediction_id"][:10], "yes")
    scorer = make_scorer("classification", "accuracy", ["no", "yes"], "yes")
    outcome = check([day], feedback=feedback, metric="accuracy", holdout=0.99, scorer=scorer)
    perf = outcome.outcome.latest.performance
    assert perf.rows == 10 and not perf.alert
    assert perf.message == "10 prediction(s) with feedback; 30 needed to judge"


@pytest.mark.parametrize(("live_error", "alert"), [(104.0, False), (106.0, True)])
def test_error_metrics_drop_relative_to_the_hold_out(live_error: float, alert: bool) -> None:
    day = logged(rows(200, 1), 0)
    day["prediction"] = 0.0
    feedback = dict.fromkeys(day["prediction_id"], live_error)  # rmse = live_error
    scorer = make_scorer("regression", "rmse", None, None)
    outcome = check(
        [day], feedback=feedback, metric="rmse", holdout=100.0, greater_is_better=False,
        scorer=scorer,
    ).outcome  # fmt: skip
    perf = outcome.latest.performance
    assert perf.value == pytest.approx(live_error)
    assert perf.alert is alert  # max_drop 0.05: an rmse 5 % above the hold-out's


def test_one_new_category_is_a_finding_that_names_it_not_an_alert() -> None:
    live = rows(506, 1)
    live.loc[17, "job"] = "astronaut"
    outcome = check([logged(live, 0)]).outcome
    (finding,) = [i for i in outcome.latest.quality if i.kind == "new_category"]
    assert "'astronaut'" in finding.message and "1 value(s)" in finding.message
    assert not finding.alert
    assert "drift" not in outcome.alerts and "quality" not in outcome.alerts


def test_a_drift_alert_says_which_levels_moved() -> None:
    live = rows(1000, 1, jobs=np.array(["student"], dtype=object))
    outcome = check([logged(live, 0)]).outcome
    (evidence,) = [e for e in outcome.alerts["drift"] if e.startswith("job")]
    assert "'student' 33% -> 100%" in evidence


def churn_traffic(churn_csv, change) -> object:
    """The last 506 churn rows as one day of traffic against the first 5,000, after
    ``change(rows)``; judged on plan, contract, region and support_calls."""
    frame = pd.read_csv(churn_csv)[["plan", "contract", "region", "support_calls"]]
    signature = Schema(
        (
            ColumnSchema("plan", ColumnKind.CATEGORICAL, "str"),
            ColumnSchema("contract", ColumnKind.CATEGORICAL, "str"),
            ColumnSchema("region", ColumnKind.CATEGORICAL, "str"),
            ColumnSchema("support_calls", ColumnKind.NUMERIC, "int64"),
        )
    )
    live = frame.iloc[5000:5506].reset_index(drop=True)
    change(live)
    reference = frame.iloc[:5000].assign(probability=np.random.default_rng(0).random(5000))
    return check_traffic(
        reference, signature, [logged(live, 0)], spec(), version=1,
        outputs={"probability": "numeric"},
    ).outcome  # fmt: skip


def test_churn_one_odd_row_is_a_named_finding_not_a_drift_alert(churn_csv) -> None:
    outcome = churn_traffic(churn_csv, lambda rows: rows.loc.__setitem__((17, "plan"), "platinum"))
    assert "drift" not in outcome.alerts and "quality" not in outcome.alerts
    (finding,) = outcome.latest.quality
    assert finding.column == "plan" and "'platinum'" in finding.message


def test_churn_a_real_shift_alerts_and_names_the_values(churn_csv) -> None:
    def shift(rows: pd.DataFrame) -> None:
        rows.loc[: len(rows) // 2, "contract"] = "Two year"

    outcome = churn_traffic(churn_csv, shift)
    (evidence,) = outcome.alerts["drift"]
    assert evidence.startswith("contract (chisquare ") and "'Two year' " in evidence
