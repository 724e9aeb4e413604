"""Runs side by side: parameters, latest metrics, and the population for the charts.

When every compared run is a child of the same run (trials of a search), the charts show
all of that run's children in start order (trial 1, 2, ...); otherwise the compared runs
themselves, in start order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopml.domain import Run
from loopml.storage.metadata.protocols import RunStore

MAX_SIBLINGS = 10_000
# Substrings of metric names where a smaller value is better (when nobody says otherwise).
_SMALLER_IS_BETTER = (
    "loss",
    "error",
    "rmse",
    "mse",
    "mae",
    "mape",
    "brier",
    "time",
    "latency",
    "seconds",
)


@dataclass(frozen=True)
class Comparison:
    """Compared runs with their parameters and latest metrics.

    ``runs`` are the compared runs in the order asked; ``population`` the runs the charts
    show (see the module docstring), oldest first; ``metrics`` the latest value of each
    metric of every run in either; ``metric`` the metric the charts plot (None when the
    runs share none) and ``greater_is_better`` its direction; ``parent`` the common parent
    run, if any; ``report_path`` the HTML file, once written.
    """

    runs: tuple[Run, ...]
    population: tuple[Run, ...]
    metrics: Mapping[str, Mapping[str, float]]
    param_keys: tuple[str, ...]
    metric_keys: tuple[str, ...]
    metric: str | None = None
    greater_is_better: bool = True
    parent: Run | None = None
    report_path: Path | None = field(default=None, compare=False)

    def value(self, run: Run, key: str) -> float | None:
        """The latest value of metric ``key`` in ``run`` (None if absent or NaN)."""
        value = self.metrics.get(run.run_id, {}).get(key)
        return None if value is None or math.isnan(value) else value

    def trial_numbers(self) -> list[int]:
        """The x axis of the history: each population run's ``trial`` tag (a search's
        trial number) when every run has one, else its place in start order (1, 2, ...)."""
        tags = [r.tags.get("trial", "") for r in self.population]
        if tags and all(t.isdigit() for t in tags):
            return [int(t) for t in tags]
        return list(range(1, len(self.population) + 1))

    def params_differ(self, key: str) -> bool:
        """Whether the compared runs have different values (or presence) of param ``key``."""
        return len({_canonical(r.params.get(key, _MISSING)) for r in self.runs}) > 1

    def metrics_differ(self, key: str) -> bool:
        """Whether the compared runs have different latest values of metric ``key``."""
        return len({self.value(r, key) for r in self.runs}) > 1

    def best(self, key: str) -> float | None:
        """The best value of metric ``key`` among the compared runs (by ``metric``'s
        direction for it, else by the direction guessed from its name)."""
        values = [v for r in self.runs if (v := self.value(r, key)) is not None]
        if not values:
            return None
        greater = self.greater_is_better if key == self.metric else guess_greater_is_better(key)
        return max(values) if greater else min(values)


_MISSING = object()


def _canonical(value: Any) -> str:
    if value is _MISSING:
        return "\0missing"
    return json.dumps(value, sort_keys=True, default=str)


def guess_greater_is_better(metric: str) -> bool:
    """False for names of losses and errors (``log_loss``, ``rmse``, ...), else True."""
    lowered = metric.lower()
    return not any(part in lowered for part in _SMALLER_IS_BETTER)


def compare_runs(
    store: RunStore,
    run_ids: Sequence[str],
    *,
    metric: str | None = None,
    greater_is_better: bool | None = None,
) -> Comparison:
    """Compare runs (ids or unique prefixes; repeats ignored).

    ``metric`` is the metric to chart: its cross-validated mean ``cv_<metric>`` when the
    runs log one (a search's trials do), else ``metric`` itself; when the runs log
    neither, the first metric that every compared run logs (in name order), else any.
    ``greater_is_better`` defaults to a guess from the metric's name. Raises
    NotFoundError for an unknown run, ValueError when ``run_ids`` is empty.
    """
    if not run_ids:
        raise ValueError("compare_runs needs at least one run id")
    runs = tuple({r.run_id: r for r in (store.get_run(i) for i in run_ids)}.values())
    parent_ids = {r.parent_run_id for r in runs}
    parent: Run | None = None
    population = tuple(sorted(runs, key=lambda r: r.started_at))
    if len(parent_ids) == 1 and None not in parent_ids:
        parent = store.get_run(next(iter(parent_ids)))  # type: ignore[arg-type]
        children = store.search_runs(
            parent.project_id, parent_run_id=parent.run_id, limit=MAX_SIBLINGS
        )
        population = tuple(reversed(children))  # newest first -> start order
    wanted = list(dict.fromkeys([*(r.run_id for r in population), *(r.run_id for r in runs)]))
    metrics = store.latest_metrics(wanted)
    metric_keys = tuple(sorted({k for r in runs for k in metrics.get(r.run_id, {})}))
    param_keys = tuple(sorted({k for r in runs for k in r.params}))
    chosen = _chart_metric(runs, metrics, metric)
    if greater_is_better is None or chosen != metric:
        greater_is_better = guess_greater_is_better(chosen) if chosen else True
    return Comparison(
        runs=runs,
        population=population,
        metrics=metrics,
        param_keys=param_keys,
        metric_keys=metric_keys,
        metric=chosen,
        greater_is_better=greater_is_better,
        parent=parent,
    )


def _chart_metric(
    runs: Sequence[Run], metrics: Mapping[str, Mapping[str, float]], preferred: str | None
) -> str | None:
    logged = [set(metrics.get(r.run_id, {})) for r in runs]
    for candidate in (f"cv_{preferred}", preferred) if preferred else ():
        if any(candidate in keys for keys in logged):
            return candidate
    common = set.intersection(*logged) if logged else set()
    if common:
        return sorted(common)[0]
    every = set().union(*logged)
    return sorted(every)[0] if every else None
