"""Build a loopml store of runs for the ui benchmark (runs in the project's .venv).

    python bench/ui/build_loopml.py --url sqlite:///path/loopml.db --runs 10000 \
        [--project bench] [--seed 0]

Every run has the same shape as MLflow's side (``data.py``): 20 params and 50 metrics,
five of them logged over 10 steps. Written through the store's own ``create_run`` and
``log_metrics`` (one transaction each), as the tracking API writes them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from data import make_runs  # noqa: E402

from loopml.domain import Metric, RunStatus  # noqa: E402
from loopml.storage.metadata import open_metadata_store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--project", default="bench")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    store = open_metadata_store(args.url)
    project = store.ensure_project(args.project)
    start = time.perf_counter()
    for run in make_runs(args.runs, args.seed):
        created = store.create_run(
            project.project_id,
            run.name,
            params=run.params,
            tags=run.tags,
            status=RunStatus.SUCCEEDED,
        )
        metrics = [Metric(key, value, step) for key, value, step in run.metrics]
        store.log_metrics(created.run_id, metrics)
    store.close()
    print(f"loopml: {args.runs} runs in {time.perf_counter() - start:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
