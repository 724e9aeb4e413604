"""MLflow's side of the tracking benchmark (runs in bench/.venv-mlflow, not in .venv).

    python bench/tracking/bench_mlflow.py --json out.json [--per-call 1000] \
        [--batch 20000] [--runs 1000]

A fresh SQLite tracking store (``sqlite:///`` in a temporary folder; creating it, with
MLflow's migrations, is not timed). Timed: ``--per-call`` values through
``mlflow.log_metric`` one by one, the run's end included; ``--batch`` values through
``MlflowClient.log_batch`` in requests of 1,000 (MLflow's limit per request); and, among
``--runs`` runs with three metrics, three params and a tag each (like trials of a search),
``mlflow.search_runs(filter_string="metrics.m > 0.5")`` (best of 5 repeats, after one
warm-up).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import tempfile
import time
import warnings
from pathlib import Path

BATCH_REQUEST = 1_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", required=True)
    parser.add_argument("--per-call", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=1_000)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")

    import mlflow
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    folder = Path(tempfile.mkdtemp(prefix="bench-mlflow-"))
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    client = MlflowClient()
    experiment_id = mlflow.create_experiment("bench")  # creates the schema: not timed
    mlflow.set_experiment(experiment_id=experiment_id)

    # per call: mlflow.log_metric, one value at a time, the run's end included
    run = mlflow.start_run(run_name="per-call")
    start = time.perf_counter()
    for step in range(args.per_call):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.end_run()
    per_call_s = time.perf_counter() - start
    stored = len(client.get_metric_history(run.info.run_id, "loss"))

    # batch: MlflowClient.log_batch, 1,000 values per request
    run_id = client.create_run(experiment_id, run_name="batch").info.run_id
    now = int(time.time() * 1000)
    values = [Metric("loss", 1.0 / (i + 1), now, i) for i in range(args.batch)]
    start = time.perf_counter()
    for first in range(0, args.batch, BATCH_REQUEST):
        client.log_batch(run_id, metrics=values[first : first + BATCH_REQUEST])
    client.set_terminated(run_id)
    batch_s = time.perf_counter() - start

    # query: runs with three metrics each, find those with m > 0.5
    rng = random.Random(0)
    search_experiment = client.create_experiment("search")
    matching = 0
    setup = time.perf_counter()
    for i in range(args.runs):
        params = [
            Param("lr", str(rng.random())),
            Param("depth", str(rng.randint(2, 10))),
            Param("model", "lightgbm"),
        ]
        tags = {"state": "complete"}
        rid = client.create_run(search_experiment, run_name=f"trial-{i}", tags=tags).info.run_id
        m = rng.random()
        matching += m > 0.5
        metrics = [Metric("m", m, now, 0), Metric("a", rng.random(), now, 0)]
        metrics.append(Metric("b", rng.random(), now, 0))
        client.log_batch(rid, metrics=metrics, params=params)
        client.set_terminated(rid)
    setup_s = time.perf_counter() - setup
    query = "metrics.m > 0.5"
    found = mlflow.search_runs([search_experiment], filter_string=query)  # warm-up
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        found = mlflow.search_runs([search_experiment], filter_string=query)
        timings.append(time.perf_counter() - start)
    client_timings = []
    for _ in range(5):
        start = time.perf_counter()
        found_runs = client.search_runs([search_experiment], filter_string=query, max_results=5000)
        client_timings.append(time.perf_counter() - start)

    result = {
        "tool": f"MLflow {mlflow.__version__}",
        "per_call_values": args.per_call,
        "per_call_s": per_call_s,
        "per_call_stored": stored,
        "batch_values": args.batch,
        "batch_s": batch_s,
        "runs": args.runs,
        "runs_setup_s": setup_s,
        "query": f"mlflow.search_runs(filter_string='{query}')",
        "query_s": min(timings),
        "query_found": len(found),
        "query_expected": matching,
        "client_query_s": min(client_timings),
        "client_query_found": len(found_runs),
    }
    Path(args.json).write_text(json.dumps(result), encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
