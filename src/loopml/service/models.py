"""The registry seen from a project: versions, approval, aliases, export, explanations."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.domain import (
    ModelVersion,
)
from loopml.errors import DataError

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
