"""Benchmark of the search's scale-out: the bank search on the local process pool and on a
Dask LocalCluster, 1 and 2 workers of 1 thread each.

    python bench/scale/run.py [--trials 50] [--rows N] [--configs pool-1,pool-2,dask-1,dask-2]

The same search as ``bench/search/run.py overhead`` (the bank data without
``duration``, HistGradientBoosting over loopml's default space for it, 3-fold stratified
CV, TPE seed 42, median pruning, the default configuration first), tracked into a real
SQLite store in a temporary folder. Each configuration runs in a fresh process started
with OMP_NUM_THREADS (and the BLAS thread variables) at 1:

- ``pool-1``: one worker: the search runs in that process (``LocalExecutor``, 1 thread);
- ``pool-N``: ``ProcessExecutor(N, threads_per_worker=1)``: N spawned processes, each its
  share of the trials, one journal-file study (process start inside the search's time);
- ``dask-N``: ``DaskExecutor("local:N", threads_per_worker=1)``: a LocalCluster of N
  worker processes, each trial one task against one journal-file study. The cluster is
  started (and its workers' first import of loopml warmed by one tiny call) before the
  clock starts; its start is printed apart (``start s``).

It prints each run's wall seconds, trials per minute, ``rest s`` (wall minus the fold
work per worker: what is not model fitting and scoring: process start, imports, Optuna,
tracking, the cluster's scheduling) and states, then the ratios: Dask 1
worker over 2 (goal: at least 1.6x) and Dask 2 workers against the pool's 2 (goal:
within 5 %). With 2 workers the order in which trials end decides what TPE samples and
what is pruned, so runs differ a little in their work: the trial states are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAME_TRIALS = "BENCH_SCALE_TRIALS"  # the first run's trials, for --same-trials
sys.path.insert(0, str(ROOT))
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def _warm(_: int) -> int:
    """A tiny call that imports what a trial needs on a worker."""
    import loopml.train.search  # noqa: F401

    return os.getpid()


def side(config: str, trials: int, rows: int | None, pruning: bool = True) -> dict[str, Any]:
    """One configuration's search, in this process (a fresh one per configuration)."""
    from bench.search.run import (
        FOLDS,
        KIND,
        SEED,
        bank_data,
        make_transform_for,
        tracked_search,
        with_models,
    )

    from loopml.compute import DaskExecutor, LocalExecutor, ProcessExecutor

    engine, workers = config.split("-")[0], int(config.split("-")[1])
    train, _, spec = bank_data(rows)
    search = {"trials": trials, "folds": FOLDS, "workers": workers, "seed": SEED}
    search["pruning"] = pruning
    spec = with_models(spec, candidates=[KIND], search=search)
    make, _ = make_transform_for(train, spec)
    start_s = 0.0
    executor: Any
    if engine == "dask":
        began = time.perf_counter()
        executor = DaskExecutor(f"local:{workers}", threads_per_worker=1)
        executor.map(_warm, list(range(workers)))
        start_s = time.perf_counter() - began
    elif workers == 1:
        executor = LocalExecutor(1)
    else:
        executor = ProcessExecutor(workers, threads_per_worker=1)
    same = os.environ.get(SAME_TRIALS, "")
    if same and Path(same).is_file():
        _enqueue_these(json.loads(Path(same).read_text()))
    result, seconds, work, tracked = tracked_search(train, spec, make, executor, trials)
    if same and not Path(same).is_file():
        tried = [{"algorithm": t["algorithm"], "params": t["params"]} for t in result.trials]
        Path(same).write_text(json.dumps(tried))
    executor.close()
    return {
        "config": config,
        "seconds": seconds,
        "rest": seconds - work / workers,
        "start": start_s,
        "best": result.score,
        "complete": result.trials_completed,
        "pruned": result.trials_pruned,
        "failed": result.trials_failed,
        "tracked": tracked,
    }


