"""The standard lifecycle as pipeline steps:

    ingest -> validate -> clean -> label -> split -> train -> evaluate -> gate -> register

Each step is a plain function of its inputs; this module only wires the stages to the
spec and the stores. A step whose inputs and spec sections did not change is reused.
"""

from __future__ import annotations

import functools
import hashlib
import io
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from loopml.data.clean import (
    CleaningLog,
    apply_cleaning_log,
    clean_frame,
    cleaner_for,
    example_row,
    source_example,
)
from loopml.data.ingest import clean_column_names
from loopml.data.labels import (
    LINEAGE_COLUMNS,
    apply_label_rules,
    apply_manual_labels,
    label_lineage,
    with_label_source,
)
from loopml.data.schema import infer_schema
from loopml.data.schema_file import load_schema, save_schema
from loopml.data.sources import fingerprint_files, read_sources
from loopml.data.sources.streamed import stream_sources
from loopml.data.split import cv_splitter, sample_holdout, split_frame
from loopml.data.validate import infer_unique, raise_for_failures, validate_frame
from loopml.domain import Schema, Snapshot
from loopml.evaluate.gate import ChampionRule, apply_gate, check_champion
from loopml.features.compile import compile_transform
from loopml.model.bundle import ModelBundle, with_cleaner
from loopml.pipeline.step import Step, StepContext
from loopml.registry import output_schema, register_model, set_challenger
from loopml.spec import FileSource, ProjectSpec
from loopml.spec.model import Sample
from loopml.train.search import fit_default, fit_final, run_search
from loopml.train.train import infer_signature

SNAPSHOT, VALIDATION, CLEANED, CLEANING = "snapshot", "validation", "cleaned", "cleaning"
LABELLED, LABELS, TRAIN, TEST = "labelled", "labels", "train", "test"
SIGNATURE, EVALUATION, GATE, REGISTRATION = "signature", "evaluation", "gate", "registration"
SEARCH, MODEL, LINEAR = "search", "model", "model_linear"
FITTED, SAMPLE = "model_fitted", "holdout_sample"


@dataclass(frozen=True)
class Retraining:
    """A run that retrains on fresh data: ``traffic`` is the digest of a Parquet artifact of
    feedback-labelled traffic (features and target) appended to the training part after
    the split (never to the hold-out), cleaned as training rows are; the version it
    registers becomes ``challenger``, never champion, whatever the gate says."""

    traffic: str | None


@dataclass(frozen=True)
class LabelSet:
    """Labels imported by a person: an artifact of (key..., target) rows."""

    digest: str
    labelled_by: str
    labelled_at: str


def lifecycle_steps(
    spec: ProjectSpec,
    project_dir: Path,
    env: Mapping[str, str],
    label_sets: Sequence[LabelSet] = (),
    store_url: str = "",
    retrain: Retraining | None = None,
    storage_options: Mapping[str, Any] | None = None,
    cluster: str | None = None,
) -> list[Step]:
    """The steps of one `loopml run` for ``spec``, with fingerprints from the spec.

    ``store_url`` lets the search's worker processes open the metadata store; with
    ``retrain`` the run is a retraining (see ``Retraining``); ``storage_options`` go to
    fsspec for file sources on object storage; ``cluster`` is the Dask cluster the
    search runs on (the ``cluster`` setting; None: ``models.search.workers`` processes)."""
    steps = model_steps(spec, store_url, retrain, cluster)
    return data_steps(spec, project_dir, env, label_sets, storage_options) + steps


