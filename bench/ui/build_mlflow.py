"""Build an MLflow tracking store of runs for the ui benchmark (runs in bench/.venv-mlflow).

    python bench/ui/build_mlflow.py --url sqlite:///path/mlflow.db --runs 10000 [--seed 0]

The same runs as loopml's side (``data.py``): 20 params, 50 metrics (five over 10
steps) and a tag each, in the experiment ``bench``; each run written with one
``MlflowClient.log_batch``, as a tracking client writes a finished trial.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from data import make_runs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")

    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=args.url)
    experiment_id = client.create_experiment("bench")
    start = time.perf_counter()
    now = int(time.time() * 1000)
    for i, run in enumerate(make_runs(args.runs, args.seed)):
        created = client.create_run(experiment_id, run_name=run.name)
        client.log_batch(
            created.info.run_id,
            metrics=[Metric(key, value, now, step) for key, value, step in run.metrics],
            params=[Param(key, str(value)) for key, value in run.params.items()],
            tags=[RunTag(key, value) for key, value in run.tags.items()],
        )
        client.set_terminated(created.info.run_id)
        if (i + 1) % 1000 == 0:
            print(f"MLflow: {i + 1} runs, {time.perf_counter() - start:.0f} s", file=sys.stderr)
    print(f"MLflow: {args.runs} runs in {time.perf_counter() - start:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
