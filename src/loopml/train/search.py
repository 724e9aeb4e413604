"""Hyperparameter search with Optuna: the algorithm and its hyperparameters together.

One Optuna study samples an algorithm among the candidates, then that algorithm's
hyperparameters (a conditional space: each name is searched as ``algorithm.param``), and
scores the configuration by cross-validation, fold by fold: the running mean after each
fold is reported so that a poor trial is pruned early (``MedianPruner``). Each
candidate's default configuration is tried first when the budget allows.

Every trial is a child run (``trial``) of the caller's run, with the algorithm and
hyperparameters as params, the snapshot, trial number and worker as tags, the fold
scores, ``fit_seconds`` and ``score_seconds`` at step = fold, and ``cv_<metric>`` (the
mean). A pruned trial ends ``succeeded`` with tag ``state=pruned``; a trial whose model
raises (a bad parameter, a user estimator's error, a failure on one fold) ends
``failed`` with the error, and the search goes on.

Trials run in this process (1 worker, an in-memory study), in worker processes of a
``ProcessExecutor`` or as tasks of a Dask cluster (``DaskExecutor``), which share one
study (see ``parallel`` and ``studies``); each worker opens its own metadata store
connection from ``store_url``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np
import optuna
import pandas as pd
from threadpoolctl import threadpool_limits

from loopml.compute.dask import DaskExecutor
from loopml.compute.executor import Executor, LocalExecutor, ProcessExecutor, executor_for
from loopml.data.split import cv_splitter
from loopml.domain import Metric, RunStatus, Schema
from loopml.errors import DataError, StageError
from loopml.model.bundle import ModelBundle
from loopml.model.labels import plain_value, positive_label
from loopml.spec.model import ProjectSpec, greater_is_better
from loopml.spec.models import CustomModel, ModelsSpec, ParamSpace
from loopml.storage.metadata.protocols import RunStore
from loopml.train.cv import Fold, check_metric, score_fold
from loopml.train.fitting import (
    FitSetup,
    fit_bundle_with,
    fit_rows,
    fit_setup,
    models_of,
    training_rows,
)
from loopml.train.studies import check_reachable
from loopml.train.zoo import (
    check_device,
    check_params,
    default_params,
    make_model,
    resolve_model,
    search_space,
)

Progress = Callable[[str, float | None], None]
Direction = Literal["maximize", "minimize"]
TRIAL_RUN = "trial"
POLL_SECONDS = 2.0  # how often the parent reports progress while workers search


@dataclass(frozen=True)
class SearchResult:
    """How a search ended.

    ``algorithm``/``params``/``score``: the best trial (its mean cross-validation
    ``metric``); ``trials``: one row per trial (number, algorithm, params, state, value,
    run_id, worker, pid, seconds, error); ``history``: per trial, for charts (number,
    state, value, the best value so far, ``folds``: the running mean after each fold,
    params); ``stop_reason``: ``trials`` (every trial asked for ran) or ``time_budget``
    (``timeout_s`` ran out first). Plain JSON-able values throughout (``to_dict``).
    """

    algorithm: str
    params: dict[str, Any]
    score: float
    metric: str
    greater_is_better: bool
    trials_completed: int
    trials_pruned: int
    trials_failed: int
    elapsed_s: float
    workers: int = 1
    trials: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    trials_requested: int = 0
    timeout_s: float | None = None
    stop_reason: str = "trials"

    @property
    def trials_run(self) -> int:
        """Trials that ended, whatever their state."""
        return self.trials_completed + self.trials_pruned + self.trials_failed

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return asdict(self)

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> SearchResult:
        return SearchResult(**dict(data))


@dataclass(frozen=True)
class _Problem:
    """Everything a trial needs, picklable so that worker processes get it whole."""

    setup: FitSetup
    X: pd.DataFrame
    y: np.ndarray
    metric: str
    greater: bool
    positive: Any
    folds: list[Fold]
    candidates: dict[str, str | CustomModel]
    spaces: dict[str, dict[str, ParamSpace]]
    pruning: bool
    project_id: str
    parent_run_id: str
    snapshot_id: str


def run_search(
    train_df: pd.DataFrame,
    spec: ProjectSpec,
    *,
    make_transform: Callable[[], Any],
    store: RunStore,
    project_id: str,
    parent_run_id: str,
    snapshot_id: str = "",
    cv_splits: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
    executor: Executor | None = None,
    store_url: str | None = None,
    progress: Progress | None = None,
    cluster: str | None = None,
) -> SearchResult:
    """Search ``spec.models`` on ``train_df`` and return the best configuration.

    Args:
        train_df: the training part (the hold-out never enters); rows without a target
            value are left out.
        spec: the project spec: problem (task, target, primary metric, positive class),
            features, split (``time`` keeps early-stopping slices the latest rows) and
            models (candidates, spaces, search budget, imbalance, early stopping, device).
        make_transform: returns a new unfitted feature transform (fitted per fold).
        store: where trial runs are recorded (this process).
        project_id, parent_run_id: the project and the run the trials are children of.
        snapshot_id: the data snapshot, tagged on every trial.
        cv_splits: ``[(train_positions, validation_positions), ...]`` into the rows of
            ``train_df`` that have a target; None: ``models.search.folds`` folds cut as
            the split is: by time (``split.method: time``: expanding windows), by group
            (``group``), else stratified (classification) or shuffled k-fold, seeded.
        executor: where trials run; None: ``executor_for(models.search.workers,
            cluster=cluster)``, closed at the end. With a ``LocalExecutor`` (or one
            worker of a process pool) the search runs in this process; a Dask cluster
            runs each trial as a task, on every thread of its workers.
        store_url: the metadata store's URL, opened by each worker (needed with several
            workers and on a cluster: there a PostgreSQL store also holds the shared
            Optuna study; a SQLite one only serves workers on this machine).
        progress: called as ``progress(message, fraction)`` as trials end (and every
            ``POLL_SECONDS`` with several workers): trials done of the total, the best
            score so far, the elapsed time and what is left of ``timeout_s``; the
            fraction is the larger of the trials' and the time budget's share.
        cluster: a Dask cluster (``local``, ``local:N``, ``tcp://host:port``; the
            ``cluster`` setting) when no ``executor`` is given.

    Returns:
        The best trial's algorithm, params and mean score, the trial counts and tables.

    Raises:
        SpecError: an unknown model or parameter, a custom estimator that does not
            import, a metric that cannot score folds.
        ValueError: ``search.trials`` is 0 (use ``fit_default``), or several workers
            (or a cluster) without ``store_url``.
        DataError: missing columns, too few rows or classes for the folds.
        StageError: ``device: cuda`` without a usable GPU, no trial completed (the
            first errors are named), a Dask scheduler that does not answer or is lost,
            a SQLite store with a remote cluster.
    """
    started = time.perf_counter()
    deadline_at = time.time()
    models = models_of(spec)
    search = models.search
    if search.trials == 0:
        raise ValueError("search.trials is 0: fit each candidate with fit_default instead")
    owned = executor is None
    executor = executor or executor_for(search.workers, cluster=cluster)
    try:
        if isinstance(executor, DaskExecutor) and store_url:  # before connecting to it
            check_reachable(store_url, workers_here=executor.is_local)
        workers = max(1, min(executor.workers, search.trials))
        inline = isinstance(executor, LocalExecutor) or (
            workers == 1 and isinstance(executor, ProcessExecutor)
        )
        if not inline and not store_url:
            raise ValueError("a search with several workers (or on a cluster) needs store_url")
        deadline = None if search.timeout_s is None else deadline_at + search.timeout_s
        problem = _problem(train_df, spec, models, make_transform, cv_splits, executor)
        problem = replace(
            problem, project_id=project_id, parent_run_id=parent_run_id, snapshot_id=snapshot_id
        )
        budget = _Budget(search.trials, search.timeout_s, started, problem.metric, problem.greater)
        run = _Run(problem, executor, workers, inline, deadline, budget, store, store_url or "")
        result = run.trials(progress or _no_progress)
    finally:
        if owned:
            executor.close()
    _log_summary(store, parent_run_id, result)
    return result


@dataclass(frozen=True)
class _Run:
    """A search ready to run: where (``inline``: this process) and with what."""

    problem: _Problem
    executor: Executor
    workers: int
    inline: bool
    deadline: float | None
    budget: _Budget
    store: RunStore
    store_url: str

    def trials(self, report: Progress) -> SearchResult:
        from loopml.train import parallel

        problem, search = self.problem, self.problem.setup.models.search
        direction: Direction = "maximize" if problem.greater else "minimize"

        def poll(study: optuna.Study) -> None:
            report(*self.budget.line(study))

        previous = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        try:
            with tempfile.TemporaryDirectory(prefix="loopml-search-") as folder:
                if self.inline:
                    study = optuna.create_study(
                        direction=direction,
                        sampler=_sampler(search.seed),
                        pruner=_pruner(problem.pruning),
                    )
                    _enqueue_defaults(study, problem, search.trials)
                    callback = _progress_callback(report, self.budget)
                    _optimize(
                        study, problem, self.store, 0, search.trials, self.deadline, [callback]
                    )
                elif isinstance(self.executor, ProcessExecutor):
                    study = parallel.process_search(
                        problem,
                        direction,
                        self.executor,
                        self.workers,
                        self.deadline,
                        folder,
                        self.store_url,
                        poll,
                    )
                else:
                    study = parallel.cluster_search(
                        problem,
                        direction,
                        self.executor,
                        self.deadline,
                        folder,
                        self.store,
                        self.store_url,
                        poll,
                    )
                return _result(study, problem, self.workers, self.budget)
        finally:
            optuna.logging.set_verbosity(previous)


def fit_final(
    train_df: pd.DataFrame,
    spec: ProjectSpec,
    result: SearchResult,
    make_transform: Callable[[], Any],
    signature: Schema,
    *,
    n_threads: int | None = None,
) -> ModelBundle:
    """Refit the best configuration of ``result`` on all of ``train_df`` (boosted trees
    stop early on a slice of it) and return the bundle; ``info`` holds the params and
    the search's score.

    Raises:
        DataError: missing columns or too few classes; SpecError: an unknown model.
    """
    info = {
        "cv_metric": result.metric,
        "cv_score": result.score,
        "search_trials": result.trials_completed + result.trials_pruned + result.trials_failed,
    }
    return fit_bundle_with(
        result.algorithm, result.params, train_df, spec, make_transform, signature, n_threads, info
    )


def fit_default(
    kind: str,
    train_df: pd.DataFrame,
    spec: ProjectSpec,
    make_transform: Callable[[], Any],
    signature: Schema,
    *,
    n_threads: int | None = None,
) -> ModelBundle:
    """Fit model ``kind`` (a built-in or custom name) with its default parameters on all
    of ``train_df``: the baseline, and each candidate when ``search.trials`` is 0.

    Raises:
        DataError: missing columns or too few classes; SpecError: an unknown model.
    """
    models = models_of(spec)
    model = resolve_model(kind, models)
    params = default_params(model, spec.problem.task, models)
    return fit_bundle_with(kind, params, train_df, spec, make_transform, signature, n_threads, {})


# --- setting up ------------------------------------------------------------------------


def _problem(
    train_df: pd.DataFrame,
    spec: ProjectSpec,
    models: ModelsSpec,
    make_transform: Callable[[], Any],
    cv_splits: Sequence[tuple[np.ndarray, np.ndarray]] | None,
    executor: Executor,
) -> _Problem:
    task = spec.problem.task
    X, y, rows = training_rows(train_df, spec)
    metric = spec.problem.primary_metric
    classes = sorted({plain_value(v) for v in y}, key=str) if task == "classification" else []
    check_metric(metric, task, len(classes))
    positive = None
    if len(classes) == 2:
        ordered = [plain_value(c) for c in np.unique(y)]
        positive = positive_label(ordered, spec.problem.positive_class, spec.problem.target)
    candidates = {name: resolve_model(name, models) for name in models.candidates}
    spaces = {name: search_space(m, task, models) for name, m in candidates.items()}
    for name, model in candidates.items():
        check_params(model, task, list(spaces[name]))
    check_device(models, task)
    setup = fit_setup(spec, models, make_transform, rows, executor.threads_per_worker)
    if cv_splits is None:  # folds cut the way the split cuts the hold-out
        cv_splits = cv_splitter(spec.split, task, models.search.folds, rows, spec.problem.target)
    folds = [(np.asarray(tr, dtype=int), np.asarray(va, dtype=int)) for tr, va in cv_splits]
    _check_folds(folds, len(y))
    return _Problem(
        setup=setup,
        X=X,
        y=y,
        metric=metric,
        greater=greater_is_better(metric),
        positive=positive,
        folds=folds,
        candidates=candidates,
        spaces=spaces,
        pruning=models.search.pruning,
        project_id="",
        parent_run_id="",
        snapshot_id="",
    )


def _check_folds(folds: list[Fold], n: int) -> None:
    if not folds:
        raise DataError("cross-validation: cv_splits holds no fold")
    for i, (train, valid) in enumerate(folds):
        if len(train) == 0 or len(valid) == 0:
            raise DataError(f"cross-validation: fold {i + 1} has an empty side")
        if max(train.max(), valid.max()) >= n or min(train.min(), valid.min()) < 0:
            raise DataError(f"cross-validation: fold {i + 1} names rows outside 0..{n - 1}")


def _sampler(seed: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.TPESampler(seed=seed)


def _pruner(pruning: bool) -> optuna.pruners.BasePruner:
    if not pruning:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)


def _enqueue_defaults(study: optuna.Study, problem: _Problem, trials: int) -> None:
    """Try each candidate's defaults first, when they take at most half the budget."""
    if trials < 2 * len(problem.candidates):
        return
    task = problem.setup.task
    for name, model in problem.candidates.items():
        space = problem.spaces[name]
        defaults = default_params(model, task, problem.setup.models)
        params: dict[str, Any] = {"algorithm": name}
        params |= {_key(name, k): v for k, v in defaults.items() if space[k].contains(v)}
        study.enqueue_trial(params)


