"""loopml's side of the tracking benchmark (runs in the project's .venv).

    python bench/tracking/bench_loopml.py --json out.json [--per-call 100000] \
        [--batch 100000] [--runs 1000]

A fresh SQLite store in a temporary folder (``LOOPML_DB``; opening it is not timed).
Timed: ``--per-call`` values through the plain module-level ``loopml.log_metric``, from
the first call to the end of the run, so the final flush is included, then counted in
the store through a second connection (every value durable once the run ended);
``--batch`` values through ``store.log_metrics`` in calls of 1,000 (one transaction
each, like MLflow's ``log_batch``); and, among ``--runs`` runs with three metrics, three
params and a tag each (like trials of a search), the store's ``search_runs`` with
``m > 0.5`` (the runs, with their params and tags) and the search behind
`loopml runs --where "m > 0.5"`, which also reads the latest values of the three
metrics, as MLflow's DataFrame holds them (best of 5 repeats each, after one warm-up).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BATCH_CALL = 1_000


def best_of(repeats: int, query: Callable[[], int]) -> tuple[int, list[float]]:
    """Run ``query`` once to warm up, then ``repeats`` times; its result and the timings."""
    found = query()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        found = query()
        timings.append(time.perf_counter() - start)
    return found, timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", required=True)
    parser.add_argument("--per-call", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1_000)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-loopml-"))
    url = f"sqlite:///{folder / 'loopml.db'}"
    os.environ["LOOPML_DB"] = url

    import loopml
    from loopml.domain import Metric, RunStatus
    from loopml.storage.metadata import open_metadata_store
    from loopml.storage.metadata.protocols import Condition
    from loopml.tracking.query import search_runs

    # per call: loopml.log_metric, one value at a time, the run's end (final flush) included
    run = loopml.start_run("per-call", project="bench")  # opens the store: not timed
    start = time.perf_counter()
    for step in range(args.per_call):
        loopml.log_metric("loss", 1.0 / (step + 1), step=step)
    loopml.end_run()
    per_call_s = time.perf_counter() - start
    store = open_metadata_store(url)  # a second connection: what is durable
    stored = len(store.get_metrics(run.run_id, "loss"))

    # batch: store.log_metrics, 1,000 values per call (one transaction each)
    project = store.ensure_project("bench")
    run_id = store.create_run(project.project_id, "batch").run_id
    values = [Metric("loss", 1.0 / (i + 1), i) for i in range(args.batch)]
    start = time.perf_counter()
    for first in range(0, args.batch, BATCH_CALL):
        store.log_metrics(run_id, values[first : first + BATCH_CALL])
    store.finish_run(run_id, RunStatus.SUCCEEDED)
    batch_s = time.perf_counter() - start

    # query: runs with three metrics each, find those with m > 0.5
    rng = random.Random(0)
    searched = store.ensure_project("search")
    matching = 0
    setup = time.perf_counter()
    for i in range(args.runs):
        params = {"lr": rng.random(), "depth": rng.randint(2, 10), "model": "lightgbm"}
        tags = {"state": "complete"}
        rid = store.create_run(searched.project_id, f"trial-{i}", params=params, tags=tags).run_id
        m = rng.random()
        matching += m > 0.5
        metrics = [Metric("m", m), Metric("a", rng.random()), Metric("b", rng.random())]
        store.log_metrics(rid, metrics)
        store.finish_run(rid, RunStatus.SUCCEEDED)
    setup_s = time.perf_counter() - setup

    def query() -> int:
        where = [Condition("m", ">", 0.5)]
        return len(store.search_runs(searched.project_id, where=where, limit=100_000))

    def query_with_metrics() -> int:
        table = search_runs(
            store, searched.project_id, ["m > 0.5"], metrics=["a", "b"], limit=100_000
        )
        return len(table.runs)

    found, timings = best_of(5, query)
    found_with_metrics, metric_timings = best_of(5, query_with_metrics)
    assert found == found_with_metrics
    store.close()

    result = {
        "tool": f"loopml {loopml.__version__}",
        "per_call_values": args.per_call,
        "per_call_s": per_call_s,
        "per_call_stored": stored,
        "batch_values": args.batch,
        "batch_s": batch_s,
        "runs": args.runs,
        "runs_setup_s": setup_s,
        "query": "store.search_runs(where=[Condition('m', '>', 0.5)])",
        "query_s": min(timings),
        "query_with_metrics": "tracking search_runs(['m > 0.5'], metrics=['a', 'b'])",
        "query_with_metrics_s": min(metric_timings),
        "query_found": found,
        "query_expected": matching,
    }
    Path(args.json).write_text(json.dumps(result), encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
