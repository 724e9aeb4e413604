"""Search quality at equal wall time: loopml's search against FLAML on bank, bike and telco.

    python bench/search/flaml_compare.py --flaml-python bench/.venv-flaml/bin/python
        [--budget 60] [--cores 1] [--data bank,bike,telco] [--no-cleaned]

(``bash bench/search/run.sh flaml`` builds FLAML's virtualenv and runs this.)

For each data set the lifecycle's own data steps run once here, as ``loopml run`` would
run them after ``loopml init DATA --target T --exclude ...``: read, clean column names,
infer the spec, ``clean_frame``, ``split_frame`` and ``sample_holdout``. The training rows
the search sees and the hold-out test rows are written to Parquet twice: as cleaned (what
loopml's search gets) and as they are in the source file (what FLAML gets: the same rows,
the same feature columns under their own names, the values as read from the CSV). Then,
each in a fresh process with ``OMP_NUM_THREADS`` (and the BLAS thread variables) pinned to
``--cores``:

- **loopml**: ``run_search`` over the inferred spec's candidates and cross-validation,
  ``search.timeout_s = --budget`` (no trial limit that could stop it first), ``--cores``
  worker(s) of one thread, then ``fit_final`` of the champion on all training rows;
- **FLAML**: ``AutoML.fit(X, y, task, metric, time_budget=--budget, n_jobs=--cores)``
  with FLAML's defaults for everything else (its estimators, its own hold-out or CV, its
  retraining of the champion on all rows); for a data set whose cleaning changed column
  types (telco) also on the cleaned columns, unless ``--no-cleaned``.

Both sides write the hold-out's scores (positive-class probabilities or predictions) to
JSON; this process scores both with loopml's array scorers (``binary_metrics``,
``regression_metrics``) against the same truth and prints the table: data set, metric,
loopml, FLAML, the difference with its 95 % paired bootstrap interval (both sides scored
on the same resamples of the test rows), wall seconds of each side, and whether loopml is
at least as good. Files and results go to ``bench/.cache/search-flaml/``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "bench" / ".cache" / "search-flaml"
FLAML_SIDE = Path(__file__).resolve().parent / "flaml_side.py"
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
MAX_TRIALS = 100_000  # the time budget, not the trial count, ends loopml's search
BOOTSTRAP_SAMPLES = 1000  # resamples of the test rows for the difference's interval
CONFIDENCE = 0.95
PROGRESS_EVERY_S = 10.0


@dataclass(frozen=True)
class Dataset:
    """A bundled data set as ``loopml init FILE --target TARGET --exclude ...`` sets it up."""

    name: str
    file: str
    target: str
    exclude: tuple[str, ...]


DATASETS = {
    "bank": Dataset("bank", "bank_marketing.csv", "subscribed ", ("duration",)),
    "bike": Dataset("bike", "bike_sharing_hourly.csv", "cnt", ("casual", "registered", "x")),
    "telco": Dataset("telco", "telco_churn.csv", "churned", ("Customer ID",)),
}


# --- data: the lifecycle's steps, written for both sides -------------------------------


def prepare(data: Dataset, folder: Path) -> dict[str, Any]:
    """Cut ``data`` as the lifecycle does and write, under ``folder``, the search's
    training rows and the test rows cleaned (``*_clean.parquet``) and as read from the
    source (``*_raw.parquet``, feature columns and target under their source names), and
    ``meta.json`` (the spec, names, positive class). Returns the meta."""
    from loopml.data.clean import clean_frame
    from loopml.data.infer import infer_spec
    from loopml.data.ingest import clean_column_names, read_source
    from loopml.data.split import sample_holdout, split_frame

    path = Path(str(resources.files("loopml.resources") / data.file))
    raw = read_source(path)
    frame, column_map = clean_column_names(raw)
    spec = infer_spec(
        frame,
        target=data.target,
        source_path=data.file,
        column_map=column_map,
        name=data.name,
        exclude=data.exclude,
    )
    problem, split = spec.problem, spec.split
    protect = [*spec.data.key, *[c for c in (split.time_column, split.group_column) if c]]
    cleaned, log = clean_frame(
        frame, spec.data.cleaning, target=problem.target, schema=None, protect=protect
    )
    if log.rows_out != log.rows_in:  # the raw rows are found by position below
        raise SystemExit(
            f"{data.file}: cleaning dropped {log.rows_in - log.rows_out} rows; the raw rows "
            "of the split can no longer be found by position"
        )
    labelled = cleaned[cleaned[problem.target].notna()]
    train, test = split_frame(labelled, split, problem.target, problem.task)
    train, sample = sample_holdout(train, split, problem.target, problem.task)
    source_name = {clean: original for original, clean in column_map.items()}
    features = list(spec.feature_columns)
    raw_columns = [source_name[c] for c in [*features, problem.target]]
    folder.mkdir(parents=True, exist_ok=True)
    for part, rows in (("train", train), ("test", test)):
        source_rows = raw.loc[rows.index, raw_columns]
        same = source_rows[raw_columns[-1]].astype(str).equals(rows[problem.target].astype(str))
        if not same:  # the target is never cleaned: the same rows hold the same labels
            raise SystemExit(f"{data.file}: the raw {part} rows are not the cleaned ones")
        rows.reset_index(drop=True).to_parquet(folder / f"{part}_clean.parquet")
        source_rows.reset_index(drop=True).to_parquet(folder / f"{part}_raw.parquet")
    changed = [c for c in features if str(cleaned[c].dtype) != str(raw[source_name[c]].dtype)]
    meta = {
        "name": data.name,
        "file": data.file,
        "spec": spec.model_dump(mode="json"),
        "task": problem.task,
        "metric": problem.primary_metric,
        "positive_class": problem.positive_class,
        "features": features,
        "target": problem.target,
        "raw_features": [source_name[c] for c in features],
        "raw_target": source_name[problem.target],
        "retyped": changed,
        "rows": {"train": len(train), "test": len(test), "sample": len(sample)},
        "split": split.method,
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta


# --- the loopml side (a fresh process) ---------------------------------------------------


def side_loopml(folder: Path, budget: float, cores: int, out: Path) -> None:
    """Search and refit on ``folder``'s cleaned training rows, score the test rows and
    write ``out``: seconds (search + refit), the champion and the hold-out scores."""
    import functools

    import pandas as pd

    from loopml.compute import LocalExecutor, ProcessExecutor
    from loopml.data.split import cv_splitter
    from loopml.features.compile import compile_transform
    from loopml.spec import ProjectSpec
    from loopml.spec.models import ModelsSpec
    from loopml.storage.metadata import open_metadata_store
    from loopml.train.search import fit_final, run_search
    from loopml.train.train import infer_signature

    meta = json.loads((folder / "meta.json").read_text())
    spec = ProjectSpec.model_validate(meta["spec"])
    search = spec.models.search.model_copy(
        update={"trials": MAX_TRIALS, "timeout_s": float(budget), "workers": cores}
    )
    models = ModelsSpec.model_validate({**spec.models.model_dump(), "search": search})
    spec = spec.model_copy(update={"models": models})
    train = pd.read_parquet(folder / "train_clean.parquet")
    test = pd.read_parquet(folder / "test_clean.parquet")
    task, target = spec.problem.task, spec.problem.target
    signature = infer_signature(train, spec)
    make = functools.partial(
        compile_transform, signature, spec.features, task, random_state=spec.models.random_state
    )
    folds = cv_splitter(spec.split, task, search.folds, train, target)
    with tempfile.TemporaryDirectory(prefix="bench-flaml-") as tmp:
        url = f"sqlite:///{tmp}/loopml.db"
        store = open_metadata_store(url)
        project_id = store.ensure_project(meta["name"]).project_id
        parent = store.create_run(project_id, "train").run_id
        executor: Any = (
            LocalExecutor(1) if cores == 1 else ProcessExecutor(cores, threads_per_worker=1)
        )
        started = time.perf_counter()
        result = run_search(
            train,
            spec,
            make_transform=make,
            store=store,
            project_id=project_id,
            parent_run_id=parent,
            snapshot_id=meta["name"],
            cv_splits=folds,
            executor=executor,
            store_url=url,
            progress=_throttled(f"loopml {meta['name']}"),
        )
        searched = time.perf_counter() - started
        best = fit_final(train, spec, result, make, signature, n_threads=1)
        seconds = time.perf_counter() - started
        store.close()
    prediction = best.predict(test)
    scores = prediction.predictions if task == "regression" else prediction.probabilities
    by_kind: dict[str, int] = {}
    seconds_by_kind: dict[str, float] = {}
    for row in result.trials:
        kind = row["algorithm"]
        by_kind[kind] = by_kind.get(kind, 0) + 1
        seconds_by_kind[kind] = seconds_by_kind.get(kind, 0.0) + float(row["seconds"] or 0.0)
    report = {
        "seconds": seconds,
        "search_seconds": searched,
        "champion": result.algorithm,
        "cv_score": result.score,
        "trials": {
            "complete": result.trials_completed,
            "pruned": result.trials_pruned,
            "failed": result.trials_failed,
            "per_algorithm": by_kind,
            "seconds_per_algorithm": {k: round(v, 1) for k, v in seconds_by_kind.items()},
        },
        "evaluation": f"{search.folds}-fold CV ({spec.split.method})",
        "scores": [float(s) for s in scores],
    }
    out.write_text(json.dumps(report))


def _throttled(label: str) -> Any:
    """A progress callback printing to stderr at most every ``PROGRESS_EVERY_S``."""
    last = [0.0]

    def progress(message: str, fraction: float | None) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            print(f"  {label}: {message}", file=sys.stderr, flush=True)

    return progress


# --- the comparison ----------------------------------------------------------------------


def _run(command: list[str], cores: int) -> None:
    env = dict(os.environ)
    for name in THREAD_VARIABLES:
        env[name] = str(cores)
    subprocess.run(command, env=env, check=True)  # noqa: S603 (our own scripts)


def _truth(meta: dict[str, Any], test: Any) -> Any:
    """The test rows' target: numbers (regression) or 1 for the positive class, else 0."""
    from loopml.model.values import category_string, category_strings

    target = meta["target"]
    if meta["task"] == "regression":
        return test[target].to_numpy(float)
    positive = category_string(meta["positive_class"])
    return (category_strings(test[target]) == positive).to_numpy(int)


