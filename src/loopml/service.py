"""The facade every interface calls: one object per project folder.

Interfaces (CLI, REST, Python) parse their input, call one method here and render the
result. Nothing here prints; long work reports progress through callbacks.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.config import SPEC_FILE, Settings, load_settings
from loopml.domain import (
    DriftReport,
    Event,
    Metric,
    ModelVersion,
    Project,
    Run,
    RunStatus,
    Snapshot,
)
from loopml.errors import ConflictError, DataError, NotFoundError, SpecError
from loopml.spec import ProjectSpec, dump_spec, load_spec
from loopml.storage.artifacts import open_artifact_store
from loopml.storage.artifacts.protocols import ArtifactStore
from loopml.storage.metadata import open_metadata_store
from loopml.storage.metadata.protocols import Condition, MetadataStore

if TYPE_CHECKING:
    from loopml.tracking.compare import Comparison
    from loopml.tracking.query import RunTable


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


@dataclass(frozen=True)
class MonitorResult:
    report: DriftReport
    report_path: Path


def init_project(
    data: str | Path,
    target: str,
    project_dir: str | Path = ".",
    *,
    name: str | None = None,
    exclude: list[str] | None = None,
    force: bool = False,
) -> tuple[Path, ProjectSpec, dict[str, str]]:
    """Infer a spec from ``data`` and write ``loopml.yaml`` in ``project_dir``.

    Raises DataError (missing/empty file, unknown target, one class) and ConflictError
    when a spec exists and ``force`` is False. Nothing is written on error. Returns the
    spec's path, the spec and the mapping of original to cleaned column names.
    """
    from loopml.data.clean import clean_frame
    from loopml.data.infer import infer_spec
    from loopml.data.ingest import clean_column_names, read_source
    from loopml.data.schema import infer_schema
    from loopml.data.schema_file import save_schema
    from loopml.data.validate import infer_unique
    from loopml.spec import CleaningSpec

    root = Path(project_dir).resolve()
    spec_path = root / SPEC_FILE
    if spec_path.exists() and not force:
        raise ConflictError(f"{spec_path} already exists; pass --force to overwrite it")
    data_path = (root / data).resolve()
    raw, column_map = clean_column_names(read_source(data_path))
    source = os.path.relpath(data_path, root) if data_path.is_relative_to(root) else data_path
    frame, _ = clean_frame(raw, CleaningSpec(), target=_target_name(raw, target, column_map))
    spec = infer_spec(
        frame,
        target=target,
        source_path=str(source),
        column_map=column_map,
        name=name or root.name,
        exclude=exclude or (),
    )
    schema = infer_schema(raw)
    save_schema(schema, root / spec.data.schema_file, unique=infer_unique(raw, schema))
    _write_atomic(spec_path, dump_spec(spec).encode())
    return spec_path, spec, column_map


def _target_name(frame: Any, target: str, column_map: dict[str, str]) -> str:
    from loopml.data.infer import resolve_target

    return resolve_target(frame, target, column_map)


class ProjectService:
    """Everything loopml does for the project in one folder."""

    def __init__(self, settings: Settings, spec: ProjectSpec) -> None:
        self.settings = settings
        self.spec = spec

    @classmethod
    def open(cls, project_dir: str | Path = ".") -> ProjectService:
        """Open the project whose ``loopml.yaml`` is in ``project_dir`` (SpecError if none)."""
        settings = load_settings(project_dir)
        return cls(settings, load_spec(settings.project_dir / SPEC_FILE))

    @cached_property
    def store(self) -> MetadataStore:
        return open_metadata_store(self.settings.db_url)

    @cached_property
    def artifacts(self) -> ArtifactStore:
        return open_artifact_store(self.settings.artifacts_uri)

    @cached_property
    def project(self) -> Project:
        return self.store.ensure_project(self.spec.name)

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()

    # -- the pipeline ---------------------------------------------------------------

    def run(self, on_event: Callable[[Any], None] | None = None) -> RunSummary:
        """Run the lifecycle; unchanged steps are reused. Raises StageError on failure."""
        from loopml.pipeline import Runner
        from loopml.pipeline.lifecycle import (
            CLEANING,
            EVALUATION,
            GATE,
            REGISTRATION,
            VALIDATION,
            lifecycle_steps,
        )
        from loopml.pipeline.versioning import code_version

        steps = lifecycle_steps(
            self.spec,
            self.settings.project_dir,
            os.environ,
            self._label_sets(),
            store_url=self.settings.db_url,
        )
        runner = Runner(
            self.store,
            self.artifacts,
            self.project.project_id,
            code_version=code_version(self.settings.project_dir),
            on_event=on_event,
        )
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
        )

    # -- profile --------------------------------------------------------------------

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
            title=f"{self.spec.name}: snapshot {result.outputs[SNAPSHOT][:12]}",
        )
        path = self._path(output) if output else self.reports_dir / f"profile-{self.spec.name}.html"
        _write_atomic(path, render_profile(profile).encode())
        return path, profile

    # -- labels ---------------------------------------------------------------------

    def _label_sets(self) -> list[Any]:
        from loopml.pipeline.lifecycle import LabelSet

        events = self.store.list_events(self.project.project_id, "labels.imported")
        return [
            LabelSet(e.payload["digest"], e.payload["labelled_by"], e.payload["labelled_at"])
            for e in events
        ]

    def _run_data_steps(
        self, on_event: Callable[[Any], None] | None, name: str, only_ingest: bool = False
    ) -> Any:
        from loopml.pipeline import Runner
        from loopml.pipeline.lifecycle import data_steps
        from loopml.pipeline.versioning import code_version

        steps = data_steps(self.spec, self.settings.project_dir, os.environ, self._label_sets())
        steps = steps[:1] if only_ingest else steps
        runner = Runner(
            self.store,
            self.artifacts,
            self.project.project_id,
            code_version=code_version(self.settings.project_dir),
            on_event=on_event,
        )
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

    # -- runs -----------------------------------------------------------------------

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
    ) -> RunTable:
        """Runs matching every condition (``"roc_auc > 0.8"``, ``"params.lr < 0.1"``,
        ``"tags.state == pruned"``), with the latest value of the metrics they name.

        ``parent`` (an id or prefix) keeps the children of that run (a search's trials);
        ``order_by`` is a metric key or name/status/duration, ``-`` first for descending.
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
        _write_atomic(path, comparison_html(comparison).encode())
        return replace(comparison, report_path=path)

    def list_events(self, kind: str | None = None) -> list[Event]:
        return self.store.list_events(self.project.project_id, kind)

    # -- data -----------------------------------------------------------------------

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
        )

    def lineage(self, ref: str | None = None) -> tuple[ModelVersion, Snapshot]:
        """A model version with the snapshot it was trained on (sources, hashes, query)."""
        from loopml.registry import resolve_model

        version = resolve_model(self.store, ref or f"{self.spec.name}@champion")
        return version, self.store.get_snapshot(version.lineage["snapshot_id"])

    # -- models ---------------------------------------------------------------------

    def list_models(self) -> list[ModelVersion]:
        return self.store.list_model_versions(self.spec.name)

    def load_model(self, ref: str | None = None) -> tuple[ModelVersion, Any]:
        """The verified bundle for ``ref`` (default: this project's champion)."""
        from loopml.registry import load_bundle

        return load_bundle(self.store, self.artifacts, ref or f"{self.spec.name}@champion")

    def serving_app(self, ref: str | None = None, **options: Any) -> tuple[Any, ModelVersion]:
        """A FastAPI app serving ``ref``, logging every prediction to this project."""
        from loopml.serve.app import create_app
        from loopml.serve.sink import store_sink

        version, bundle = self.load_model(ref)
        sink = store_sink(
            self.store, self.artifacts, self.project.project_id, version.name, version.version
        )
        app = create_app(
            bundle, model_name=version.name, version=version.version, sink=sink, **options
        )
        return app, version

    def record_deployment(self, version: ModelVersion, url: str) -> str:
        deployment = self.store.add_deployment(
            self.project.project_id, version.name, version.version, mode="single", url=url
        )
        self.store.add_event(
            self.project.project_id,
            "deployment.started",
            {"model": version.ref, "url": url, "deployment_id": deployment.deployment_id},
        )
        return deployment.deployment_id

    def end_deployment(self, deployment_id: str) -> None:
        self.store.set_deployment_status(deployment_id, "stopped")

    def predict_file(self, ref: str | None, source: Path, output: Path) -> int:
        """Score ``source`` (CSV/TSV/JSON/Parquet) into ``output`` (.csv or .parquet)."""
        from loopml.data.ingest import clean_column_names, read_source

        version, bundle = self.load_model(ref)
        source, output = self._path(source), self._path(output)
        frame, _ = clean_column_names(read_source(source))
        missing = [c for c in bundle.feature_names if c not in frame.columns]
        if missing:
            raise DataError(
                f"{source}: columns {missing} that {version.ref} needs are missing; "
                f"the file has {list(frame.columns)}"
            )
        prediction = bundle.predict(frame)
        out = frame.copy()
        out["prediction"] = prediction.predictions
        if prediction.probabilities is not None and prediction.probabilities.ndim == 1:
            out["probability"] = prediction.probabilities
        _write_frame(out, output)
        return len(out)

    def _path(self, path: Path) -> Path:
        """``path`` relative to the project folder unless absolute."""
        return self.settings.project_dir / path

    # -- monitoring -----------------------------------------------------------------

    def monitor(self, ref: str | None = None) -> MonitorResult:
        """Drift of each feature between the model's training data and logged traffic."""
        import pandas as pd

        from loopml.monitor.drift import make_drift_report
        from loopml.serve.sink import load_predictions

        version, _ = self.load_model(ref)
        train_digest = version.lineage.get("train_digest")
        if not train_digest:
            raise NotFoundError(f"{version.ref} records no training data in its lineage")
        reference = pd.read_parquet(io.BytesIO(self.artifacts.get_bytes(train_digest)))
        current = load_predictions(self.store, self.artifacts, version.name, version.version)
        if current.empty:
            raise DataError(
                f"no predictions logged for {version.ref} yet; serve it "
                "(`loopml serve`) and send traffic before `loopml monitor`"
            )
        monitor = self.spec.monitor
        report = make_drift_report(
            version.name,
            version.version,
            reference,
            current,
            version.signature,
            threshold=monitor.drift_threshold,
            min_rows=monitor.min_rows,
        )
        self.store.add_event(self.project.project_id, "drift.checked", _drift_payload(report))
        path = self._write_monitor_report(version, report)
        return MonitorResult(report, path)

    # -- reports --------------------------------------------------------------------

    @property
    def reports_dir(self) -> Path:
        return self.settings.home / "reports"

    def _write_run_report(
        self, evaluation: dict[str, Any], gate: dict[str, Any], registration: dict[str, Any]
    ) -> Path:
        from loopml.monitor.report import render_report, report_context

        ref = f"{registration['model']}@{registration['version']}"
        context = report_context(self.spec, ref, evaluation, gate, None, {})
        path = self.reports_dir / f"run-{registration['model']}-v{registration['version']}.html"
        _write_atomic(path, render_report(context).encode())
        return path

    def _write_monitor_report(self, version: ModelVersion, report: DriftReport) -> Path:
        from loopml.monitor.report import render_report, report_context

        evaluation = {"candidates": {version.lineage.get("model_kind", "model"): version.metrics}}
        gate: dict[str, Any] = {"verdict": version.lineage.get("gate"), "checks": []}
        context = report_context(
            self.spec, version.ref, evaluation, gate, report, dict(version.lineage)
        )
        path = self.reports_dir / f"monitor-{version.name}-v{version.version}.html"
        _write_atomic(path, render_report(context).encode())
        return path


def _drift_payload(report: DriftReport) -> dict[str, Any]:
    return {
        "model": f"{report.model_name}@{report.version}",
        "current_rows": report.current_rows,
        "alert": report.alert,
        "drifted": report.drifted_features,
        "scores": {f.feature: round(f.score, 6) for f in report.features},
    }


def _write_frame(frame: Any, output: Path) -> None:
    suffix = output.suffix.lower()
    if suffix not in {".csv", ".parquet"}:
        raise DataError(f"{output}: write predictions to a .csv or .parquet file")
    buffer = io.BytesIO()
    if suffix == ".csv":
        frame.to_csv(buffer, index=False)
    else:
        frame.to_parquet(buffer, index=False)
    _write_atomic(output, buffer.getvalue())


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
