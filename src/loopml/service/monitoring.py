"""Watching the served model: drift, quality, live metrics, operations, policies."""

from __future__ import annotations

import dataclasses
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
    (``outcome``: a ``loopml.monitor.checks.MonitorOutcome``) and the policies' actions.

    ``role`` is what the judged version does in the deployment: ``primary`` (answers),
    ``challenger`` (answers a share in ab/canary) or ``shadow`` (its answers only
    logged). ``others`` holds the results of the deployment's other serving versions."""

    report: DriftReport
    report_path: Path
    outcome: Any = None
    actions: list[Any] = field(default_factory=list)
    retraining: str | None = None
    role: str = "primary"
    others: list[MonitorResult] = field(default_factory=list)

    @property
    def alert(self) -> bool:
        """Whether a version that answers requests (not a shadow) alerts."""
        judged = [self, *self.others]
        return any(r.outcome.alert for r in judged if r.role != "shadow")


class MonitoringMixin(ServiceBase):
    """Monitoring of the served model and the policies that act on it."""

    def monitor(self, ref: str | None = None) -> MonitorResult:
        """Judge the served model's logged traffic window by window: drift, data quality,
        live metric (once feedback arrives) and operations.

        ``ref`` None judges what the active deployment serves (else the champion): its
        primary version and, as ``others``, an ab/canary challenger or a shadow, each on
        its own rows (a shadow on its shadow answers only). The alerts of versions that
        answer go through the spec's policies (``retrain`` and ``rollback`` act on the
        project); a shadow's are reported, not acted on. Each check and every action are
        events; a monitoring report is written per judged version."""
        from loopml.monitor.alerts import check_policies
        from loopml.service.retraining import Retrainer

        check_policies(self.spec.monitor.policies, ("retrain", "rollback"))
        retrainer = Retrainer(cast("RetrainingHost", self))
        served = self._served_refs(ref)
        judged = [self._judge_served(r, role, shadow, retrainer) for r, role, shadow in served]
        retraining = retrainer.advance()  # before the reports: they show its decisions
        results = [
            MonitorResult(
                _latest_drift(version, check),
                self._write_monitor_report(version, check, actions, role),
                check.outcome,
                actions,
                role=role,
            )
            for version, check, actions, role in judged
        ]
        return dataclasses.replace(results[0], retraining=retraining, others=results[1:])

    def monitoring_summary(self) -> dict[str, Any]:
        """What ``monitor`` judges, window by window, without acting on it: no policy
        runs, nothing is retrained, no event or report is written.

        ``versions`` holds each serving version of the active deployment (else the
        champion; none when neither exists): ``ref``, ``role``, ``alert``, ``alerts``
        (signal: evidence), ``rows`` and ``windows`` (see ``_window_summary``);
        ``staleness`` maps each ref to its ``Staleness``. Raises NotFoundError for a
        served version whose training rows are gone."""
        from loopml.registry import CHAMPION, find_alias
        from loopml.serve.deploy import active_deployment

        active = active_deployment(self.store, self.project.project_id)
        if active is None and find_alias(self.store, self.spec.name, CHAMPION) is None:
            return {"versions": [], "staleness": {}}
        versions, staleness = [], {}
        for ref, role, shadow in self._served_refs(None):
            version, check = self._check_traffic(ref, shadow=shadow)
            outcome = check.outcome
            versions.append(
                {
                    "ref": version.ref,
                    "role": role,
                    "alert": outcome.alert,
                    "alerts": dict(outcome.alerts),
                    "message": outcome.message,
                    "rows": outcome.rows,
                    "windows": [_window_summary(w, version.version) for w in outcome.windows],
                }
            )
            staleness[version.ref] = outcome.staleness
        return {"versions": versions, "staleness": staleness}

    def _served_refs(self, ref: str | None) -> list[tuple[str | None, str, bool | None]]:
        """(ref, role, shadow rows) of every version to judge: ``ref`` on all its rows,
        else the active deployment's serving versions (a shadow on its shadow rows, the
        others on the rows they answered), else the champion (ref None)."""
        from loopml.serve.deploy import active_deployment

        project_id = self.project.project_id
        active = None if ref is not None else active_deployment(self.store, project_id)
        if active is None:
            return [(ref, "primary", None)]
        name = active.model_name
        return [(f"{name}@{v}", role, role == "shadow") for v, role in active.serving()]

    def _judge_served(
        self, ref: str | None, role: str, shadow: bool | None, retrainer: Any
    ) -> tuple[ModelVersion, Any, list[Any], str]:
        """Check ``ref``'s traffic, record it and (unless a shadow) apply the policies:
        (version, check, actions, role)."""
        from loopml.monitor.alerts import apply_policies

        version, check = self._check_traffic(ref, shadow=shadow)
        outcome = check.outcome
        report = _latest_drift(version, check)
        project_id = self.project.project_id
        payload = {**_drift_payload(report, outcome), "role": role}
        self.store.add_event(project_id, "drift.checked", payload)
        latest = outcome.latest
        evidence = {"model": version.ref, "window_start": str(latest.start) if latest else None}
        actions: list[Any] = []
        if role != "shadow":
            actions = apply_policies(
                self.spec.monitor.policies,
                outcome.alerts,
                evidence,
                lambda kind, payload: self.store.add_event(project_id, kind, payload),
                handlers={"retrain": retrainer.start, "rollback": self._roll_back},
            )
        return version, check, actions, role

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

    def _check_traffic(
        self, ref: str | None, shadow: bool | None = None
    ) -> tuple[ModelVersion, Any]:
        """``ref``'s logged traffic judged; ``shadow`` True keeps only shadow rows, False
        only answered ones, None all."""

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
        log = (_rows_of(self._logged_batch(b), shadow) for b in batches)
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

    def _write_monitor_report(
        self, version: ModelVersion, check: Any, actions: Any, role: str = "primary"
    ) -> Path:
        from loopml.monitor.dashboard import decisions_of, render_monitoring

        html = render_monitoring(
            check.outcome,
            model_ref=version.ref if role == "primary" else f"{version.ref} ({role})",
            references=check.references,
            latest=check.latest,
            actions=actions,
            decisions=decisions_of(self.store.list_events(self.project.project_id)),
        )
        suffix = "-shadow" if role == "shadow" else ""
        path = self.reports_dir / f"monitor-{version.name}-v{version.version}{suffix}.html"
        write_atomic(path, html.encode())
        return path


