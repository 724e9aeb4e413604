"""Registering a model trained outside loopml: the gate, then the registry, like any other.

The version it makes goes through approval, ``serve``, ``deploy`` and ``monitor`` as a
pipeline-trained one does (see ``loopml.evaluate.external`` for what its gate checks).
The sample is kept as the version's reference rows: monitoring compares served traffic
with it and explanations take their background from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from loopml.domain import Metric, ModelVersion, RunStatus
from loopml.errors import DataError, NotFoundError, SpecError
from loopml.service.base import ServiceBase

if TYPE_CHECKING:
    import pandas as pd

    from loopml.evaluate.external import Judged
    from loopml.evaluate.gate import ChampionRule
    from loopml.model.bundle import ModelBundle


class ExternalModelsMixin(ServiceBase):
    """Models fitted elsewhere (a notebook, a script), registered into this project."""

    def register_external(
        self,
        model: Any,
        *,
        sample: pd.DataFrame,
        name: str | None = None,
        task: str | None = None,
        target: str | None = None,
        positive_class: Any = None,
        threshold: float | None = None,
        metrics: Mapping[str, float] | None = None,
        holdout: Any = None,
        description: str = "",
        tags: Mapping[str, Any] | None = None,
        alias: str | None = None,
    ) -> ModelVersion:
        """Register the fitted ``model`` as the next version of ``name`` (default: the
        project's name) once the gate judged it; see ``loopml.register_model``."""
        from loopml.evaluate.external import holdout_frame, supplied_metrics
        from loopml.registry.external import check_fitted, environment

        _check_alias(alias)
        check_fitted(model)
        name = name or self.spec.name
        supplied = supplied_metrics(metrics)
        bundle, reference = self._external_bundle(
            model, sample, task, target, (positive_class, threshold)
        )
        rows = holdout_frame(holdout, bundle) if holdout is not None else None
        judged, compared = self._judge(bundle, name, reference, rows, supplied)
        held = self._champion_check(name, judged, compared)
        lineage = {
            **environment(model),
            "model_kind": f"external ({type(model).__name__})",
            "description": description,
            "tags": {str(k): str(v) for k, v in (tags or {}).items()},
            "metrics_source": judged.source,
            "supplied_metrics": supplied,
            "sample_rows": len(reference),
            "holdout_rows": None if rows is None else len(rows),
            "gate_unchecked": judged.unchecked,
        }
        if held is not None:
            lineage["champion_check"] = held
        self.store.add_event(
            self.project.project_id, "gate.verdict", _gate_payload(name, judged, compared)
        )
        parts = {"model": bundle.to_bytes(), "sample": _parquet(reference)}
        if rows is not None:
            parts["holdout"] = _parquet(rows)
        return self._record(bundle, name, parts, judged, lineage, alias)

    def _external_bundle(
        self,
        model: Any,
        sample: Any,
        task: str | None,
        target: str | None,
        decision: tuple[Any, float | None],
    ) -> tuple[ModelBundle, pd.DataFrame]:
        """The bundle, and the sample's rows as reference (with the target, when the
        sample holds it, under the bundle's name). Task, target and positive class
        default to the spec's; ``decision`` is (positive class, threshold)."""
        import pandas as pd

        from loopml.registry.external import external_bundle, find_column, infer_task, input_columns

        if not isinstance(sample, pd.DataFrame):
            raise DataError(
                "register_model: sample= must be a pandas DataFrame of input rows (named "
                f"columns), not a {type(sample).__name__}"
            )
        problem = self.spec.problem
        task = infer_task(model, task)
        if task != problem.task:
            raise SpecError(
                f"register_model: the model is a {task} model but loopml.yaml says "
                f"problem.task: {problem.task}"
            )
        target = target or problem.target
        found = find_column(sample, target)
        columns = input_columns(model, sample, found)
        bundle = external_bundle(
            model,
            sample,
            columns,
            task=task,
            target=target,
            positive_class=problem.positive_class if decision[0] is None else decision[0],
            threshold=decision[1],
            kinds=self.spec.data.columns,
        )
        reference = sample[columns].reset_index(drop=True)
        if found is not None:
            reference[target] = sample[found].to_numpy()
        return bundle, reference

    def _judge(
        self,
        bundle: ModelBundle,
        name: str,
        reference: pd.DataFrame,
        rows: pd.DataFrame | None,
        supplied: dict[str, float],
    ) -> tuple[Judged, dict[str, Any] | None]:
        """The gate's verdict with the spec's criteria, and the champion as compared."""
        from loopml.evaluate.external import judge_external

        rule, compared = self._champion_rule(name, rows)
        judged = judge_external(
            bundle,
            reference,
            rows,
            supplied,
            criteria=self.spec.problem.success_criteria,
            primary_metric=self.spec.problem.primary_metric,
            bootstrap=self.spec.evaluation.bootstrap,
            champion=rule,
        )
        return judged, compared

    def _champion_rule(
        self, name: str, rows: pd.DataFrame | None
    ) -> tuple[ChampionRule | None, dict[str, Any] | None]:
        """``evaluation.beat_champion`` with the champion scored on ``rows`` (no rule
        without it). Without rows the champion cannot be compared: the check fails."""
        from loopml.evaluate.gate import ChampionRule
        from loopml.evaluate.holdout import score_rows
        from loopml.registry import find_alias, load_bundle

        rule = self.spec.evaluation.beat_champion
        if rule is None and not self.spec.registry.champion.beat_champion:
            return None, None
        metric = (rule and rule.metric) or self.spec.problem.primary_metric
        champion = find_alias(self.store, name, "champion")
        if champion is None:
            return (None if rule is None else ChampionRule(metric, rule.by, None, None)), None
        compared: dict[str, Any] = {"ref": champion.ref}
        if rows is None:
            compared["error"] = "no hold-out was given to score it on"
        else:
            try:
                _, bundle = load_bundle(self.store, self.artifacts, champion.ref)
                compared["metrics"] = score_rows(bundle, rows).metrics()
            except Exception as exc:  # noqa: BLE001 - the rule then fails, saying why
                compared["error"] = f"{type(exc).__name__}: {exc}"
        if rule is None:
            return None, compared
        return ChampionRule(metric, rule.by, champion.ref, compared.get("metrics")), compared

    def _champion_check(
        self, name: str, judged: Judged, compared: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """``registry.champion`` for a version that passed the gate: None when the rule
        is off or the gate said no-go (see ``loopml.evaluate.gate.check_champion``)."""
        from loopml.evaluate.gate import check_champion

        rule = self.spec.registry.champion
        if not rule.beat_champion or judged.verdict != "go":
            return None
        metric = rule.metric or self.spec.problem.primary_metric
        check = check_champion(judged.metrics, compared, metric, rule.tolerance)
        if not check.promote:
            payload = {"model": name, "reason": check.reason, "champion": check.ref}
            self.store.add_event(self.project.project_id, "model.held_back", payload)
        return check.to_dict()

    def _record(
        self,
        bundle: ModelBundle,
        name: str,
        parts: dict[str, bytes],
        judged: Judged,
        lineage: dict[str, Any],
        alias: str | None,
    ) -> ModelVersion:
        """A ``register_model`` run that stores ``parts`` and registers the version."""
        from loopml.pipeline.versioning import code_version

        code = code_version(self.settings.project_dir)
        parent = self._tracking_parent()
        params = {"estimator": lineage["estimator"], "task": bundle.task, "target": bundle.target}
        run = self.store.create_run(
            self.project.project_id,
            "register_model",
            params=params,
            tags={"origin": "external"},
            parent_run_id=parent,
            code_version=code,
        )
        try:
            outputs = self._put(run.run_id, parts)
            lineage.update(code_version=code, training_run_id=parent)
            version = self._register(bundle, name, run.run_id, outputs, judged, lineage, alias)
            self.store.log_metrics(run.run_id, [Metric(k, v) for k, v in judged.metrics.items()])
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            self.store.finish_run(run.run_id, RunStatus.FAILED, error=error)
            raise
        self.store.finish_run(run.run_id, RunStatus.SUCCEEDED, outputs=outputs)
        return version

    def _register(
        self,
        bundle: ModelBundle,
        name: str,
        run_id: str,
        outputs: dict[str, str],
        judged: Judged,
        lineage: dict[str, Any],
        alias: str | None,
    ) -> ModelVersion:
        from loopml.registry import output_schema, register_model, set_alias, set_challenger

        lineage.update(
            gate=judged.verdict,
            train_digest=outputs["sample"],
            test_digest=outputs.get("holdout"),
            output_schema=output_schema(bundle),
        )
        promote = bool((lineage.get("champion_check") or {"promote": True})["promote"])
        version = register_model(
            self.store,
            self.project.project_id,
            name,
            artifact_digest=outputs["model"],
            run_id=run_id,
            signature=bundle.signature,
            metrics=judged.metrics,
            lineage=lineage,
            champion=judged.verdict == "go" and promote,
            require_approval=self.spec.registry.require_approval,
            approvers=self.spec.registry.approvers,
        )
        if judged.verdict == "go" and not promote:
            set_challenger(self.store, self.project.project_id, name, version.version)
        if alias is not None:
            by = lineage.get("registered_by", "")
            set_alias(self.store, self.project.project_id, version, alias, by=by)
        return self.store.get_model_version(name, version.version)

    def _put(self, run_id: str, parts: dict[str, bytes]) -> dict[str, str]:
        """Store each part (the pickled bundle, Parquet rows); digests by part name."""
        outputs = {}
        for part, data in parts.items():
            ref = self.artifacts.put_bytes(data)
            media_type = "bytes" if part == "model" else "parquet"
            self.store.record_artifact(ref, media_type=media_type, run_id=run_id)
            outputs[part] = ref.digest
        return outputs

    def _tracking_parent(self) -> str | None:
        """The active ``loopml.start_run`` run, when it is one of this project's runs."""
        from loopml.tracking.client import active_run

        active = active_run()
        if active is None:
            return None
        try:
            run = self.store.get_run(active.run_id)
        except NotFoundError:
            return None
        return run.run_id if run.project_id == self.project.project_id else None


def _check_alias(alias: str | None) -> None:
    from loopml.registry.aliases import check_alias

    if alias is None:
        return
    check_alias(alias)
    if alias == "champion":
        raise DataError(
            "register_model: the gate (and approval) make a version the champion; "
            "alias= names another alias"
        )


def _gate_payload(name: str, judged: Judged, compared: dict[str, Any] | None) -> dict[str, Any]:
    result = judged.result
    return {
        "model": name,
        "model_kind": "external",
        "verdict": judged.verdict,
        "reasons": result.reasons,
        "checks": [c.__dict__ for c in result.checks],
        "holdout": "given" if judged.source == "holdout" else None,
        "metrics_source": judged.source,
        "unchecked": judged.unchecked,
        "champion": compared,
    }


def _parquet(frame: pd.DataFrame) -> bytes:
    import io

    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()
