"""Watching the served model: drift, quality, live metrics, operations, policies."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from loopml.domain import (
    DriftReport,
    ModelVersion,
)
from loopml.errors import NotFoundError

if TYPE_CHECKING:
    from loopml.service.retraining import RetrainingHost


from loopml.service.base import ServiceBase
from loopml.service.files import write_atomic


@dataclass(frozen=True)
class MonitorResult:
    """The latest window's drift (``report``), the report file, every window judged
    (``outcome``: a ``loopml.monitor.checks.MonitorOutcome``) and the policies' actions."""

    report: DriftReport
    report_path: Path
    outcome: Any = None
    actions: list[Any] = field(default_factory=list)
    retraining: str | None = None


class MonitoringMixin(ServiceBase):
    """Monitoring of the served model and the policies that act on it."""

    def monitor(self, ref: str | None = None) -> MonitorResult:
        """Judge the served model's logged traffic window by window: drift, data quality,
        live metric (once feedback arrives) and operations. The latest window's alerts
        go through the spec's policies (``retrain`` and ``rollback`` act on the project);
        a challenger in shadow is judged once it has enough evidence. The check and every
        action are events; the monitoring report is written."""
        from loopml.monitor.alerts import apply_policies, check_policies
        from loopml.service.retraining import Retrainer

        policies = self.spec.monitor.policies
        check_policies(policies, ("retrain", "rollback"))
        retrainer = Retrainer(cast("RetrainingHost", self))
        version, check = self._check_traffic(ref)
        outcome = check.outcome
        report = _latest_drift(version, check)
        project_id = self.project.project_id
        self.store.add_event(project_id, "drift.checked", _drift_payload(report, outcome))
        latest = outcome.latest
        evidence = {"model": version.ref, "window_start": str(latest.start) if latest else None}
        actions = apply_policies(
            policies,
            outcome.alerts,
            evidence,
            lambda kind, payload: self.store.add_event(project_id, kind, payload),
            handlers={"retrain": retrainer.start, "rollback": self._roll_back},
        )
        retraining = retrainer.advance()
        path = self._write_monitor_report(version, check, actions)
        return MonitorResult(report, path, outcome, actions, retraining)

    def _roll_back(self, payload: dict[str, Any]) -> str:
        """The ``rollback`` policy: back to the deployment the active one replaced."""
        from loopml.serve.deploy import describe, rollback

        rolled, restored = rollback(self.store, self.project.project_id)
        return f"rolled back from {describe(rolled)} to {describe(restored)}"

    def staleness(self) -> dict[str, Any]:
        """Per served version of the project's model: how long until its live metric
        fell past its limit, and which features drifted first (``Staleness`` each)."""
        versions = sorted(
            {b.version for b in self.store.list_prediction_batches(self.spec.name, None)}
        )
        refs = [f"{self.spec.name}@{v}" for v in versions]
        return {ref: self._check_traffic(ref)[1].outcome.staleness for ref in refs}

    def _check_traffic(self, ref: str | None) -> tuple[ModelVersion, Any]:

        from loopml.monitor.performance import make_scorer
        from loopml.monitor.watch import check_traffic
        from loopml.spec import greater_is_better

        version, bundle = self.load_model(ref)
        reference = self._training_rows(version)
        if reference is None:
            raise NotFoundError(
                f"{version.ref} records no training data in its lineage, or its rows are "
                "gone from the artifact store"
            )
        reference, outputs = _with_outputs(bundle, reference)
        batches = self.store.list_prediction_batches(version.name, None)
        log = (self._logged_batch(b) for b in batches)
        feedback = self.store.list_feedback(self.project.project_id)
        metric = self.spec.problem.primary_metric
        check = check_traffic(
            reference,
            version.signature,
            log,
            self.spec.monitor,
            version=version.version,
            outputs=outputs,
            feedback={f.prediction_id: f.value for f in feedback},
            metric=metric,
            holdout=version.metrics.get(metric),
            greater_is_better=greater_is_better(metric),
            scorer=make_scorer(bundle.task, metric, bundle.classes, bundle.positive_class),
        )
        return version, check

    def _logged_batch(self, batch: Any) -> Any:
        import pandas as pd

        frame = pd.read_parquet(io.BytesIO(self.artifacts.get_bytes(batch.artifact_digest)))
        if "model_version" not in frame.columns and "version" not in frame.columns:
            frame["version"] = batch.version
        return frame

    def _write_monitor_report(self, version: ModelVersion, check: Any, actions: Any) -> Path:
        from loopml.monitor.dashboard import decisions_of, render_monitoring

        html = render_monitoring(
            check.outcome,
            model_ref=version.ref,
            references=check.references,
            latest=check.latest,
            actions=actions,
            decisions=decisions_of(self.store.list_events(self.project.project_id)),
        )
        path = self.reports_dir / f"monitor-{version.name}-v{version.version}.html"
        write_atomic(path, html.encode())
        return path


def _with_outputs(bundle: Any, reference: Any) -> tuple[Any, dict[str, str]]:
    """The training rows with the model's outputs on them, and the outputs' types: the
    probability of a binary model, else the prediction (numeric for regression)."""
    prediction = bundle.predict(reference)
    reference = reference.copy()
    probabilities = prediction.probabilities
    if probabilities is not None and probabilities.ndim == 1:
        reference["probability"] = probabilities
        return reference, {"probability": "numeric"}
    reference["prediction"] = prediction.predictions
    return reference, {"prediction": "numeric" if bundle.task == "regression" else "categorical"}


def _latest_drift(version: ModelVersion, check: Any) -> DriftReport:
    latest = check.outcome.latest
    reference_rows = max((r.rows for r in check.references.values()), default=0)
    return DriftReport(
        model_name=version.name,
        version=version.version,
        reference_rows=reference_rows,
        current_rows=latest.rows if latest else 0,
        features=latest.drift if latest else (),
        created_at=datetime.now(UTC),
    )


def _drift_payload(report: DriftReport, outcome: Any) -> dict[str, Any]:
    def number(value: float) -> float | None:
        return None if value != value else round(value, 6)

    stale = outcome.staleness
    return {
        "model": f"{report.model_name}@{report.version}",
        "current_rows": report.current_rows,
        "rows": outcome.rows,
        "windows": len(outcome.windows),
        "alert": outcome.alert,
        "signals": dict(outcome.alerts),
        "drifted": report.drifted_features,
        "scores": {f.feature: number(f.score) for f in report.features},
        "tests": {f.feature: f.method for f in report.features},
        "message": outcome.message,
        "degraded_at": str(stale.degraded_at) if stale.degraded_at else None,
        "first_drifted": list(stale.first_drifted),
    }