def _window_summary(window: Any, version: int) -> dict[str, Any]:
    """One judged window as the dashboard draws it: ``start`` (of the window), ``end``
    (the last request logged in it), ``rows``, ``drift`` (feature: score), ``drifted``,
    ``quality`` issues, ``metric`` (the live primary metric once feedback came, else
    None), ``latency_ms`` (p50, p95, p99) and ``errors`` (the error rate) of ``version``,
    ``alert`` and its ``signals``."""
    operations = next((o for o in window.operations if o.version == version), None)
    performance = window.performance
    signals = window.signals(version)
    return {
        "start": window.start,
        "end": window.last_at,
        "rows": window.rows,
        "drift": {f.feature: f.score for f in window.drift},
        "drifted": window.drifted_features,
        "quality": [
            {"column": q.column, "kind": q.kind, "share": q.share, "alert": q.alert}
            for q in window.quality
        ],
        "metric": None
        if performance is None
        else {
            "name": performance.metric,
            "value": performance.value,
            "holdout": performance.holdout,
            "rows": performance.rows,
        },
        "latency_ms": None
        if operations is None
        else {"p50": operations.p50_ms, "p95": operations.p95_ms, "p99": operations.p99_ms},
        "errors": None if operations is None else operations.error_rate,
        "alert": bool(signals),
        "signals": signals,
    }


def _rows_of(frame: Any, shadow: bool | None) -> Any:
    """The rows of a logged batch: all (``shadow`` None), shadow ones or answered ones."""
    import pandas as pd

    if shadow is None:
        return frame
    flags = pd.Series(False, index=frame.index)
    if "shadow" in frame.columns:
        flags = frame["shadow"].fillna(False).astype(bool)
    return frame[flags == shadow]


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
