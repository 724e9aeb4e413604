"""Benchmark of the search: loopml's overhead over bare Optuna + scikit-learn, and the
full 50-trial searches on the bank and bike data.

    python bench/search/run.py overhead [--trials 50] [--configs 1x2,2x1] [--rows N]
    python bench/search/run.py full [--trials 50] [--workers 2]

``overhead`` runs the same trials twice for each configuration WORKERSxTHREADS, each side
in a fresh process started with OMP_NUM_THREADS (and the other thread variables) pinned
to THREADS: (a) loopml's ``run_search``, tracking every trial into a real SQLite store in
a temporary folder; (b) a bare script: an Optuna study (same sampler seed, pruner, first
trial, search space, folds) whose objective fits the same transform and
HistGradientBoosting per fold with scikit-learn and scores ROC AUC. With 1 worker both
sides sample and prune identically, and the script checks that every trial's score is
the same; with several workers the order in which trials finish varies, so the configs
sampled differ a little. It prints seconds, the overhead (a - b) / b and its cost per
trial.

``full`` runs the real search (all five algorithms, ``--trials`` trials, ``--workers``
processes x 1 thread) on the bank data without ``duration`` (stratified 80/20 hold-out,
stratified 3-fold CV) and on the bike data (train 2011, test 2012, time-series CV), and
prints the search's seconds, the best CV score against the linear baseline's (the
default linear configuration, the search's trial 0, on the same folds), and both models'
scores on the hold-out.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from importlib import resources
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
# The fixed space of the overhead benchmark: HistGradientBoosting's default space in loopml.
KIND = "hist_gradient_boosting"
SEED = 42
FOLDS = 3


# --- data --------------------------------------------------------------------------------


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _resource(name: str) -> Path:
    return Path(str(resources.files("loopml.resources") / name))


def bank_data(rows: int | None = None) -> tuple[Any, Any, Any]:
    """The bank data without ``duration``: (train, test, spec), cut as the lifecycle cuts."""
    from loopml.data.infer import infer_spec
    from loopml.data.ingest import clean_column_names, read_source
    from loopml.data.split import split_frame
    from loopml.spec import ProjectSpec

    frame = clean_column_names(read_source(_resource("bank_marketing.csv")))[0]
    spec = infer_spec(frame, target="subscribed", source_path="bank.csv", column_map={}, name="b")
    data = spec.model_dump()
    data["features"]["exclude"] = [*data["features"]["exclude"], "duration"]
    spec = ProjectSpec.model_validate(data)
    train, test = split_frame(frame, spec.split, spec.problem.target, spec.problem.task)
    if rows is not None:
        train = train.head(rows)
    return train.reset_index(drop=True), test.reset_index(drop=True), spec


def bike_data() -> tuple[Any, Any, Any]:
    """The bike data: train 2011, test 2012 (in time order), and its inferred spec
    (regression of cnt, rmse, split by time on dteday; ids and leaks excluded)."""
    from loopml.data.infer import infer_spec
    from loopml.data.ingest import clean_column_names, read_source
    from loopml.data.schema import to_datetime

    frame = clean_column_names(read_source(_resource("bike_sharing_hourly.csv")))[0]
    spec = infer_spec(frame, target="cnt", source_path="bike.csv", column_map={}, name="k")
    year = to_datetime(frame["dteday"]).dt.year
    train = frame[year == 2011].reset_index(drop=True)
    test = frame[year == 2012].reset_index(drop=True)
    return train, test, spec


def make_transform_for(train: Any, spec: Any) -> Any:
    from loopml.domain import Schema
    from loopml.features.compile import compile_transform
    from loopml.train.train import infer_signature

    signature = infer_signature(train, spec)
    signature = Schema(tuple(signature.column(c) for c in spec.feature_columns))
    make = functools.partial(
        compile_transform, signature, spec.features, spec.problem.task, random_state=42
    )
    return make, signature


def with_models(spec: Any, **models: Any) -> Any:
    from loopml.spec.models import ModelsSpec

    return spec.model_copy(update={"models": ModelsSpec.model_validate(models)})


def tracked_search(
    train: Any, spec: Any, make: Any, executor: Any, trials: int
) -> tuple[Any, float, float, int]:
    """``run_search`` on ``executor``, every trial tracked in a fresh SQLite store:
    ``(result, wall seconds, seconds spent fitting and scoring folds, trial runs)``."""
    from loopml.storage.metadata import open_metadata_store
    from loopml.train.search import run_search

    with tempfile.TemporaryDirectory(prefix="bench-search-") as folder:
        url = f"sqlite:///{folder}/loopml.db"
        store = open_metadata_store(url)
        project_id = store.ensure_project("bench").project_id
        parent = store.create_run(project_id, "train").run_id
        started = time.perf_counter()
        result = run_search(
            train,
            spec,
            make_transform=make,
            store=store,
            project_id=project_id,
            parent_run_id=parent,
            snapshot_id="bench",
            executor=executor,
            store_url=url,
        )
        seconds = time.perf_counter() - started
        runs = store.list_runs(project_id, name="trial", limit=10 * trials)
        work = sum(
            m.value
            for run in runs
            for m in store.get_metrics(run.run_id)
            if m.key in ("fit_seconds", "score_seconds")
        )
        store.close()
    return result, seconds, work, len(runs)


# --- overhead: one side ------------------------------------------------------------------


def side_loopml(workers: int, threads: int, trials: int, rows: int | None) -> dict[str, Any]:
    from loopml.compute import LocalExecutor, ProcessExecutor

    train, _, spec = bank_data(rows)
    spec = with_models(
        spec,
        candidates=[KIND],
        search={"trials": trials, "folds": FOLDS, "workers": workers, "seed": SEED},
    )
    make, _ = make_transform_for(train, spec)
    executor: Any = (
        LocalExecutor(threads)
        if workers == 1
        else ProcessExecutor(workers, threads_per_worker=threads)
    )
    result, seconds, work, tracked = tracked_search(train, spec, make, executor, trials)
    return {
        "seconds": seconds,
        "work": work,
        "best": result.score,
        "trials": [(row["trial"], row["state"], row["value"]) for row in result.trials],
        "tracked_runs": tracked,
    }


def _bare_space() -> dict[str, Any]:
    from loopml.spec.models import ModelsSpec
    from loopml.train.zoo import search_space

    return search_space(KIND, "classification", ModelsSpec())


def _bare_defaults() -> dict[str, Any]:
    from loopml.spec.models import ModelsSpec
    from loopml.train.zoo import default_params

    return default_params(KIND, "classification", ModelsSpec())


class BareObjective:
    """Plain Optuna + scikit-learn: the same folds, transform, estimator and score."""

    def __init__(self, X: Any, y: Any, folds: list[Any], make: Any) -> None:
        self.X, self.y, self.folds, self.make = X, y, folds, make
        self.space = _bare_space()
        self.work = 0.0  # seconds spent fitting and scoring folds

    def __call__(self, trial: Any) -> float:
        import numpy as np
        import optuna
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.metrics import roc_auc_score

        params: dict[str, Any] = {}
        for name, s in self.space.items():
            if s.kind == "int":
                params[name] = trial.suggest_int(name, s.low, s.high, log=s.log)
            else:
                params[name] = trial.suggest_float(name, s.low, s.high, log=s.log)
        scores = []
        for k, (train, valid) in enumerate(self.folds):
            started = time.perf_counter()
            transform = self.make()
            X_fit = transform.fit_transform(self.X.iloc[train], self.y[train])
            model = HistGradientBoostingClassifier(
                max_iter=500,
                early_stopping=True,
                validation_fraction=0.1,
                n_iter_no_change=15,
                class_weight="balanced",
                random_state=42,
                **params,
            ).fit(X_fit, self.y[train])
            proba = model.predict_proba(transform.transform(self.X.iloc[valid]))[:, 1]
            scores.append(roc_auc_score(self.y[valid] == 1, proba))
            self.work += time.perf_counter() - started
            mean = float(np.mean(scores))
            trial.report(mean, k)
            if k < len(self.folds) - 1 and trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.mean(scores))


def _bare_study(storage: Any = None, name: str | None = None, seed: int = SEED) -> Any:
    import optuna

    return optuna.create_study(
        storage=storage,
        study_name=name,
        load_if_exists=name is not None,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0),
    )


def _bare_problem(rows: int | None) -> tuple[Any, Any, list[Any], Any]:
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    train, _, spec = bank_data(rows)
    make, _ = make_transform_for(train, spec)
    X = train[spec.feature_columns]
    y = train["subscribed"].to_numpy()
    splitter = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    folds = list(splitter.split(np.arange(len(y)), y.astype(str)))
    return X, y, folds, make


def _bare_worker(task: tuple[str, str, int, int, int | None, int]) -> float:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from threadpoolctl import threadpool_limits

    journal, name, worker, n_trials, rows, threads = task
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    X, y, folds, make = _bare_problem(rows)
    storage = JournalStorage(JournalFileBackend(journal))
    study = optuna.load_study(
        study_name=name,
        storage=storage,
        sampler=optuna.samplers.TPESampler(seed=SEED + worker + 1),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0),
    )
    objective = BareObjective(X, y, folds, make)
    with threadpool_limits(limits=threads):
        study.optimize(objective, n_trials=n_trials, catch=(Exception,))
    return objective.work


def _limit(threads: int) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)


def side_bare(workers: int, threads: int, trials: int, rows: int | None) -> dict[str, Any]:
    import optuna
    from threadpoolctl import threadpool_limits

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    defaults = _bare_defaults()
    started = time.perf_counter()
    if workers == 1:
        X, y, folds, make = _bare_problem(rows)
        started = time.perf_counter()  # the same start as loopml's: data ready
        study = _bare_study()
        study.enqueue_trial(defaults)
        objective = BareObjective(X, y, folds, make)
        with threadpool_limits(limits=threads):
            study.optimize(objective, n_trials=trials, catch=(Exception,))
        work = objective.work
    else:
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        with tempfile.TemporaryDirectory(prefix="bench-bare-") as folder:
            journal = str(Path(folder) / "study.journal")
            storage = JournalStorage(JournalFileBackend(journal))
            study = _bare_study(storage, "bare")
            study.enqueue_trial(defaults)
            shares = [trials // workers + (i < trials % workers) for i in range(workers)]
            tasks = [(journal, "bare", i, shares[i], rows, threads) for i in range(workers)]
            with ProcessPoolExecutor(
                workers, mp_context=get_context("spawn"), initializer=_limit, initargs=(threads,)
            ) as pool:
                work = sum(pool.map(_bare_worker, tasks))
            study = optuna.load_study(study_name="bare", storage=storage)
            seconds = time.perf_counter() - started
            done = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
            best = study.best_value
    if workers == 1:
        seconds = time.perf_counter() - started
        done = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
        best = study.best_value
    states = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}
    return {
        "seconds": seconds,
        "work": work,
        "best": best,
        "trials": [(t.number, states.get(t.state.name, t.state.name), t.value) for t in done],
    }


# --- overhead: the comparison ------------------------------------------------------------


def _run_side(engine: str, workers: int, threads: int, trials: int, rows: int | None) -> Any:
    env = dict(os.environ)
    for name in THREAD_VARIABLES:
        env[name] = str(threads)
    command = [sys.executable, __file__, "side", engine, str(workers), str(threads), str(trials)]
    if rows is not None:
        command.append(str(rows))
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True)  # noqa: S603 - our own script
    return json.loads(out.stdout.strip().splitlines()[-1])


def overhead(args: argparse.Namespace) -> None:
    print(
        f"same {args.trials} trials of {KIND} ({FOLDS}-fold CV, TPE seed {SEED}, median pruning) "
        f"on {'all' if args.rows is None else args.rows} bank training rows; "
        f"{available_cores()} cores"
    )
    print(
        f"{'config':<8}{'side':<8}{'wall s':>9}{'folds s':>9}{'rest s':>8}{'best AUC':>10}"
        f"{'complete':>10}{'pruned':>8}{'failed':>8}"
    )
    summary = []
    for config in args.configs.split(","):
        workers, threads = (int(x) for x in config.lower().split("x"))
        runs: dict[str, list[dict[str, Any]]] = {"loopml": [], "bare": []}
        for _ in range(args.repeats):  # alternate the sides so that drift hits both
            for engine in ("bare", "loopml"):
                result = _run_side(engine, workers, threads, args.trials, args.rows)
                # the time not spent fitting and scoring folds (per worker): the machinery
                result["rest"] = result["seconds"] - result["work"] / workers
                runs[engine].append(result)
                states = [state for _, state, _ in result["trials"]]
                print(
                    f"{config:<8}{engine:<8}{result['seconds']:>9.2f}{result['work']:>9.2f}"
                    f"{result['rest']:>8.2f}{result['best']:>10.4f}"
                    f"{states.count('complete'):>10}{states.count('pruned'):>8}"
                    f"{states.count('failed'):>8}",
                    flush=True,
                )
        summary.append((config, workers, runs))
    print()
    for config, workers, runs in summary:
        a = min(r["seconds"] for r in runs["loopml"])
        b = min(r["seconds"] for r in runs["bare"])
        rest_a = min(r["rest"] for r in runs["loopml"])
        rest_b = min(r["rest"] for r in runs["bare"])
        same = all(r["trials"] == runs["bare"][0]["trials"] for r in runs["loopml"])
        tracked = runs["loopml"][0]["tracked_runs"]
        print(
            f"{config}: wall loopml {a:.2f} s, bare {b:.2f} s: {100 * (a - b) / b:+.2f} % "
            f"(fold times vary with the machine's load); outside the folds loopml "
            f"{rest_a:.2f} s, bare {rest_b:.2f} s: overhead {100 * (rest_a - rest_b) / b:+.2f} % "
            f"of the search, {1000 * (rest_a - rest_b) * workers / args.trials:+.1f} ms per "
            f"trial; identical trials: {'yes' if same else 'no (parallel order)'}; "
            f"{tracked} trial runs tracked"
        )


# --- full searches ---------------------------------------------------------------------


def full(args: argparse.Namespace) -> None:
    from loopml.compute import ProcessExecutor
    from loopml.evaluate.metrics import compute_metrics
    from loopml.storage.metadata import open_metadata_store
    from loopml.train.search import fit_default, fit_final, run_search

    print(
        f"{args.trials}-trial search over all five algorithms, {args.workers} worker processes "
        f"x 1 thread, {available_cores()} cores",
        flush=True,
    )
    for name, loader in (("bank", bank_data), ("bike", bike_data)):
        began = time.perf_counter()
        train, test, spec = loader()
        spec = with_models(spec, search={"trials": args.trials, "workers": args.workers})
        metric = spec.problem.primary_metric
        make, signature = make_transform_for(train, spec)
        with tempfile.TemporaryDirectory(prefix="bench-full-") as folder:
            url = f"sqlite:///{folder}/loopml.db"
            store = open_metadata_store(url)
            project_id = store.ensure_project(name).project_id
            parent = store.create_run(project_id, "train").run_id
            started = time.perf_counter()
            result = run_search(
                train,
                spec,
                make_transform=make,
                store=store,
                project_id=project_id,
                parent_run_id=parent,
                snapshot_id=name,
                executor=ProcessExecutor(args.workers, threads_per_worker=1),
                store_url=url,
                progress=lambda message, fraction: print(f"  {message}", file=sys.stderr),
            )
            seconds = time.perf_counter() - started
            store.close()
        baseline = next(r for r in result.trials if r["algorithm"] == "linear")
        refit = time.perf_counter()
        best = fit_final(train, spec, result, make, signature, n_threads=1)
        linear = fit_default("linear", train, spec, make, signature, n_threads=1)
        refit = time.perf_counter() - refit
        best_test = compute_metrics(best, test)[metric]
        linear_test = compute_metrics(linear, test)[metric]
        by_kind: dict[str, int] = {}
        for row in result.trials:
            by_kind[row["algorithm"]] = by_kind.get(row["algorithm"], 0) + 1
        print(
            f"{name}: {len(train)} train rows, {len(test)} test rows; search {seconds:.1f} s "
            f"({'under' if seconds < 300 else 'OVER'} 300 s); trials {result.trials_completed} "
            f"complete, {result.trials_pruned} pruned, {result.trials_failed} failed; "
            f"per algorithm {by_kind}"
        )
        print(
            f"  CV {metric}: best {result.score:.4f} ({result.algorithm}) vs linear baseline "
            f"{baseline['value']:.4f} (trial {baseline['trial']}, defaults)"
        )
        print(
            f"  hold-out {metric}: best {best_test:.4f} vs linear {linear_test:.4f}; "
            f"best params {result.params}"
        )
        print(
            f"  refits of the best and the linear model {refit:.1f} s; all of {name} "
            f"{time.perf_counter() - began:.1f} s",
            flush=True,
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "side":
        engine, workers, threads, trials = sys.argv[2], *map(int, sys.argv[3:6])
        rows = int(sys.argv[6]) if len(sys.argv) > 6 else None
        side = side_loopml if engine == "loopml" else side_bare
        print(json.dumps(side(workers, threads, trials, rows)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    over = sub.add_parser("overhead", help="loopml's search against bare Optuna + sklearn")
    over.add_argument("--trials", type=int, default=50)
    over.add_argument("--configs", default="1x2,2x1", help="WORKERSxTHREADS, comma-separated")
    over.add_argument("--rows", type=int, default=None, help="bank training rows (all)")
    over.add_argument("--repeats", type=int, default=1, help="runs of each side (min taken)")
    whole = sub.add_parser("full", help="50-trial searches on the bank and bike data")
    whole.add_argument("--trials", type=int, default=50)
    whole.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    overhead(args) if args.mode == "overhead" else full(args)


if __name__ == "__main__":
    main()
