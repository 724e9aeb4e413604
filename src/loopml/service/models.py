"""The registry seen from a project: versions, approval, aliases, export, explanations."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.domain import (
    Event,
    ModelVersion,
    Run,
    Snapshot,
)
from loopml.errors import DataError, NotFoundError

if TYPE_CHECKING:
    from loopml.registry import VersionDetails


from loopml.service.base import ServiceBase
from loopml.service.files import read_json_row


class ModelsMixin(ServiceBase):
    """Registered versions of the project's model."""

    def list_models(self) -> list[ModelVersion]:
        return self.store.list_model_versions(self.spec.name)

    def list_models_with_status(self) -> list[tuple[ModelVersion, str | None]]:
        """This project's versions, newest first, with their approval status (or None)."""
        from loopml.registry import list_with_status

        return list_with_status(self.store, self.project.project_id, self.spec.name)

    def model_details(self, ref: str | None = None) -> VersionDetails:
        """A version's signature, output schema, metrics, lineage, status and history."""
        from loopml.registry import describe_version, resolve_model

        version = resolve_model(self.store, self._model_ref(ref))
        return describe_version(self.store, self.project.project_id, version)

    def version_lineage(self, ref: str) -> dict[str, Any]:
        """``ref``'s lineage from source to predictions: ``details`` (status, history),
        ``snapshot`` (sources and hashes, None when trained outside loopml or gone),
        ``run`` (the run that registered it, None when gone), ``gate`` (its verdict and
        the ``gate.verdict`` event's reasons and checks), ``approvals`` (requests and
        decisions: who, when, why), ``deployments`` it serves in (primary or challenger)
        and ``predictions`` (rows and batches logged, first and last time).

        Raises NotFoundError for an unknown model or version."""
        from loopml.registry import resolve_model

        version = resolve_model(self.store, self._model_ref(ref))
        events = self.store.list_events(self.project.project_id)
        batches = self.store.list_prediction_batches(version.name, version.version)
        return {
            "details": self.model_details(version.ref),
            "snapshot": self._find_snapshot(version.lineage.get("snapshot_id")),
            "run": self._find_run(version.run_id),
            "gate": _gate_of(events, version),
            "approvals": [e for e in events if _is_decision(e, version)],
            "deployments": [
                d
                for d in self.store.list_deployments(self.project.project_id)
                if d.model_name == version.name and version.version in dict(d.serving())
            ],
            "predictions": {
                "rows": sum(b.row_count for b in batches),
                "batches": len(batches),
                "first_at": min((b.first_at for b in batches), default=None),
                "last_at": max((b.last_at for b in batches), default=None),
            },
        }

    def _find_snapshot(self, snapshot_id: str | None) -> Snapshot | None:
        if not snapshot_id:
            return None
        try:
            return self.store.get_snapshot(snapshot_id)
        except NotFoundError:
            return None

    def _find_run(self, run_id: str) -> Run | None:
        try:
            return self.store.get_run(run_id)
        except NotFoundError:
            return None

    def approve_model(self, ref: str, by: str, note: str = "") -> dict[str, Any]:
        """Approve ``ref`` as ``by`` and make it the champion (see registry.approval)."""
        from loopml.registry import approve, resolve_model

        version = resolve_model(self.store, self._model_ref(ref))
        approvers = self.spec.registry.approvers
        return approve(
            self.store, self.project.project_id, version, by=by, note=note, approvers=approvers
        )

    def reject_model(self, ref: str, by: str, note: str) -> dict[str, Any]:
        """Reject ``ref`` as ``by`` because of ``note``: it never becomes champion."""
        from loopml.registry import reject, resolve_model

        version = resolve_model(self.store, self._model_ref(ref))
        approvers = self.spec.registry.approvers
        return reject(
            self.store, self.project.project_id, version, by=by, note=note, approvers=approvers
        )

    def set_model_alias(self, ref: str, alias: str, by: str = "") -> ModelVersion:
        """Point ``alias`` at the version ``ref`` names; returns that version, updated."""
        from loopml.registry import resolve_model, set_alias

        version = resolve_model(self.store, self._model_ref(ref))
        set_alias(self.store, self.project.project_id, version, alias, by=by)
        return self.store.get_model_version(version.name, version.version)

    def delete_model_alias(self, name: str, alias: str, by: str = "") -> int:
        """Remove ``alias`` from model ``name``; returns the version it pointed at."""
        from loopml.registry import delete_alias

        return delete_alias(self.store, self.project.project_id, name, alias, by=by)

    def export_model(self, ref: str, fmt: str, out_dir: Path) -> tuple[ModelVersion, Path]:
        """Export ``ref`` as ``mlflow`` or ``onnx`` into the new folder ``out_dir``."""
        from loopml.registry import export_version

        version, path = export_version(
            self.store, self.artifacts, self._model_ref(ref), fmt, self._path(out_dir)
        )
        self.store.add_event(
            self.project.project_id,
            "model.exported",
            {"model": version.name, "version": version.version, "format": fmt, "path": str(path)},
        )
        return version, path

    def explain(
        self,
        ref: str | None = None,
        *,
        row: dict[str, Any] | None = None,
        row_file: Path | None = None,
        data: Path | None = None,
        row_number: int | None = None,
    ) -> tuple[ModelVersion, dict[str, Any]]:
        """Explain one prediction of ``ref`` (default: the champion): the row given as a
        dict, as a JSON file holding one object, or as row ``row_number`` (0-based) of
        the ``data`` file. Returns the version and the prediction with each input
        column's contribution (see ``loopml.evaluate.explain.explain_prediction``).

        Raises DataError for a missing row, a bad file or JSON, or missing columns;
        NotFoundError for an unknown model.
        """
        import pandas as pd

        from loopml.data.ingest import clean_column_names, read_source
        from loopml.evaluate.explain import explain_prediction

        version, bundle = self.load_model(ref)
        if row_file is not None:
            row = read_json_row(self._path(row_file))
        if row is not None:
            frame = pd.DataFrame([row])
        elif data is not None and row_number is not None:
            table = read_source(self._path(data))
            if not 0 <= row_number < len(table):
                raise DataError(f"{data}: no row {row_number}; it has rows 0 to {len(table) - 1}")
            frame = table.iloc[[row_number]].reset_index(drop=True)
        else:
            raise DataError("explain: give a row (JSON object, @file.json) or --data FILE ROW")
        frame, _ = clean_column_names(frame)
        background = self._training_sample(version)
        return version, explain_prediction(bundle, frame, background)[0]


_DECISIONS = ("model.approval_requested", "model.approved", "model.rejected")


def _is_decision(event: Event, version: ModelVersion) -> bool:
    return event.kind in _DECISIONS and _is_version(event, version)


def _gate_of(events: list[Event], version: ModelVersion) -> dict[str, Any]:
    """The gate's verdict on ``version`` (from its lineage) with the reasons and checks of
    the ``gate.verdict`` event its run recorded just before registering it."""
    verdict: dict[str, Any] = {"verdict": version.lineage.get("gate"), "event": None}
    last_verdict = None
    for event in events:
        if event.kind == "gate.verdict":
            last_verdict = event
        elif event.kind == "model.registered" and _is_version(event, version):
            verdict["event"] = last_verdict
            break
    return verdict


def _is_version(event: Event, version: ModelVersion) -> bool:
    payload = event.payload
    return payload.get("model") == version.name and payload.get("version") == version.version
