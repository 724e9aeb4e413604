"""The facade every interface calls: one object per project folder.

Interfaces (CLI, REST, Python) parse their input, call one method here and render the
result. Nothing here prints; long work reports progress through callbacks.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.config import SPEC_FILE, Settings, load_settings
from loopml.domain import (
    Deployment,
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
    from loopml.registry import LoadedModel, VersionDetails
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
    """The latest window's drift (``report``), the report file, every window judged
    (``outcome``: a ``loopml.monitor.checks.MonitorOutcome``) and the policies' actions."""

    report: DriftReport
    report_path: Path
    outcome: Any = None
    actions: list[Any] = field(default_factory=list)


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

    # -- registry: status, approval, aliases, export ----------------------------------

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

    def _model_ref(self, ref: str | None) -> str:
        return ref or f"{self.spec.name}@champion"

    # -- serving and deployments (loopml.serve) ----------------------------------------

    def serving_app(
        self, ref: str | None = None, *, token: str | None = None, **options: Any
    ) -> tuple[Any, ModelVersion]:
        """A FastAPI app for the active deployment (else ``ref``, default the champion)
        that logs every prediction and feedback to this project and follows
        ``loopml deploy`` / ``loopml rollback`` without a restart. ``token`` (default
        ``LOOPML_TOKEN``) guards /predict, /feedback and /admin; ``options`` override
        fields of ``ServeOptions`` (the spec's ``serve`` section gives the defaults)."""
        from loopml.serve.app import ServeOptions, create_app
        from loopml.serve.deploy import StoreDeployments, active_deployment
        from loopml.serve.sink import store_sink

        active = active_deployment(self.store, self.project.project_id)
        if ref is None and active is not None:
            ref = f"{active.model_name}@{active.version}"
        version, bundle = self.load_model(ref)
        settings = self.spec.serve.model_dump(exclude={"host", "port"})
        token = token if token is not None else os.environ.get("LOOPML_TOKEN") or None
        serve_options = ServeOptions(**{**settings, "token": token, **options})
        project_id = self.project.project_id

        def sink_for(v: int, shadow: bool) -> Any:
            return store_sink(self.store, self.artifacts, project_id, version.name, v)

        def feedback(items: list[tuple[str, Any]]) -> int:
            return self.store.add_feedback(project_id, items)

        app = create_app(
            bundle,
            model_name=version.name,
            version=version.version,
            sink_for=sink_for,
            options=serve_options,
            deployments=StoreDeployments(self.store, self.artifacts, project_id, version.name),
            feedback=feedback,
        )
        return app, version

    def start_serving(self, version: ModelVersion, url: str) -> str | None:
        """Record ``version`` as a single deployment unless it is already the active one;
        returns the new deployment's id (for ``stop_serving``) or None."""
        from loopml.serve.deploy import active_deployment, deploy

        active = active_deployment(self.store, self.project.project_id)
        if active is not None and (active.model_name, active.version) == (
            version.name,
            version.version,
        ):
            return None
        return deploy(self.store, self.project.project_id, version, url=url).deployment_id

    def stop_serving(self, deployment_id: str | None) -> None:
        """Mark the deployment ``start_serving`` made as stopped, if it is still active."""
        from loopml.serve.deploy import stop_if_active

        if deployment_id is not None:
            stop_if_active(self.store, self.project.project_id, deployment_id)

    def deploy(
        self,
        ref: str,
        mode: str = "single",
        *,
        percent: float | None = None,
        key: str | None = None,
    ) -> Deployment:
        """Deploy ``ref`` (NAME@VERSION or NAME@ALIAS) in ``mode``; see serve.deploy."""
        from loopml.registry import resolve_model
        from loopml.serve import deploy as deployments

        version = resolve_model(self.store, ref)
        if key is not None and key not in version.signature.names():
            raise DataError(
                f"--key {key!r} is not an input of {version.ref}; "
                f"use one of {', '.join(version.signature.names())}"
            )
        champion = None
        if mode != "single":
            try:
                champion = self.store.get_model_by_alias(version.name, "champion")
            except NotFoundError:
                champion = None
        return deployments.deploy(
            self.store,
            self.project.project_id,
            version,
            mode=mode,
            champion=champion,
            percent=percent,
            key=key,
        )

    def rollback(self) -> tuple[Deployment, Deployment]:
        """Return to the previous deployment: (rolled back, restored)."""
        from loopml.serve.deploy import rollback

        return rollback(self.store, self.project.project_id)

    def list_deployments(self) -> list[Deployment]:
        """This project's deployments, newest first."""
        return self.store.list_deployments(self.project.project_id)

    def package_model(self, ref: str | None, output: Path, *, force: bool = False) -> Path:
        """Write a self-contained serving folder for ``ref`` (see serve.package)."""
        from loopml.registry import resolve_model
        from loopml.serve.package import write_package

        version = resolve_model(self.store, self._model_ref(ref))
        data = self.artifacts.get_bytes(version.artifact_digest)
        meta = {
            "name": version.name,
            "version": version.version,
            "signature": version.signature.to_dict(),
            "metrics": dict(version.metrics),
        }
        return write_package(self._path(output), data, meta, force=force)

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
            row = _read_json_row(self._path(row_file))
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

    def _training_sample(self, version: ModelVersion, rows: int = 200) -> Any:
        """Up to ``rows`` training rows of ``version`` (None when its lineage has none)."""
        import pandas as pd

        digest = version.lineage.get("train_digest")
        if not digest or not self.artifacts.exists(digest):
            return None
        frame = pd.read_parquet(io.BytesIO(self.artifacts.get_bytes(digest)))
        return frame.sample(n=min(rows, len(frame)), random_state=0)

    def predict_file(
        self,
        ref: str | None,
        source: Path,
        output: Path,
        *,
        chunk_rows: int = 100_000,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> int:
        """Score ``source`` (CSV/Parquet in chunks; TSV/JSON whole) into ``output``
        (.csv or .parquet), calling ``progress(rows_done, total_or_None)`` per chunk."""
        from loopml.serve.batch import score_file

        version, bundle = self.load_model(ref)
        return score_file(
            bundle,
            self._path(source),
            self._path(output),
            chunk_rows=chunk_rows,
            progress=progress,
            where=version.ref,
        )

    def _path(self, path: Path) -> Path:
        """``path`` relative to the project folder unless absolute."""
        return self.settings.project_dir / path

    # -- monitoring -----------------------------------------------------------------

    def monitor(self, ref: str | None = None) -> MonitorResult:
        """Judge the served model's logged traffic window by window: drift, data quality,
        live metric (once feedback arrives) and operations. The latest window's alerts
        go through the spec's policies; the check and every action are events; the
        monitoring report is written. SpecError for a policy not available yet."""
        from loopml.monitor.alerts import apply_policies, check_policies

        policies = self.spec.monitor.policies
        check_policies(policies)
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
        )
        path = self._write_monitor_report(version, check, actions)
        return MonitorResult(report, path, outcome, actions)

    def staleness(self) -> dict[str, Any]:
        """Per served version of the project's model: how long until its live metric
        fell past its limit, and which features drifted first (``Staleness`` each)."""
        versions = sorted(
            {b.version for b in self.store.list_prediction_batches(self.spec.name, None)}
        )
        refs = [f"{self.spec.name}@{v}" for v in versions]
        return {ref: self._check_traffic(ref)[1].outcome.staleness for ref in refs}

    def _check_traffic(self, ref: str | None) -> tuple[ModelVersion, Any]:
        import pandas as pd

        from loopml.monitor.performance import make_scorer
        from loopml.monitor.watch import check_traffic
        from loopml.spec import greater_is_better

        version, bundle = self.load_model(ref)
        train_digest = version.lineage.get("train_digest")
        if not train_digest:
            raise NotFoundError(f"{version.ref} records no training data in its lineage")
        reference = pd.read_parquet(io.BytesIO(self.artifacts.get_bytes(train_digest)))
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

    # -- reports --------------------------------------------------------------------

    @property
    def reports_dir(self) -> Path:
        return self.settings.home / "reports"

    def _write_run_report(
        self, evaluation: dict[str, Any], gate: dict[str, Any], registration: dict[str, Any]
    ) -> Path:
        """The evaluation report of the run's model: one self-contained HTML file."""
        from loopml.evaluate.report import render_evaluation

        name, number = registration["model"], registration["version"]
        lineage = dict(self.store.get_model_version(name, number).lineage)
        html = render_evaluation(self.spec, f"{name}@{number}", evaluation, gate, lineage)
        path = self.reports_dir / f"evaluation-{name}-v{number}.html"
        _write_atomic(path, html.encode())
        return path

    def _write_monitor_report(self, version: ModelVersion, check: Any, actions: Any) -> Path:
        from loopml.monitor.dashboard import render_monitoring

        html = render_monitoring(
            check.outcome,
            model_ref=version.ref,
            references=check.references,
            latest=check.latest,
            actions=actions,
        )
        path = self.reports_dir / f"monitor-{version.name}-v{version.version}.html"
        _write_atomic(path, html.encode())
        return path