# --- running trials --------------------------------------------------------------------


def _optimize(
    study: optuna.Study,
    problem: _Problem,
    store: RunStore,
    worker: int | str,
    n_trials: int,
    deadline: float | None,
    callbacks: list[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]],
    slot: int | None = None,
) -> None:
    timeout = None if deadline is None else deadline - time.time()
    if n_trials <= 0 or (timeout is not None and timeout <= 0):
        return
    for model in problem.candidates.values():  # load their libraries before limiting threads
        make_model(model, problem.setup.task)
    objective = _Objective(problem, store, worker, slot)
    with threadpool_limits(limits=problem.setup.threads):
        study.optimize(
            objective, n_trials=n_trials, timeout=timeout, catch=(Exception,), callbacks=callbacks
        )


class _Objective:
    """One trial: sample a configuration, cross-validate it, record it as a child run
    (``slot``: the budget slot of a cluster task, kept as a user attribute first)."""

    def __init__(
        self, problem: _Problem, store: RunStore, worker: int | str, slot: int | None = None
    ) -> None:
        self.problem = problem
        self.store = store
        self.worker = worker
        self.slot = slot
        self.pid = os.getpid()

    def __call__(self, trial: optuna.Trial) -> float:
        p = self.problem
        if self.slot is not None:
            trial.set_user_attr("slot", self.slot)
        name = str(trial.suggest_categorical("algorithm", list(p.candidates)))
        params = {k: _suggest(trial, name, k, space) for k, space in p.spaces[name].items()}
        tags = {
            "snapshot_id": p.snapshot_id,
            "trial": str(trial.number),
            "worker": str(self.worker),
        }
        run = self.store.create_run(
            p.project_id,
            TRIAL_RUN,
            params={"algorithm": name, **params},
            tags=tags,
            parent_run_id=p.parent_run_id or None,
        )
        trial.set_user_attr("run_id", run.run_id)
        trial.set_user_attr("worker", self.worker)
        trial.set_user_attr("pid", self.pid)
        fold = 0
        try:
            scores: list[float] = []
            for fold, (train, valid) in enumerate(p.folds):
                score, fit_s, score_s = _fold_score(p, p.candidates[name], params, train, valid)
                scores.append(score)
                mean = float(np.mean(scores))
                last = fold == len(p.folds) - 1
                metrics = [
                    Metric(p.metric, score, fold),
                    Metric("fit_seconds", fit_s, fold),
                    Metric("score_seconds", score_s, fold),
                ]
                if last:
                    metrics.append(Metric(f"cv_{p.metric}", mean, 0))
                self.store.log_metrics(run.run_id, metrics)
                trial.report(mean, fold)
                if not last and p.pruning and trial.should_prune():
                    self.store.set_tags(run.run_id, {"state": "pruned", "folds": str(fold + 1)})
                    self.store.finish_run(run.run_id, RunStatus.SUCCEEDED)
                    raise optuna.TrialPruned(f"pruned after fold {fold + 1}")
            self.store.set_tags(run.run_id, {"state": "complete", "folds": str(len(scores))})
            self.store.finish_run(run.run_id, RunStatus.SUCCEEDED)
            return float(np.mean(scores))
        except optuna.TrialPruned:
            raise
        except BaseException as exc:
            error = f"fold {fold + 1} of {len(p.folds)}: {type(exc).__name__}: {exc}"
            trial.set_user_attr("error", error)
            self.store.set_tags(run.run_id, {"state": "failed", "folds": str(fold)})
            self.store.finish_run(run.run_id, RunStatus.FAILED, error=error)
            raise


