"""The project's data: profiles, labels, snapshots, diffs and lineage."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.domain import (
    ModelVersion,
    Snapshot,
)
from loopml.errors import ConflictError, DataError, NotFoundError, SpecError

if TYPE_CHECKING:
    pass


from loopml.service.base import ServiceBase
from loopml.service.files import write_atomic


class DataMixin(ServiceBase):
    """Profiles, labels and snapshots of the project's data."""

    def profile(
        self, output: Path | None = None, on_event: Callable[[Any], None] | None = None
    ) -> tuple[Path, Any]:
        """Ingest (or reuse) the current snapshot and write its EDA report as HTML.

        The raw snapshot is profiled, before validation and cleaning, so that its quirks
        (leakage, duplicate and ID-like columns, missing values) show up in the report.
        """
        from loopml.pipeline.lifecycle import SNAPSHOT
        from loopml.profile import profile_frame, render_profile

        result = self._run_data_steps(on_event, "profile", only_ingest=True)
        snapshot = result.load(SNAPSHOT)
        import pandas as pd

        frame = pd.read_parquet(io.BytesIO(snapshot))
        problem = self.spec.problem
        kinds = {c: k for c, k in self.spec.data.columns.items() if c in frame.columns}
        profile = profile_frame(
            frame,
            target=problem.target if problem.target in frame.columns else None,
            task=problem.task,
            kinds=kinds,
            orders=self.spec.data.orders,
            title=f"{self.spec.name}: snapshot {result.outputs[SNAPSHOT][:12]}",
        )
        path = self._path(output) if output else self.reports_dir / f"profile-{self.spec.name}.html"
        write_atomic(path, render_profile(profile).encode())
        return path, profile

    def _run_data_steps(
        self, on_event: Callable[[Any], None] | None, name: str, only_ingest: bool = False
    ) -> Any:
        from loopml.pipeline.lifecycle import data_steps

        steps = data_steps(self.spec, self.settings.project_dir, os.environ, self._label_sets())
        steps = steps[:1] if only_ingest else steps
        runner = self._runner(on_event)
        return runner.run(steps, name=name)

    def export_unlabelled(self, output: Path, on_event: Callable[[Any], None] | None = None) -> int:
        """Write the rows that still have no label (after rules and imports) to ``output``."""
        from loopml.data.labels import export_unlabelled
        from loopml.pipeline.lifecycle import LABELLED

        self._require_key("label export")
        result = self._run_data_steps(on_event, "label-export")
        return export_unlabelled(
            result.load(LABELLED),
            self.spec.problem.target,
            list(self.spec.data.key),
            self._path(output),
        )

    def import_labels(self, path: Path, labelled_by: str) -> dict[str, Any]:
        """Store a filled-in labelling file; the next run applies it (who and when kept)."""
        import pandas as pd

        from loopml.data.labels import read_label_file

        self._require_key("label import")
        if not labelled_by.strip():
            raise DataError("say who labelled the rows: --by NAME")
        key, target = list(self.spec.data.key), self.spec.problem.target
        labels = read_label_file(self._path(path), key, target)
        buffer = io.BytesIO()
        pd.DataFrame(labels[[*key, target]]).to_parquet(buffer, index=False)
        ref = self.artifacts.put_bytes(buffer.getvalue())
        payload = {
            "digest": ref.digest,
            "labelled_by": labelled_by.strip(),
            "labelled_at": datetime.now(UTC).isoformat(),
            "rows": len(labels),
            "file": str(path),
        }
        self.store.add_event(self.project.project_id, "labels.imported", payload)
        return payload

    def _require_key(self, command: str) -> None:
        if not self.spec.data.key:
            raise SpecError(
                f"`loopml {command}` matches rows by their key: set data.key in "
                "loopml.yaml to the column(s) that identify a row"
            )

    def list_snapshots(self) -> list[Snapshot]:
        return self.store.list_snapshots(self.project.project_id)

    def get_snapshot(self, prefix: str) -> Snapshot:
        """The snapshot whose id starts with ``prefix`` (NotFound / Conflict otherwise)."""
        matches = [s for s in self.list_snapshots() if s.snapshot_id.startswith(prefix)]
        if not matches:
            raise NotFoundError(
                f"no data snapshot of project '{self.spec.name}' starts with '{prefix}'; "
                "`loopml data versions` lists them"
            )
        if len(matches) > 1:
            raise ConflictError(f"'{prefix}' matches {len(matches)} snapshots; give more of it")
        return matches[0]

    def load_snapshot(self, snapshot: Snapshot) -> Any:
        import pandas as pd

        return pd.read_parquet(io.BytesIO(self.artifacts.get_bytes(snapshot.snapshot_id)))

    def diff_snapshots(self, a: str, b: str, key: list[str] | None = None) -> Any:
        """Rows added/removed/changed, schema changes and shifts from snapshot A to B."""
        from loopml.data.diff import diff_frames

        first, second = self.get_snapshot(a), self.get_snapshot(b)
        return diff_frames(
            self.load_snapshot(first),
            self.load_snapshot(second),
            key=key if key is not None else list(self.spec.data.key),
            settings=self.spec.monitor.drift,
        )

    def lineage(self, ref: str | None = None) -> tuple[ModelVersion, Snapshot | None]:
        """A model version with the snapshot it was trained on (sources, hashes, query);
        None for a model trained outside loopml (``loopml.register_model``)."""
        from loopml.registry import resolve_model

        version = resolve_model(self.store, ref or f"{self.spec.name}@champion")
        snapshot_id = version.lineage.get("snapshot_id")
        return version, self.store.get_snapshot(snapshot_id) if snapshot_id else None