def load_model(ref: str, project_dir: str | Path = ".") -> LoadedModel:
    """``ref`` (``name@champion``, ``name@3``) loaded for use as a library.

    The store is found as the CLI finds it: ``LOOPML_DB`` and ``LOOPML_ARTIFACTS``, else
    the project's ``.loopml`` folder in ``project_dir`` (no loopml.yaml needed). The
    artifact's sha256 is verified before it is unpickled: IntegrityError otherwise;
    NotFoundError for an unknown model, version or alias.
    """
    from loopml.registry import LoadedModel, load_bundle

    settings = load_settings(project_dir)
    embedded = settings.home / "loopml.db"
    if settings.db_url == f"sqlite:///{embedded}" and not embedded.exists():
        raise NotFoundError(
            f"no loopml project store in {settings.project_dir}: run `loopml run` there, "
            "pass project_dir=, or set LOOPML_DB"
        )
    store = open_metadata_store(settings.db_url)
    try:
        version, bundle = load_bundle(store, open_artifact_store(settings.artifacts_uri), ref)
    finally:
        store.close()
    return LoadedModel(version, bundle)


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


def _read_json_row(path: Path) -> dict[str, Any]:
    """The one JSON object in ``path`` (DataError otherwise)."""
    import json

    try:
        row = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(row, dict):
        kind = type(row).__name__
        raise DataError(f"{path}: expected one JSON object (column: value), got a {kind}")
    return row


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