def _score(meta: dict[str, Any], truth: Any, scores: Any) -> float:
    """The primary metric of ``scores`` against ``truth``, with loopml's array scorers."""
    from loopml.evaluate.metrics import binary_metrics, regression_metrics

    metric = meta["metric"]
    if len(scores) != len(truth):
        raise SystemExit(f"{meta['name']}: {len(scores)} scores for {len(truth)} test rows")
    if meta["task"] == "regression":
        return regression_metrics(truth, scores, [metric])[metric]
    return binary_metrics(truth, scores, [metric])[metric]


def _difference_interval(
    meta: dict[str, Any], truth: Any, ours: Any, theirs: Any
) -> tuple[float, float]:
    """The paired bootstrap interval of loopml's metric minus FLAML's: both sides scored
    on the same ``BOOTSTRAP_SAMPLES`` resamples of the test rows."""
    from loopml.evaluate.bootstrap import binary_scores, bootstrap, regression_scores

    metric = meta["metric"]

    def difference(weights: Any) -> dict[str, Any]:
        if meta["task"] == "regression":
            a, b = (regression_scores(truth, s, weights)[metric] for s in (ours, theirs))
        else:
            a, b = (binary_scores(truth, s, 0.5, weights)[metric] for s in (ours, theirs))
        return {"difference": a - b}

    found = bootstrap(
        difference, len(truth), samples=BOOTSTRAP_SAMPLES, confidence=CONFIDENCE, seed=0
    )
    return found["difference"]


