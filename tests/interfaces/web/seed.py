"""Many runs written straight into the store's tables (SQLAlchemy Core executemany), so
a browser test can search 10,000 runs without logging them one by one."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from loopml.storage.metadata import tables as t

METRICS = ("roc_auc", "f1", "accuracy", "log_loss", "trial")
START = datetime(2026, 1, 1, tzinfo=UTC)


def seed_runs(store: Any, project_id: str, count: int = 10_000) -> list[str]:
    """Write ``count`` finished runs named ``sweep``, each with params ``trial`` and
    ``lr`` and one value of each metric in ``METRICS`` (also their latest values, as
    ``log_metrics`` keeps them); the metric ``trial`` is the run's index (unique: ``trial ==
    1234`` finds one run). Returns the run ids in order."""
    run_ids = [uuid.uuid4().hex for _ in range(count)]
    runs = [_run(run_id, project_id, i) for i, run_id in enumerate(run_ids)]
    metrics = [m for i, run_id in enumerate(run_ids) for m in _metrics(run_id, i)]

    def insert(conn: sa.Connection) -> None:
        conn.execute(sa.insert(t.runs), runs)
        conn.execute(sa.insert(t.metrics), metrics)
        conn.execute(sa.insert(t.latest_metrics), [_latest(m) for m in metrics])  # one step

    store._db.write(insert)  # noqa: SLF001 - a test seeding the store's own tables
    return run_ids


def _run(run_id: str, project_id: str, i: int) -> dict[str, Any]:
    started = START + timedelta(seconds=i)
    return {
        "run_id": run_id,
        "project_id": project_id,
        "name": "sweep",
        "status": "succeeded",
        "started_at": started,
        "ended_at": started + timedelta(seconds=1),
        "params": json.dumps({"trial": i, "lr": round(0.001 * (1 + i % 100), 3)}),
        "outputs": "{}",
        "error": None,
        "code_version": "",
        "parent_run_id": None,
        "cache_key": None,
        "pid": None,
        "host": None,
    }


def _latest(metric: dict[str, Any]) -> dict[str, Any]:
    return {k: metric[k] for k in ("run_id", "key", "value", "step")}


def _metrics(run_id: str, i: int) -> list[dict[str, Any]]:
    values = {
        "roc_auc": 0.5 + (i % 4999) / 10_000,
        "f1": 0.3 + (i % 700) / 1000,
        "accuracy": 0.6 + (i % 300) / 1000,
        "log_loss": 0.2 + (i % 900) / 1000,
        "trial": float(i),
    }
    at = START + timedelta(seconds=i)
    return [
        {"run_id": run_id, "key": k, "value": values[k], "step": 0, "timestamp": at}
        for k in METRICS
    ]
