"""What every part of the project service shares: the settings, the spec, the stores."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from loopml.config import SPEC_FILE, Settings, load_settings
from loopml.domain import (
    Event,
    ModelVersion,
    Project,
)
from loopml.spec import ProjectSpec, load_spec
from loopml.storage.artifacts import open_artifact_store
from loopml.storage.artifacts.protocols import ArtifactStore
from loopml.storage.metadata import open_metadata_store
from loopml.storage.metadata.protocols import MetadataStore

if TYPE_CHECKING:
    from loopml.pipeline import Runner


class ServiceBase:
    """The project in one folder: its settings, spec and stores, opened lazily."""

    def __init__(self, settings: Settings, spec: ProjectSpec) -> None:
        self.settings = settings
        self.spec = spec

    @classmethod
    def open(cls, project_dir: str | Path = ".") -> Self:
        """Open the project whose ``loopml.yaml`` is in ``project_dir`` (SpecError if none)."""
        settings = load_settings(project_dir)
        return cls(settings, load_spec(settings.project_dir / SPEC_FILE))

    @cached_property
    def store(self) -> MetadataStore:
        return open_metadata_store(self.settings.db_url)

    @cached_property
    def artifacts(self) -> ArtifactStore:
        return open_artifact_store(self.settings.artifacts_uri, self.settings.storage_options)

    @cached_property
    def project(self) -> Project:
        return self.store.ensure_project(self.spec.name)

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()

    def _path(self, path: Path) -> Path:
        """``path`` relative to the project folder unless absolute."""
        return self.settings.project_dir / path

    @property
    def reports_dir(self) -> Path:
        return self.settings.home / "reports"

    def list_events(
        self,
        kind: str | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = False,
    ) -> list[Event]:
        pid = self.project.project_id
        return self.store.list_events(
            pid, kind, limit=limit, offset=offset, newest_first=newest_first
        )

    def count_events(self, kind: str | None = None) -> int:
        return self.store.count_events(self.project.project_id, kind)

    def load_model(self, ref: str | None = None) -> tuple[ModelVersion, Any]:
        """The verified bundle for ``ref`` (default: this project's champion)."""
        from loopml.registry import load_bundle

        return load_bundle(self.store, self.artifacts, ref or f"{self.spec.name}@champion")

    def _model_ref(self, ref: str | None) -> str:
        return ref or f"{self.spec.name}@champion"

    def _runner(self, on_event: Callable[[Any], None] | None) -> Runner:
        """A pipeline runner on this project's stores, stamping the code version."""
        from loopml.pipeline import Runner
        from loopml.pipeline.versioning import code_version

        return Runner(
            self.store,
            self.artifacts,
            self.project.project_id,
            code_version=code_version(self.settings.project_dir),
            on_event=on_event,
        )

    def _label_sets(self) -> list[Any]:
        from loopml.pipeline.lifecycle import LabelSet

        events = self.store.list_events(self.project.project_id, "labels.imported")
        return [
            LabelSet(e.payload["digest"], e.payload["labelled_by"], e.payload["labelled_at"])
            for e in events
        ]

    def _training_rows(self, version: ModelVersion) -> Any:
        """The rows ``version`` was trained on (None when its lineage has none)."""
        import pandas as pd

        digest = version.lineage.get("train_digest")
        if not digest or not self.artifacts.exists(digest):
            return None
        return pd.read_parquet(io.BytesIO(self.artifacts.get_bytes(digest)))

    def _training_sample(self, version: ModelVersion, rows: int = 200) -> Any:
        """Up to ``rows`` training rows of ``version`` (None when its lineage has none)."""
        frame = self._training_rows(version)
        if frame is None:
            return None
        return frame.sample(n=min(rows, len(frame)), random_state=0)
