"""The worker process of ``test_concurrency`` (importable by name, as spawn requires)."""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from typing import Any

from loopml.domain import ColumnKind, ColumnSchema, Metric, RunStatus, Schema
from loopml.storage.metadata import open_metadata_store

PROCESSES = 8
RUNS = 50
METRICS = 20
VERSIONS = 5
SIGNATURE = Schema(columns=(ColumnSchema("x", ColumnKind.NUMERIC, "float64"),))


def work(url: str, worker: int, barrier: Any, results: Any) -> None:
    """One process: wait for the others, open the store, write, report what it wrote."""
    outcome: dict[str, Any] = {"worker": worker, "errors": [], "runs": [], "versions": []}
    try:
        barrier.wait(timeout=60)
        store = open_metadata_store(url)  # the first opens race to create the schema
        project = store.ensure_project("shared")
        outcome["project_id"] = project.project_id
        for i in range(RUNS):
            run = store.create_run(project.project_id, f"w{worker}", params={"i": i})
            values = [Metric(f"m{k}", worker * 1e6 + i * 100 + k, step=k) for k in range(METRICS)]
            store.log_metrics(run.run_id, values)
            store.finish_run(run.run_id, RunStatus.SUCCEEDED)
            outcome["runs"].append(run.run_id)
            if i % (RUNS // VERSIONS) == 0:
                version = store.create_model_version(
                    project.project_id,
                    "shared-model",
                    run_id=run.run_id,
                    artifact_digest="0" * 64,
                    signature=SIGNATURE,
                    metrics={"auc": 0.5},
                    lineage={"worker": worker},
                )
                outcome["versions"].append(version.version)
        store.close()
    except Exception:  # noqa: BLE001 - every error is reported to the test
        outcome["errors"].append(traceback.format_exc())
    results.put(outcome)


def run_workers(url: str) -> list[dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=work, args=(url, worker, barrier, results))
        for worker in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    outcomes: list[dict[str, Any]] = []
    while len(outcomes) < len(procs):
        try:
            outcomes.append(results.get(timeout=1))
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"worker processes died with exit codes {dead}") from None
    for proc in procs:
        proc.join(timeout=30)
    return outcomes
