"""Running the lifecycle and looking at its runs."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.domain import (
    Metric,
    Run,
    RunStatus,
)
from loopml.storage.metadata.protocols import Condition

if TYPE_CHECKING:
    from loopml.pipeline.lifecycle import Retraining
    from loopml.tracking.compare import Comparison
    from loopml.tracking.query import RunTable


from loopml.service.base import ServiceBase
from loopml.service.files import write_atomic


@dataclass(frozen=True)
class RunSummary:
    """What one `loopml run` did: each step's run, the evaluation, the verdict, the model."""

    pipeline_run: Run
    steps: list[Any]
    validation: dict[str, Any]
    cleaning: dict[str, Any]
    evaluation: dict[str, Any]
    gate: dict[str, Any]
    registration: dict[str, Any]
    report_path: Path
    search: dict[str, Any] = field(default_factory=dict)  # the train step's search summary
    ingest: dict[str, Any] = field(default_factory=dict)  # the snapshot's rows and sample


@dataclass(frozen=True)
class RunCurves:
    """Runs side by side: each with its latest metrics (``metrics[run_id][key]``), the
    param and metric keys any of them has, the params whose values differ, and every
    logged value of every metric as ``curves[key][run_id] = [(step, value), ...]``."""

    runs: list[Run]
    metrics: dict[str, dict[str, float]]
    param_keys: list[str]
    metric_keys: list[str]
    differing_params: list[str]
    curves: dict[str, dict[str, list[tuple[int, float]]]]


class RunsMixin(ServiceBase):
    """``loopml run`` and the tracked runs."""

    def run(
        self, on_event: Callable[[Any], None] | None = None, retrain: Retraining | None = None
    ) -> RunSummary:
        """Run the lifecycle; unchanged steps are reused. Raises StageError on failure.

        With ``retrain`` (see ``pipeline.lifecycle.Retraining``) the feedback-labelled
        traffic joins the training part and the new version becomes the challenger."""
        from loopml.pipeline.lifecycle import (
            CLEANING,
            EVALUATION,
            GATE,
            REGISTRATION,
            SEARCH,
            VALIDATION,
            lifecycle_steps,
        )

        steps = lifecycle_steps(
            self.spec,
            self.settings.project_dir,
            os.environ,
            self._label_sets(),
            store_url=self.settings.db_url,
            retrain=retrain,
            storage_options=self.settings.storage_options,
            cluster=self.settings.cluster,
        )
        runner = self._runner(on_event)
        result = runner.run(steps, params={"spec": self.spec.model_dump(mode="json")})
        evaluation = result.load(EVALUATION)
        gate = result.load(GATE)
        registration = result.load(REGISTRATION)
        report = self._write_run_report(evaluation, gate, registration)
        return RunSummary(
            result.run,
            result.steps,
            result.load(VALIDATION),
            result.load(CLEANING),
            evaluation,
            gate,
            registration,
            report,
            result.load(SEARCH),
            result.load("ingest"),
        )

    def _write_run_report(
        self, evaluation: dict[str, Any], gate: dict[str, Any], registration: dict[str, Any]
    ) -> Path:
        """The evaluation report of the run's model: one self-contained HTML file."""
        from loopml.evaluate.report import render_evaluation

        name, number = registration["model"], registration["version"]
        lineage = dict(self.store.get_model_version(name, number).lineage)
        html = render_evaluation(self.spec, f"{name}@{number}", evaluation, gate, lineage)
        path = self.reports_dir / f"evaluation-{name}-v{number}.html"
        write_atomic(path, html.encode())
        return path

    def list_runs(
        self, *, name: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[Run]:
        return self.store.list_runs(
            self.project.project_id,
            name=name,
            status=RunStatus(status) if status else None,
            limit=limit,
        )

    def get_run(self, run_id: str) -> tuple[Run, list[Metric]]:
        run = self.store.get_run(run_id)
        return run, self.store.get_metrics(run.run_id)

    def search_runs(
        self,
        where: Sequence[str | Condition] = (),
        *,
        name: str | None = None,
        status: str | None = None,
        parent: str | None = None,
        order_by: str | None = None,
        metrics: Sequence[str] = (),
        limit: int = 50,
        offset: int = 0,
        count: bool = False,
    ) -> RunTable:
        """Runs matching every condition (``"roc_auc > 0.8"``, ``"params.lr < 0.1"``,
        ``"tags.state == pruned"``), with the latest value of the metrics they name.

        ``parent`` (an id or prefix) keeps the children of that run (a search's trials);
        ``order_by`` is a metric key or name/status/duration, ``-`` first for descending;
        ``count`` also counts the matches over all pages (``RunTable.total``).
        Raises ValueError for an invalid expression, NotFoundError for an unknown parent.
        """
        from loopml.tracking.query import search_runs

        return search_runs(
            self.store,
            self.project.project_id,
            where,
            name=name,
            status=status,
            parent_run_id=self.store.get_run(parent).run_id if parent else None,
            order_by=order_by,
            metrics=metrics,
            limit=limit,
            offset=offset,
            count=count,
        )

    def run_curves(self, run_ids: Sequence[str]) -> RunCurves:
        """The runs ``run_ids`` (ids or unique prefixes, repeats ignored, order kept)
        with their params, latest metrics and metric curves; nothing is written (see
        ``compare_runs`` for the HTML report). Raises NotFoundError for an unknown run,
        ValueError for no run."""
        if not run_ids:
            raise ValueError("compare: give at least one run id (id=...)")
        found = [self.store.get_run(i) for i in run_ids]
        runs = list({r.run_id: r for r in found}.values())
        latest = self.store.latest_metrics([r.run_id for r in runs])
        curves: dict[str, dict[str, list[tuple[int, float]]]] = {}
        for run in runs:
            for metric in self.store.get_metrics(run.run_id):
                points = curves.setdefault(metric.key, {}).setdefault(run.run_id, [])
                points.append((metric.step, metric.value))
        param_keys = sorted({k for r in runs for k in r.params})
        differing = [k for k in param_keys if len({repr(r.params.get(k)) for r in runs}) > 1]
        return RunCurves(
            runs,
            {r.run_id: dict(latest.get(r.run_id, {})) for r in runs},
            param_keys,
            sorted(curves),
            differing,
            curves,
        )

    def compare_runs(
        self, run_ids: Sequence[str], *, metric: str | None = None, out: Path | None = None
    ) -> Comparison:
        """Compare runs side by side and write the HTML report with the two charts.

        ``metric`` (default: the spec's primary metric, when the runs log it) is the one
        charted. The report goes to ``out`` (relative to the project folder) or to
        ``.loopml/reports/compare-<ids>.html``. Raises NotFoundError for an unknown run.
        """
        from loopml.spec import greater_is_better
        from loopml.tracking.charts import comparison_html
        from loopml.tracking.compare import compare_runs

        metric = metric or self.spec.problem.primary_metric
        try:
            greater = greater_is_better(metric)
        except KeyError:
            greater = None
        comparison = compare_runs(self.store, run_ids, metric=metric, greater_is_better=greater)
        ids = "-".join(r.run_id[:8] for r in comparison.runs[:3])
        more = f"-and-{len(comparison.runs) - 3}" if len(comparison.runs) > 3 else ""
        path = self._path(out) if out else self.reports_dir / f"compare-{ids}{more}.html"
        write_atomic(path, comparison_html(comparison).encode())
        return replace(comparison, report_path=path)