def _suggest(trial: optuna.Trial, model: str, name: str, space: ParamSpace) -> Any:
    key = _key(model, name)
    if space.kind == "categorical":
        return trial.suggest_categorical(key, list(space.choices or []))
    assert space.low is not None and space.high is not None
    if space.kind == "int":
        step = int(space.step or 1)
        return trial.suggest_int(key, int(space.low), int(space.high), step=step, log=space.log)
    return trial.suggest_float(
        key, float(space.low), float(space.high), step=space.step, log=space.log
    )


def _key(model: str, name: str) -> str:
    return f"{model}.{name}"


def _fold_score(
    p: _Problem,
    model: str | CustomModel,
    params: Mapping[str, Any],
    train: np.ndarray,
    valid: np.ndarray,
) -> tuple[float, float, float]:
    started = time.perf_counter()
    transform, estimator = fit_rows(p.setup, model, params, p.X, p.y, train)
    fitted = time.perf_counter()
    X_valid = transform.transform(p.X.iloc[valid])
    score = score_fold(p.metric, p.setup.task, estimator, X_valid, p.y[valid], p.positive)
    return score, fitted - started, time.perf_counter() - fitted


@dataclass(frozen=True)
class _Budget:
    """The search's budget, and the progress line that reports how much of it is used."""

    trials: int
    timeout_s: float | None
    started: float  # time.perf_counter() at the start
    metric: str
    greater: bool

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def line(self, study: optuna.Study) -> tuple[str, float]:
        """``(message, fraction)``: "12/50 trials · best rmse 504.6 · 41s elapsed, 139s
        left of 180s"; the fraction is the larger of the trials' and the time's share."""
        ended = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
        values = [
            t.value
            for t in ended
            if t.state is optuna.trial.TrialState.COMPLETE and t.value is not None
        ]
        best = (max if self.greater else min)(values) if values else None
        return self.message(len(ended), best)

    def message(self, done: int, best: float | None) -> tuple[str, float]:
        elapsed = self.elapsed()
        parts = [f"{done}/{self.trials} trials"]
        parts.append(f"best {self.metric} {best:.4g}" if best is not None else "no score yet")
        clock = f"{_seconds(elapsed)} elapsed"
        fraction = done / max(self.trials, 1)
        if self.timeout_s is not None:
            left = max(0.0, self.timeout_s - elapsed)
            clock += f", {_seconds(left)} left of {_seconds(self.timeout_s)}"
            fraction = max(fraction, elapsed / self.timeout_s)
        parts.append(clock)
        return " · ".join(parts), min(1.0, fraction)