def data_steps(
    spec: ProjectSpec,
    project_dir: Path,
    env: Mapping[str, str],
    label_sets: Sequence[LabelSet] = (),
    storage_options: Mapping[str, Any] | None = None,
) -> list[Step]:
    """ingest -> validate -> clean -> label: the data part, also run alone by `label export`."""
    schema_path = project_dir / spec.data.schema_file
    labels_print = ",".join(f"{s.digest}:{s.labelled_by}" for s in label_sets)
    return [
        Step(
            "ingest",
            _ingest(spec, project_dir, env, storage_options),
            outputs={SNAPSHOT: "bytes", "ingest": "json"},
            fingerprint=(
                f"{sources_fingerprint(spec, project_dir, storage_options, env)}:"
                f"{spec.section_hash('data')}"
            ),
        ),
        Step(
            "validate",
            _validate(spec, schema_path),
            inputs=(SNAPSHOT,),
            outputs={VALIDATION: "json"},
            fingerprint=f"{_file_hash(schema_path)}:{spec.section_hash('data')}",
        ),
        Step(
            "clean",
            _clean(spec),
            inputs=(SNAPSHOT, VALIDATION, "ingest"),
            outputs={CLEANED: "parquet", CLEANING: "json"},
            fingerprint=spec.section_hash("data", "problem", "split"),
        ),
        Step(
            "label",
            _label(spec, label_sets),
            inputs=(CLEANED,),
            outputs={LABELLED: "parquet", LABELS: "json"},
            fingerprint=f"{spec.section_hash('data', 'problem')}:{labels_print}",
        ),
    ]


def model_steps(
    spec: ProjectSpec,
    store_url: str = "",
    retrain: Retraining | None = None,
    cluster: str | None = None,
) -> list[Step]:
    """split -> train (search) -> evaluate -> gate -> register.

    train fits the model; evaluate chooses its decision threshold and writes the bundle
    that is registered (``model``). The gate scores the current champion on the same
    hold-out; with ``evaluation.beat_champion`` its verdict depends on the champion, so
    it runs every time (a new champion is never compared stale); without the rule the
    comparison is the champion of the run that judged the model.
    """
    models = (MODEL, LINEAR)
    judged = spec.section_hash("problem", "evaluation")
    gate_print = judged if spec.evaluation.beat_champion is None else f"{judged}:{uuid.uuid4()}"
    return [
        Step(
            "split",
            _split(spec, retrain.traffic if retrain else None),
            inputs=(LABELLED, CLEANING),
            outputs={TRAIN: "parquet", TEST: "parquet", SAMPLE: "parquet"},
            fingerprint=f"{spec.section_hash('split', 'problem')}:{retrain and retrain.traffic}",
        ),
        Step(
            "train",
            _train(spec, store_url, cluster),
            inputs=(TRAIN, CLEANING),
            outputs={SIGNATURE: "json", SEARCH: "json", FITTED: "bytes", LINEAR: "bytes"},
            fingerprint=spec.section_hash("models", "features", "problem", "data", "split"),
        ),
        Step(
            "evaluate",
            _evaluate(spec),
            inputs=(TRAIN, TEST, SAMPLE, SEARCH, FITTED, LINEAR),
            outputs={EVALUATION: "json", MODEL: "bytes"},
            fingerprint=judged,
        ),
        Step(
            "gate",
            _gate(spec),
            inputs=(EVALUATION, TEST, MODEL),
            outputs={GATE: "json"},
            fingerprint=gate_print,
        ),
        Step(
            "register",
            _register(spec, challenger=retrain is not None),
            inputs=("ingest", LABELS, SIGNATURE, SEARCH, TRAIN, TEST, EVALUATION, GATE, *models),
            outputs={REGISTRATION: "json"},
            fingerprint=f"{spec.name}:{'retrain' if retrain else ''}",
        ),
    ]