def _enqueue_these(configurations: list[dict[str, Any]]) -> None:
    """Make every search of this process try exactly ``configurations`` (the first run's
    trials), in order, instead of TPE's suggestions: the same work on every side."""
    import loopml.train.parallel
    import loopml.train.search

    def enqueue(study: Any, problem: Any, trials: int) -> None:
        for c in configurations[:trials]:
            name = c["algorithm"]
            study.enqueue_trial(
                {"algorithm": name, **{f"{name}.{k}": v for k, v in c["params"].items()}}
            )

    loopml.train.search._enqueue_defaults = enqueue  # type: ignore[assignment]
    loopml.train.parallel._enqueue_defaults = enqueue  # type: ignore[assignment]


def _run_side(
    config: str, trials: int, rows: int | None, pruning: bool, same: str = ""
) -> dict[str, Any]:
    env = dict(os.environ)
    if same:
        env[SAME_TRIALS] = same
    for name in THREAD_VARIABLES:
        env[name] = "1"
    command = [sys.executable, __file__, "side", config, str(trials), str(rows or 0)]
    command.append("prune" if pruning else "all-folds")
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True)  # noqa: S603
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def compare(args: argparse.Namespace) -> None:
    rows = "all" if args.rows is None else args.rows
    print(
        f"{args.trials} trials of hist_gradient_boosting (3-fold CV, TPE seed 42, "
        f"{'median pruning' if args.pruning else 'no pruning'}) on {rows} bank training rows; "
        f"1 thread per worker; {_cores()} cores"
    )
    print(
        f"{'config':<9}{'wall s':>9}{'trials/min':>12}{'rest s':>8}{'start s':>9}{'best AUC':>10}"
        f"{'complete':>10}{'pruned':>8}{'failed':>8}"
    )
    best: dict[str, float] = {}
    folder = tempfile.mkdtemp(prefix="bench-scale-")
    same = str(Path(folder) / "trials.json") if args.same_trials else ""
    for _ in range(args.repeats):
        for config in args.configs.split(","):
            r = _run_side(config, args.trials, args.rows, args.pruning, same)
            ran = r["complete"] + r["pruned"] + r["failed"]
            print(
                f"{config:<9}{r['seconds']:>9.2f}{60 * ran / r['seconds']:>12.1f}{r['rest']:>8.2f}"
                f"{r['start']:>9.2f}{r['best']:>10.4f}{r['complete']:>10}{r['pruned']:>8}"
                f"{r['failed']:>8}",
                flush=True,
            )
            best[config] = min(best.get(config, float("inf")), r["seconds"])
    print()
    if "dask-1" in best and "dask-2" in best:
        speedup = best["dask-1"] / best["dask-2"]
        verdict = "met" if speedup >= 1.6 else "NOT met"
        print(f"Dask 2 workers vs 1: {speedup:.2f}x faster (goal >= 1.6x: {verdict})")
    if "pool-2" in best and "dask-2" in best:
        gap = best["dask-2"] / best["pool-2"] - 1
        verdict = "met" if gap <= 0.05 else "NOT met"
        print(
            f"Dask 2 workers vs the process pool's 2: {100 * gap:+.1f} % (goal <= +5 %: {verdict})"
        )
    if "pool-1" in best and "pool-2" in best:
        print(f"process pool 2 workers vs 1: {best['pool-1'] / best['pool-2']:.2f}x faster")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "side":
        config, trials, rows = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) or None
        print(json.dumps(side(config, trials, rows, sys.argv[5] == "prune")))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--rows", type=int, default=None, help="bank training rows (all)")
    parser.add_argument("--configs", default="pool-1,pool-2,dask-1,dask-2")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each (min taken)")
    parser.add_argument(
        "--no-pruning",
        dest="pruning",
        action="store_false",
        help="every trial runs every fold: the configurations' work differs less",
    )
    parser.add_argument(
        "--same-trials",
        action="store_true",
        help="every configuration after the first tries the first one's trials, in order "
        "(with --no-pruning: the same work on every side)",
    )
    compare(parser.parse_args())


if __name__ == "__main__":
    main()