def _seconds(value: float) -> str:
    whole = round(value)
    return f"{whole}s" if whole < 120 else f"{whole // 60}m{whole % 60:02d}s"


def _progress_callback(
    report: Progress, budget: _Budget
) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None]:
    def callback(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        report(*budget.line(study))

    return callback


def _no_progress(message: str, fraction: float | None) -> None:
    return None


# --- results -----------------------------------------------------------------------------


def _state(trial: optuna.trial.FrozenTrial) -> str:
    return {
        optuna.trial.TrialState.COMPLETE: "complete",
        optuna.trial.TrialState.PRUNED: "pruned",
        optuna.trial.TrialState.FAIL: "failed",
    }.get(trial.state, trial.state.name.lower())


def _plain_trial_params(trial: optuna.trial.FrozenTrial) -> tuple[str, dict[str, Any]]:
    algorithm = str(trial.params.get("algorithm", ""))
    prefix = f"{algorithm}."
    params = {k.removeprefix(prefix): v for k, v in trial.params.items() if k.startswith(prefix)}
    return algorithm, params


def _stop_reason(ran: int, budget: _Budget) -> str:
    """``trials`` when every trial asked for ran, ``time_budget`` when time ran out."""
    if ran < budget.trials and budget.timeout_s is not None:
        return "time_budget"
    return "trials"


def _result(study: optuna.Study, problem: _Problem, workers: int, budget: _Budget) -> SearchResult:
    trials = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    trials.sort(key=lambda t: t.number)
    table: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    best: float | None = None
    for trial in trials:
        algorithm, params = _plain_trial_params(trial)
        state = _state(trial)
        value = None if trial.value is None else float(trial.value)
        if state == "complete" and value is not None:
            better = best is None or (value > best if problem.greater else value < best)
            best = value if better else best
        seconds = None
        if trial.datetime_start and trial.datetime_complete:
            seconds = (trial.datetime_complete - trial.datetime_start).total_seconds()
        table.append(
            {
                "trial": trial.number,
                "algorithm": algorithm,
                "params": params,
                "state": state,
                "value": value,
                "run_id": trial.user_attrs.get("run_id"),
                "worker": trial.user_attrs.get("worker"),
                "pid": trial.user_attrs.get("pid"),
                "seconds": seconds,
                "error": trial.user_attrs.get("error"),
            }
        )
        history.append(
            {
                "trial": trial.number,
                "state": state,
                "value": value,
                "best": best,
                "folds": [float(v) for _, v in sorted(trial.intermediate_values.items())],
                "algorithm": algorithm,
                "params": params,
            }
        )
    counts = {s: sum(1 for row in table if row["state"] == s) for s in ("complete", "pruned")}
    failed = len(table) - counts["complete"] - counts["pruned"]
    if counts["complete"] == 0:
        errors = [row["error"] for row in table if row["error"]][:3]
        raise StageError(
            f"no trial of the search completed ({len(table)} ran: {counts['pruned']} pruned, "
            f"{failed} failed). First errors: {'; '.join(errors) or 'none recorded'}",
            step="train",
        )
    best_trial = study.best_trial
    algorithm, params = _plain_trial_params(best_trial)
    return SearchResult(
        algorithm=algorithm,
        params=params,
        score=float(best_trial.value or 0.0),
        metric=problem.metric,
        greater_is_better=problem.greater,
        trials_completed=counts["complete"],
        trials_pruned=counts["pruned"],
        trials_failed=failed,
        elapsed_s=round(budget.elapsed(), 3),
        workers=workers,
        trials=table,
        history=history,
        trials_requested=budget.trials,
        timeout_s=budget.timeout_s,
        stop_reason=_stop_reason(len(table), budget),
    )


def _log_summary(store: RunStore, run_id: str, result: SearchResult) -> None:
    if not run_id:
        return
    store.log_metrics(
        run_id,
        [
            Metric(f"best_cv_{result.metric}", result.score, 0),
            Metric("trials_completed", float(result.trials_completed), 0),
            Metric("trials_pruned", float(result.trials_pruned), 0),
            Metric("trials_failed", float(result.trials_failed), 0),
            Metric("search_seconds", result.elapsed_s, 0),
        ],
    )
    store.set_tags(
        run_id,
        {
            "search_stopped": result.stop_reason,
            "search_trials": f"{result.trials_run} of {result.trials_requested}",
            "search_timeout_s": "none" if result.timeout_s is None else f"{result.timeout_s:g}",
        },
    )