def sources_fingerprint(
    spec: ProjectSpec,
    project_dir: Path,
    storage_options: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Files are fingerprinted by their content (objects on object storage by their ETag
    and size); SQL and HTTP sources can only be known by reading them, so they get a
    fresh value and the ingest step always runs (an unchanged result still makes the
    same snapshot, and every later step is reused)."""
    parts = []
    for source in spec.data.all_sources:
        if isinstance(source, FileSource):
            parts.append(fingerprint_files(source, project_dir, storage_options, env))
        else:
            parts.append(uuid.uuid4().hex)
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"


def _ingest(
    spec: ProjectSpec,
    project_dir: Path,
    env: Mapping[str, str],
    storage_options: Mapping[str, Any] | None = None,
) -> Any:
    def ingest(ctx: StepContext) -> Mapping[str, Any]:
        if spec.data.sample is not None:
            return _ingest_sample(ctx, spec, spec.data.sample, project_dir, env, storage_options)
        result = read_sources(
            spec.data.all_sources,
            spec.data.combine,
            project_dir,
            env,
            progress=lambda message: ctx.progress(message, None),
            storage_options=storage_options,
        )
        frame, column_map = clean_column_names(result.frame)
        data = _parquet_bytes(frame)
        details: dict[str, Any] = {
            "sources": [s.to_dict() for s in result.sources],
            "combine": spec.data.combine.model_dump(mode="json"),
        }
        snapshot = Snapshot(
            snapshot_id=hashlib.sha256(data).hexdigest(),
            project_id=ctx.project_id,
            source=", ".join(f"{s.name}={s.location}" for s in result.sources),
            source_hash=result.source_hash,
            row_count=len(frame),
            schema=infer_schema(frame),
            created_at=datetime.now(UTC),
            column_map=column_map,
            code_version=ctx.code_version,
            details=details,
        )
        ctx.store.add_snapshot(snapshot)
        ctx.log_metrics({"rows": float(len(frame)), "columns": float(frame.shape[1])})
        info = {
            "snapshot_id": snapshot.snapshot_id,
            "source": snapshot.source,
            "source_hash": result.source_hash,
            "sources": details["sources"],
            "rows": len(frame),
            "column_map": column_map,
        }
        return {SNAPSHOT: data, "ingest": info}

    return ingest


def _ingest_sample(
    ctx: StepContext,
    spec: ProjectSpec,
    sample: Sample,
    project_dir: Path,
    env: Mapping[str, str],
    storage_options: Mapping[str, Any] | None,
) -> Mapping[str, Any]:
    """``data.sample``: the file sources streamed to the full snapshot in the artifact
    store (recorded, and named by every model's lineage); a seeded sample of its rows is
    the ``snapshot`` later steps read."""
    files = [s for s in spec.data.all_sources if isinstance(s, FileSource)]
    streamed = stream_sources(
        files,
        project_dir,
        ctx.artifacts,
        sample_rows=sample.rows,
        seed=sample.seed,
        batch_rows=sample.batch_rows,
        env=env,
        storage_options=storage_options,
        progress=ctx.progress,
    )
    data = _table_bytes(streamed.sample)
    frame = pd.read_parquet(io.BytesIO(data))
    ctx.progress(
        f"streamed {streamed.rows:,} rows in {streamed.batches} batches to snapshot "
        f"{streamed.ref.digest[:12]}; training on a sample of {len(frame):,}",
        1.0,
    )
    details: dict[str, Any] = {
        "sources": [s.to_dict() for s in streamed.sources],
        "combine": spec.data.combine.model_dump(mode="json"),
        "sample": sample.model_dump(mode="json") | {"sample_rows": len(frame)},
    }
    snapshot = Snapshot(
        snapshot_id=streamed.ref.digest,
        project_id=ctx.project_id,
        source=", ".join(f"{s.name}={s.location}" for s in streamed.sources),
        source_hash=streamed.source_hash,
        row_count=streamed.rows,
        schema=infer_schema(frame),
        created_at=datetime.now(UTC),
        column_map=streamed.column_map,
        code_version=ctx.code_version,
        details=details,
    )
    ctx.store.add_snapshot(snapshot)
    metrics = {"rows": streamed.rows, "sample_rows": len(frame), "columns": frame.shape[1]}
    ctx.log_metrics({k: float(v) for k, v in metrics.items()})
    info = {
        "snapshot_id": snapshot.snapshot_id,
        "source": snapshot.source,
        "source_hash": streamed.source_hash,
        "sources": details["sources"],
        "rows": streamed.rows,
        "sample_rows": len(frame),
        "sample_digest": hashlib.sha256(data).hexdigest(),
        "column_map": streamed.column_map,
    }
    return {SNAPSHOT: data, "ingest": info}


def _validate(spec: ProjectSpec, schema_path: Path) -> Any:
    def validate(ctx: StepContext, snapshot: bytes) -> Mapping[str, Any]:
        frame = pd.read_parquet(io.BytesIO(snapshot))
        if schema_path.is_file():
            schema, unique = load_schema(schema_path)
            created = False
        else:
            schema = infer_schema(frame)
            unique = infer_unique(frame, schema)
            save_schema(schema, schema_path, unique=unique)
            created = True
        validation = spec.data.validation
        report = validate_frame(
            frame,
            schema,
            unique=unique,
            checks=validation.checks,
            fail_on=validation.fail_on,
        )
        ctx.log_metrics(
            {"failures": float(len(report.failed)), "warnings": float(len(report.warnings))}
        )
        ctx.set_tags({"schema_file": str(schema_path), "schema_created": str(created).lower()})
        raise_for_failures(report, str(schema_path))
        strict = [c.name for c in schema.columns if not c.nullable]  # kept in the signature
        return {VALIDATION: {**report.to_dict(), "schema_created": created, "not_nullable": strict}}

    return validate


def _clean(spec: ProjectSpec) -> Any:
    def clean(
        ctx: StepContext, snapshot: bytes, validation: dict[str, Any], ingest: dict[str, Any]
    ) -> Mapping[str, Any]:
        frame = pd.read_parquet(io.BytesIO(snapshot))
        split_columns = [spec.split.time_column, spec.split.group_column]
        protect = [*spec.data.key, *[c for c in split_columns if c]]
        cleaned, log = clean_frame(
            frame,
            spec.data.cleaning,
            target=spec.problem.target,
            schema=None,
            protect=protect,
        )
        ctx.log_metrics({f"clean.{action}": float(n) for action, n in log.counts().items()})
        column_map = ingest.get("column_map", {})
        record = log.to_dict() | {"column_map": column_map, "example": example_row(frame)}
        record["not_nullable"] = validation.get("not_nullable", [])
        return {CLEANED: cleaned, CLEANING: record}

    return clean


def _label(spec: ProjectSpec, label_sets: Sequence[LabelSet]) -> Any:
    target = spec.problem.target

    def label(ctx: StepContext, cleaned: pd.DataFrame) -> Mapping[str, Any]:
        frame = with_label_source(cleaned, target)
        frame, rule_counts = apply_label_rules(frame, target, spec.data.labels.rules)
        applied = []
        for label_set in label_sets:
            labels = pd.read_parquet(io.BytesIO(ctx.artifacts.get_bytes(label_set.digest)))
            frame, count, unknown = apply_manual_labels(
                frame,
                target,
                list(spec.data.key),
                labels,
                label_set.labelled_by,
                datetime.fromisoformat(label_set.labelled_at),
            )
            applied.append({**label_set.__dict__, "applied": count, "unknown_keys": unknown})
        lineage = label_lineage(frame, target)
        ctx.log_metrics({f"labels.{source}": float(n) for source, n in lineage.items()})
        return {
            LABELLED: frame,
            LABELS: {"sources": lineage, "rules": rule_counts, "label_sets": applied},
        }

    return label


def _split(spec: ProjectSpec, traffic: str | None) -> Any:
    def split(
        ctx: StepContext, labelled: pd.DataFrame, cleaning: dict[str, Any]
    ) -> Mapping[str, Any]:
        frame = labelled.drop(columns=[c for c in LINEAGE_COLUMNS if c in labelled.columns])
        frame = frame[frame[spec.problem.target].notna()]
        target, task = spec.problem.target, spec.problem.task
        train, test = split_frame(frame, spec.split, target, task)
        train, sample = sample_holdout(train, spec.split, target, task)
        metrics = {"train_rows": len(train), "test_rows": len(test), "sample_rows": len(sample)}
        if traffic is not None:
            cleaned = CleaningLog.from_dict(cleaning)
            extra = _traffic_rows(ctx, traffic, train, cleaned, spec.split.time_column)
            train = pd.concat([train, extra], ignore_index=True)
            metrics.update(train_rows=len(train), traffic_rows=len(extra))
        ctx.log_metrics({k: float(v) for k, v in metrics.items()})
        return {TRAIN: train, TEST: test, SAMPLE: sample}

    return split


def _traffic_rows(
    ctx: StepContext, digest: str, train: pd.DataFrame, log: CleaningLog, time_column: str | None
) -> pd.DataFrame:
    """The feedback-labelled traffic cleaned like training rows, in the training columns.

    Columns the traffic lacks (excluded ones) stay empty, except the split's time column,
    which takes the time of the prediction: the traffic is newer than every training row.
    """
    rows = pd.read_parquet(io.BytesIO(ctx.artifacts.get_bytes(digest)))
    served_at = rows.pop("predicted_at") if "predicted_at" in rows.columns else None
    rows = apply_cleaning_log(rows, log)
    if time_column and time_column not in rows.columns and served_at is not None:
        rows[time_column] = _as_time_like(served_at, train[time_column])
    rows = rows.reindex(columns=train.columns)
    for column in train.columns:
        if rows[column].isna().all() or train[column].dtype == rows[column].dtype:
            continue
        rows[column] = rows[column].astype(train[column].dtype, errors="ignore")
    return rows


def _as_time_like(times: pd.Series, like: pd.Series) -> pd.Series:
    """``times`` (UTC) in the time zone, or none, of ``like``."""
    times = pd.to_datetime(times, utc=True)
    if isinstance(like.dtype, pd.DatetimeTZDtype):
        return times.dt.tz_convert(like.dtype.tz)
    return times.dt.tz_localize(None)


def _train(spec: ProjectSpec, store_url: str, cluster: str | None = None) -> Any:
    task, target = spec.problem.task, spec.problem.target

    def train(ctx: StepContext, train: pd.DataFrame, cleaning: dict[str, Any]) -> Mapping[str, Any]:
        signature = infer_signature(train, spec, cleaning.get("not_nullable", ()))
        make_transform = functools.partial(
            compile_transform, signature, spec.features, task, random_state=spec.models.random_state
        )
        cleaner = cleaner_for(
            CleaningLog.from_dict(cleaning),
            column_map=cleaning.get("column_map"),
            columns=spec.feature_columns,
        ).fit(train[spec.feature_columns])
        example = source_example(cleaning, spec.feature_columns)
        search = spec.models.search
        if search.trials > 0:
            result = run_search(
                train,
                spec,
                make_transform=make_transform,
                store=ctx.store,
                project_id=ctx.project_id,
                parent_run_id=ctx.run_id,
                snapshot_id=ctx.input_digest(TRAIN),
                cv_splits=cv_splitter(spec.split, task, search.folds, train, target),
                store_url=store_url or None,
                progress=ctx.progress,
                cluster=cluster,
            )
            ctx.progress(f"refitting {result.algorithm} on every training row", None)
            best = fit_final(train, spec, result, make_transform, signature)
            summary: dict[str, Any] = {"selected_by": "cross-validation", **result.to_dict()}
        else:  # no search: the first candidate with its default parameters
            kind = spec.models.candidates[0]
            best = fit_default(kind, train, spec, make_transform, signature)
            summary = {"selected_by": "first candidate", "algorithm": kind}
        ctx.progress("fitting the linear baseline", None)
        linear = fit_default("linear", train, spec, make_transform, signature)
        for bundle in (best, linear):
            bundle.pipeline = with_cleaner(bundle.pipeline, cleaner)
            bundle.info["input_example"] = example
        return {
            SIGNATURE: signature.to_dict(),
            SEARCH: summary,
            FITTED: best.to_bytes(),
            LINEAR: linear.to_bytes(),
        }

    return train


def _evaluate(spec: ProjectSpec) -> Any:
    from loopml.evaluate.evaluation import evaluate_candidates, split_holdouts

    def evaluate(
        ctx: StepContext,
        train: pd.DataFrame,
        test: pd.DataFrame,
        holdout_sample: pd.DataFrame,
        search: dict[str, Any],
        model_fitted: bytes,
        model_linear: bytes,
    ) -> Mapping[str, Any]:
        best = search["algorithm"]
        bundles = {best: ModelBundle.from_bytes(model_fitted)}
        if best != "linear":
            bundles["linear"] = ModelBundle.from_bytes(model_linear)
        evaluation = evaluate_candidates(
            bundles,
            best,
            split_holdouts(spec.split, test, holdout_sample),
            train,
            spec,
            progress=lambda message: ctx.progress(message, None),
        )
        for kind, metrics in evaluation["candidates"].items():
            ctx.log_metrics({f"{kind}.{k}": v for k, v in metrics.items()})
        evaluation.update(selected_by=search["selected_by"], cv_score=search.get("score"))
        return {EVALUATION: evaluation, MODEL: bundles[best].to_bytes()}

    return evaluate


def _find_champion(ctx: StepContext, spec: ProjectSpec) -> dict[str, Any]:
    """The current champion's ref and digest; None for both when there is none or it is
    the very model being judged."""
    from loopml.errors import NotFoundError
    from loopml.registry import resolve_model

    try:
        version = resolve_model(ctx.store, f"{spec.name}@champion")
    except NotFoundError:
        return {"ref": None, "digest": None}
    if version.artifact_digest == ctx.input_digest(MODEL):
        return {"ref": None, "digest": None}
    return {"ref": version.ref, "digest": version.artifact_digest}


def _gate(spec: ProjectSpec) -> Any:
    def gate(
        ctx: StepContext, evaluation: dict[str, Any], test: pd.DataFrame, model: bytes
    ) -> Mapping[str, Any]:
        best = evaluation["best"]
        holdout = evaluation["holdouts"][evaluation["gated"]]
        champion = _find_champion(ctx, spec)
        compared = _score_champion(ctx, champion, test)
        rule = spec.evaluation.beat_champion
        champion_rule = None
        if rule is not None:
            metric = rule.metric or spec.problem.primary_metric
            champion_rule = ChampionRule(
                metric, rule.by, champion["ref"], (compared or {}).get("metrics")
            )
        result = apply_gate(
            holdout["metrics"],
            spec.problem.success_criteria,
            baseline_metrics=evaluation["baseline"],
            primary_metric=spec.problem.primary_metric,
            intervals=holdout["intervals"],
            champion=champion_rule,
            references={"linear": evaluation["candidates"].get("linear") or {}},
        )
        payload = {
            "model_kind": best,
            "verdict": str(result.verdict),
            "reasons": result.reasons,
            "checks": [c.__dict__ for c in result.checks],
            "holdout": evaluation["gated"],
            "champion": compared,
        }
        ctx.store.add_event(ctx.project_id, "gate.verdict", payload)
        return {GATE: payload}

    return gate


def _score_champion(
    ctx: StepContext, champion: dict[str, Any], test: pd.DataFrame
) -> dict[str, Any] | None:
    """The current champion's metrics on the gated hold-out (None when there is none)."""
    from loopml.errors import LoopMLError
    from loopml.evaluate.holdout import score_rows
    from loopml.registry import load_bundle

    if champion["ref"] is None:
        return None
    try:
        _, bundle = load_bundle(ctx.store, ctx.artifacts, champion["ref"])
        metrics = score_rows(bundle, test).metrics()
    except LoopMLError as exc:
        return {"ref": champion["ref"], "error": str(exc)}
    return {"ref": champion["ref"], "digest": champion["digest"], "metrics": metrics}


def _register(spec: ProjectSpec, challenger: bool = False) -> Any:
    def register(
        ctx: StepContext,
        ingest: dict[str, Any],
        labels: dict[str, Any],
        signature: dict[str, Any],
        search: dict[str, Any],
        train: pd.DataFrame,
        test: pd.DataFrame,
        evaluation: dict[str, Any],
        gate: dict[str, Any],
        model: bytes,
        model_linear: bytes,
    ) -> Mapping[str, Any]:
        best = evaluation["best"]
        data = model
        lineage = {
            "snapshot_id": ingest["snapshot_id"],
            "source": ingest["source"],
            "source_hash": ingest["source_hash"],
            "sources": ingest["sources"],
            "label_sources": labels["sources"],
            "label_sets": labels["label_sets"],
            "code_version": ctx.code_version,
            "model_kind": best,
            "params": search.get("params", {}),
            "selected_by": search["selected_by"],
            "cv_score": search.get("score"),
            "training_run_id": ctx.parent_run_id,
            "gate": gate["verdict"],
            "train_digest": ctx.input_digest(TRAIN),
            "test_digest": ctx.input_digest(TEST),
            "output_schema": output_schema(ModelBundle.from_bytes(data)),
        }
        check = _champion_check(ctx, spec, gate, test, evaluation["candidates"][best])
        if check is not None:
            lineage["champion_check"] = check
        promote = gate["verdict"] == "go" and (check is None or bool(check["promote"]))
        held_back = gate["verdict"] == "go" and not promote and not challenger
        version = register_model(
            ctx.store,
            ctx.project_id,
            spec.name,
            artifact_digest=hashlib.sha256(data).hexdigest(),
            run_id=ctx.run_id,
            signature=Schema.from_dict(signature),
            metrics=evaluation["candidates"][best],
            lineage=lineage,
            champion=promote and not challenger,
            require_approval=spec.registry.require_approval,
            approvers=spec.registry.approvers,
        )
        if challenger or held_back:
            set_challenger(ctx.store, ctx.project_id, spec.name, version.version)
            version = ctx.store.get_model_version(spec.name, version.version)
        awaiting = promote and spec.registry.require_approval
        return {
            REGISTRATION: {
                "model": spec.name,
                "version": version.version,
                "aliases": list(version.aliases),
                "verdict": gate["verdict"],
                "approval": "awaiting approval" if awaiting else None,
                "champion_check": check,
            }
        }

    return register


def _champion_check(
    ctx: StepContext,
    spec: ProjectSpec,
    gate: dict[str, Any],
    test: pd.DataFrame,
    metrics: Mapping[str, float],
) -> dict[str, Any] | None:
    """``registry.champion``: the new version against the champion of this moment on the
    gated hold-out (the gate's scores of it when the champion has not moved since); None
    when the rule is off or the gate said no-go."""
    rule = spec.registry.champion
    if not rule.beat_champion or gate["verdict"] != "go":
        return None
    champion = _find_champion(ctx, spec)
    compared = gate.get("champion")
    if champion["ref"] is None:
        compared = None
    elif not compared or compared.get("digest") != champion["digest"]:
        compared = _score_champion(ctx, champion, test)
    metric = rule.metric or spec.problem.primary_metric
    check = check_champion(metrics, compared, metric, rule.tolerance)
    if not check.promote:
        payload = {"model": spec.name, "reason": check.reason, "champion": check.ref}
        ctx.store.add_event(ctx.project_id, "model.held_back", payload)
    return check.to_dict()


def _table_bytes(table: Any) -> bytes:
    """A pyarrow Table as Parquet bytes."""
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()