def compare_one(data: Dataset, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Both sides on one data set: a row per FLAML input (raw, and cleaned if retyped)."""
    import numpy as np
    import pandas as pd

    from loopml.spec.model import greater_is_better

    folder = CACHE / data.name
    meta = prepare(data, folder)
    rows = meta["rows"]
    print(
        f"{data.name}: {rows['train']} training rows (search and refit), {rows['test']} test "
        f"rows ({meta['split']} split; {rows['sample']} sample hold-out rows unused), "
        f"{len(meta['features'])} features, {meta['metric']}",
        flush=True,
    )
    truth = _truth(meta, pd.read_parquet(folder / "test_clean.parquet"))
    loopml_out = folder / "result_loopml.json"
    _run(
        [
            sys.executable,
            __file__,
            "side",
            str(folder),
            str(args.budget),
            str(args.cores),
            str(loopml_out),
        ],
        args.cores,
    )
    ours = json.loads(loopml_out.read_text())
    our_scores = np.asarray(ours.pop("scores"), dtype=float)
    ours["score"] = _score(meta, truth, our_scores)
    inputs = ["raw"] + (["cleaned"] if meta["retyped"] and args.cleaned else [])
    results = []
    for given in inputs:
        flaml_out = folder / f"result_flaml_{given}.json"
        command = [args.flaml_python, str(FLAML_SIDE), str(folder), given]
        command += [str(args.budget), str(args.cores), str(flaml_out)]
        _run(command, args.cores)
        theirs = json.loads(flaml_out.read_text())
        their_scores = np.asarray(theirs.pop("scores"), dtype=float)
        theirs["score"] = _score(meta, truth, their_scores)
        greater = greater_is_better(meta["metric"])
        diff = ours["score"] - theirs["score"]
        low, high = _difference_interval(meta, truth, our_scores, their_scores)
        results.append(
            {
                "data": data.name,
                "metric": meta["metric"],
                "flaml_input": given,
                "loopml": ours,
                "flaml": theirs,
                "difference": diff,
                "difference_interval": [low, high],
                "goal_met": diff >= 0 if greater else diff <= 0,
                "rows": rows,
                "retyped": meta["retyped"],
            }
        )
        _print_detail(results[-1])
    return results


def _print_detail(row: dict[str, Any]) -> None:
    ours, theirs = row["loopml"], row["flaml"]
    if row["flaml_input"] == "raw":
        trials = ours["trials"]
        print(
            f"  loopml: {ours['champion']} (CV {ours['cv_score']:.4f}, {ours['evaluation']}); "
            f"{trials['complete']} trials complete, {trials['pruned']} pruned, "
            f"{trials['failed']} failed {trials['per_algorithm']}, seconds "
            f"{trials['seconds_per_algorithm']}; search "
            f"{ours['search_seconds']:.1f} s, with the refit {ours['seconds']:.1f} s",
            flush=True,
        )
    print(
        f"  FLAML ({row['flaml_input']} columns): {theirs['champion']} (its "
        f"{theirs['evaluation']} loss {theirs['best_loss']:.4f}); {theirs['trials']} trials "
        f"{theirs['per_estimator']}; fit {theirs['seconds']:.1f} s",
        flush=True,
    )


def print_table(results: list[dict[str, Any]], budget: float, cores: int) -> None:
    print()
    print(f"budget {budget:g} s per side, {cores} core(s) each; hold-out scores")
    header = (
        f"{'data':<16}{'metric':<9}{'loopml':>9}{'FLAML':>9}{'diff':>9}  {'95 % CI of diff':<19}"
        f"{'loopml s':>9}{'FLAML s':>9}  goal (loopml >= FLAML)"
    )
    print(header)
    for row in results:
        name = row["data"] + (" (cleaned)" if row["flaml_input"] == "cleaned" else "")
        low, high = row["difference_interval"]
        interval = f"[{low:+.4f}, {high:+.4f}]"
        verdict = "met" if row["goal_met"] else "NOT met"
        if low <= 0 <= high:
            verdict += " (the CI holds 0)"
        print(
            f"{name:<16}{row['metric']:<9}{row['loopml']['score']:>9.4f}"
            f"{row['flaml']['score']:>9.4f}{row['difference']:>+9.4f}  {interval:<19}"
            f"{row['loopml']['seconds']:>9.1f}{row['flaml']['seconds']:>9.1f}  {verdict}"
        )
    print(
        "(diff is loopml - FLAML: higher is better for roc_auc, lower for rmse; the CI is a "
        f"paired bootstrap of the test rows, {BOOTSTRAP_SAMPLES} resamples)"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "side":
        folder, budget, cores, out = sys.argv[2:6]
        side_loopml(Path(folder), float(budget), int(cores), Path(out))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flaml-python", required=True, help="the python of FLAML's venv")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per side")
    parser.add_argument("--cores", type=int, default=1, help="cores (threads) per side")
    parser.add_argument("--data", default=",".join(DATASETS), help="comma-separated")
    parser.add_argument(
        "--no-cleaned",
        dest="cleaned",
        action="store_false",
        help="skip FLAML on the cleaned columns of data sets whose cleaning retypes them",
    )
    args = parser.parse_args()
    names = [n.strip() for n in args.data.split(",") if n.strip()]
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        parser.error(f"unknown data set {unknown[0]!r}; use {', '.join(DATASETS)}")
    results: list[dict[str, Any]] = []
    for name in names:
        results += compare_one(DATASETS[name], args)
    print_table(results, args.budget, args.cores)
    CACHE.mkdir(parents=True, exist_ok=True)
    settings = {"budget_s": args.budget, "cores": args.cores}
    (CACHE / "results.json").write_text(json.dumps({**settings, "results": results}, indent=1))
    print(f"results: {CACHE / 'results.json'}")


if __name__ == "__main__":
    main()
