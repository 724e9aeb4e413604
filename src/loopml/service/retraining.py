"""Retraining: the champion is replaced only by a challenger proven better, twice.

1. ``start`` (a ``retrain`` policy fired): the feedback-labelled traffic is cut by time;
   the older part joins the re-read source in a normal pipeline run whose version becomes
   ``challenger``; champion and challenger are scored on the latest part, which neither
   trained on. A challenger better by the margin goes into shadow.
2. ``advance`` (every later ``loopml monitor``): once the challenger has shadowed enough
   requests and enough of them got feedback, both models' logged answers to the same
   requests are scored; the challenger is promoted and deployed only if it is better by
   the margin again, otherwise the champion serves alone again.

Every decision is an event (``retrain.*``) with its evidence; nothing here raises for a
"no": a rejected challenger is a result with a reason.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from loopml.domain import Deployment, ModelVersion, Project

if TYPE_CHECKING:
    import pandas as pd

    from loopml.pipeline.lifecycle import Retraining
    from loopml.service.runs import RunSummary
    from loopml.spec import ProjectSpec
    from loopml.spec.monitoring import RetrainSettings
    from loopml.storage.artifacts.protocols import ArtifactStore
    from loopml.storage.metadata.protocols import MetadataStore

SHADOWING = "retrain.shadowing"
CLOSED = ("retrain.promoted", "retrain.rejected")


class RetrainingHost(Protocol):
    """What the retrainer uses of a project's service (``ProjectService`` is one): the
    stores, the project and its spec; loading, training and deploying a model. The
    retrainer depends on this, not on the facade, so the service has no import circle."""

    @property
    def store(self) -> MetadataStore: ...

    @property
    def artifacts(self) -> ArtifactStore: ...

    @property
    def project(self) -> Project: ...

    spec: ProjectSpec

    def load_model(self, ref: str | None = None) -> tuple[ModelVersion, Any]: ...

    def run(self, *, retrain: Retraining | None = None) -> RunSummary: ...

    def deploy(self, ref: str, mode: str = "single") -> Deployment: ...


class Retrainer:
    """Retraining of one project's model; see the module docstring."""

    def __init__(self, service: RetrainingHost) -> None:
        self.service = service
        self.store = service.store
        self.project_id = service.project.project_id
        self.name = service.spec.name
        self.settings: RetrainSettings = service.spec.monitor.retrain

    # -- step 1: train a challenger and judge it on recent traffic -------------------------

    def start(self, evidence: dict[str, Any]) -> str:
        """Retrain on fresh data and put a better challenger into shadow (or promote it
        when ``shadow_requests`` is 0). The challenger is compared with the monitored
        model (``evidence["model"]``, else the champion). Returns what happened."""
        if self.trial() is not None:
            return self._record("retrain.skipped", "a challenger is already in shadow", evidence)
        champion, champion_bundle = self.service.load_model(evidence.get("model"))
        labelled = self._labelled_traffic(champion)
        if len(labelled) < self.settings.min_labelled:
            reason = (
                f"only {len(labelled)} served requests have feedback; retraining needs "
                f"{self.settings.min_labelled} (monitor.retrain.min_labelled)"
            )
            return self._record("retrain.skipped", reason, evidence)
        attempt = {"labelled": len(labelled), "spec": self._training_spec()}
        if self._tried(champion.ref, attempt):
            reason = (
                f"no new feedback and no spec change since the last retraining against "
                f"{champion.ref} ({len(labelled)} labelled requests)"
            )
            return self._record("retrain.skipped", reason, evidence)
        evidence = {**evidence, "champion": champion.ref, **attempt}
        from loopml.monitor.retrain import split_recent

        older, recent = split_recent(labelled, self.settings.recent_share)
        challenger = self._train_challenger(older)
        if challenger.lineage.get("gate") != "go":
            reason = f"{challenger.ref} did not pass the gate; the champion stays"
            return self._record("retrain.rejected", reason, evidence, challenger=challenger.ref)
        judgement = self._judge_on_rows(champion_bundle, challenger, recent)
        payload = {**evidence, "challenger": challenger.ref}
        self.store.add_event(
            self.project_id,
            "retrain.evaluated",
            {**payload, "on": "recent traffic", "judgement": judgement.to_dict()},
        )
        if not judgement.better:
            return self._record("retrain.rejected", judgement.reason, payload)
        if self.settings.shadow_requests == 0:
            return self._promote(challenger, judgement.reason, payload)
        deployment = self.service.deploy(challenger.ref, mode="shadow")
        self.store.add_event(
            self.project_id,
            SHADOWING,
            {
                **payload,
                "deployment_id": deployment.deployment_id,
                "requests": self.settings.shadow_requests,
                "judgement": judgement.to_dict(),
            },
        )
        return f"{challenger.ref} beat {champion.ref} on recent traffic; now in shadow"

    def _training_spec(self) -> str:
        """What a retraining trains with, as a hash: a change is worth another try."""
        sections = ("problem", "data", "split", "features", "models", "evaluation")
        return self.service.spec.section_hash(*sections)

    def _tried(self, champion: str, attempt: Mapping[str, Any]) -> bool:
        """Whether the last retraining against ``champion`` had the same evidence (so a
        persisting alert does not retrain again and again under ``--watch``)."""
        decided = ("retrain.evaluated", "retrain.rejected", SHADOWING)
        for event in reversed(self.store.list_events(self.project_id)):
            if event.kind in decided and event.payload.get("champion") == champion:
                return all(event.payload.get(k) == v for k, v in attempt.items())
        return False

    def _labelled_traffic(self, champion: ModelVersion) -> pd.DataFrame:
        from loopml.monitor.retrain import labelled_traffic
        from loopml.serve.sink import load_predictions

        log = load_predictions(self.store, self.service.artifacts, self.name, champion.version)
        feedback = self._feedback()
        target = self.service.spec.problem.target
        return labelled_traffic(log, feedback, target, champion.signature.names())

    def _train_challenger(self, traffic: pd.DataFrame) -> ModelVersion:
        from loopml.pipeline.lifecycle import Retraining

        buffer = io.BytesIO()
        traffic.to_parquet(buffer, index=False)
        digest = self.service.artifacts.put_bytes(buffer.getvalue()).digest
        summary = self.service.run(retrain=Retraining(traffic=digest))
        return self.store.get_model_version(self.name, summary.registration["version"])

    def _judge_on_rows(self, champion_bundle: Any, challenger: ModelVersion, rows: Any) -> Any:
        from loopml.evaluate.metrics import compute_metrics

        _, challenger_bundle = self.service.load_model(challenger.ref)
        metric = self.service.spec.problem.primary_metric
        before = compute_metrics(champion_bundle, rows).get(metric)
        after = compute_metrics(challenger_bundle, rows).get(metric)
        return self._judge(before, after, len(rows))

    def _judge(self, champion: float | None, challenger: float | None, rows: int) -> Any:
        from loopml.monitor.retrain import judge
        from loopml.spec import greater_is_better

        metric = self.service.spec.problem.primary_metric
        return judge(
            metric,
            greater_is_better(metric),
            champion,
            challenger,
            rows=rows,
            margin=self.settings.min_improvement,
        )

    # -- step 2: judge the shadow and decide ----------------------------------------------

    def trial(self) -> tuple[Deployment, Mapping[str, Any]] | None:
        """The active shadow deployment that a retraining started and nothing closed yet,
        with the ``retrain.shadowing`` event's payload."""
        from loopml.serve.deploy import active_deployment

        active = active_deployment(self.store, self.project_id)
        if active is None or active.mode != "shadow":
            return None
        events = self.store.list_events(self.project_id)
        started = [e for e in events if e.kind == SHADOWING]
        started = [e for e in started if e.payload.get("deployment_id") == active.deployment_id]
        if not started:
            return None
        closed = [
            e
            for e in events
            if e.kind in CLOSED and e.payload.get("deployment_id") == active.deployment_id
        ]
        return None if closed else (active, started[-1].payload)

    def advance(self) -> str | None:
        """Decide a running shadow trial once it has enough evidence; None when no trial
        runs, else what happened (or what it waits for), in words."""
        trial = self.trial()
        if trial is None:
            return None
        deployment, _ = trial
        challenger = int(deployment.config["challenger"])
        import pandas as pd

        from loopml.monitor.retrain import shadow_pairs, shadow_requests
        from loopml.serve.sink import load_predictions

        logs = [
            load_predictions(self.store, self.service.artifacts, self.name, version)
            for version in (deployment.version, challenger)
        ]  # only the two models on trial, not every version ever served
        logs = [log for log in logs if not log.empty]
        log = pd.concat(logs, ignore_index=True) if logs else pd.DataFrame()
        seen = shadow_requests(log, challenger)
        pairs = shadow_pairs(log, self._feedback(), challenger)
        needed, labelled = self.settings.shadow_requests, self.settings.min_shadow_feedback
        if seen < needed or len(pairs) < labelled:
            return (
                f"{self.name}@{challenger} in shadow: {seen}/{needed} requests, "
                f"{len(pairs)}/{labelled} with feedback"
            )
        judgement = self._judge_shadow(pairs, deployment.version)
        payload = {
            "champion": f"{self.name}@{deployment.version}",
            "challenger": f"{self.name}@{challenger}",
            "deployment_id": deployment.deployment_id,
            "on": "shadow traffic",
            "shadow_requests": seen,
            "judgement": judgement.to_dict(),
        }
        version = self.store.get_model_version(self.name, challenger)
        if judgement.better:
            return self._promote(version, judgement.reason, payload)
        self.service.deploy(f"{self.name}@{deployment.version}", mode="single")
        return self._record("retrain.rejected", judgement.reason, payload)

    def _judge_shadow(self, pairs: pd.DataFrame, served: int) -> Any:
        from loopml.monitor.performance import make_scorer
        from loopml.monitor.retrain import side

        _, bundle = self.service.load_model(f"{self.name}@{served}")
        metric = self.service.spec.problem.primary_metric
        score = make_scorer(bundle.task, metric, bundle.classes, bundle.positive_class)
        before, after = score(side(pairs, "champion")), score(side(pairs, "challenger"))
        return self._judge(before, after, len(pairs))

    # -- shared -------------------------------------------------------------------------

    def _promote(self, version: ModelVersion, reason: str, payload: dict[str, Any]) -> str:
        from loopml.registry import CHALLENGER, delete_alias, promote

        promote(self.store, self.project_id, self.name, version.version, reason=reason)
        if CHALLENGER in self.store.get_model_version(self.name, version.version).aliases:
            delete_alias(self.store, self.project_id, self.name, CHALLENGER, by="retraining")
        deployment = self.service.deploy(version.ref, mode="single")
        self._record(
            "retrain.promoted",
            reason,
            {**payload, "promoted": version.ref, "new_deployment_id": deployment.deployment_id},
        )
        return f"{version.ref} promoted to champion and deployed: {reason}"

    def _record(self, kind: str, reason: str, payload: dict[str, Any], **extra: Any) -> str:
        self.store.add_event(self.project_id, kind, {**payload, **extra, "reason": reason})
        return reason

    def _feedback(self) -> dict[str, Any]:
        return {f.prediction_id: f.value for f in self.store.list_feedback(self.project_id)}
