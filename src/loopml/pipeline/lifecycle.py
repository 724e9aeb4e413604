"""The standard lifecycle as pipeline steps: ingest -> validate -> split -> train ->
evaluate -> gate -> register. Each step is a plain function of its inputs; this module
only wires the stages to the spec and the stores."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from loopml.data.ingest import clean_column_names, file_sha256, read_source
from loopml.data.schema import check_schema, infer_schema
from loopml.data.split import split_frame
from loopml.domain import Schema, Snapshot
from loopml.errors import DataError
from loopml.evaluate.gate import apply_gate, baseline_metrics
from loopml.evaluate.metrics import compute_metrics, pick_best
from loopml.pipeline.step import Step, StepContext
from loopml.registry import register_model
from loopml.spec import ProjectSpec
from loopml.train.bundle import ModelBundle
from loopml.train.train import fit_bundle

SNAPSHOT, SCHEMA, TRAIN, TEST = "snapshot", "schema", "train", "test"
EVALUATION, GATE, REGISTRATION = "evaluation", "gate", "registration"


def lifecycle_steps(spec: ProjectSpec, project_dir: Path) -> list[Step]:
    """The steps of one `loopml run` for ``spec``, with fingerprints from the spec."""
    source = _source_path(spec, project_dir)
    source_hash = file_sha256(source)
    models = [f"model_{kind}" for kind in spec.models.candidates]
    problem = spec.section_hash("problem")
    return [
        Step(
            "ingest",
            _ingest(spec, source, source_hash),
            outputs={SNAPSHOT: "bytes", "ingest": "json"},
            fingerprint=f"{source_hash}:{spec.section_hash('data')}",
        ),
        Step(
            "validate",
            _validate(spec),
            inputs=(SNAPSHOT,),
            outputs={SCHEMA: "json", "violations": "json"},
            fingerprint=spec.section_hash("data", "problem", "features"),
        ),
        Step(
            "split",
            _split(spec),
            inputs=(SNAPSHOT,),
            outputs={TRAIN: "parquet", TEST: "parquet"},
            fingerprint=spec.section_hash("split", "problem"),
        ),
        Step(
            "train",
            _train(spec),
            inputs=(TRAIN, SCHEMA),
            outputs={name: "bytes" for name in models},
            fingerprint=spec.section_hash("models", "features", "problem"),
        ),
        Step(
            "evaluate",
            _evaluate(spec),
            inputs=(TRAIN, TEST, *models),
            outputs={EVALUATION: "json"},
            fingerprint=problem,
        ),
        Step(
            "gate",
            _gate(spec),
            inputs=(EVALUATION,),
            outputs={GATE: "json"},
            fingerprint=problem,
        ),
        Step(
            "register",
            _register(spec),
            inputs=("ingest", SCHEMA, TRAIN, TEST, EVALUATION, GATE, *models),
            outputs={REGISTRATION: "json"},
            fingerprint=spec.name,
        ),
    ]


def _source_path(spec: ProjectSpec, project_dir: Path) -> Path:
    path = Path(spec.data.source.path)
    path = path if path.is_absolute() else project_dir / path
    if not path.is_file():
        raise DataError(
            f"data.source.path: file '{path}' does not exist. "
            "Fix the path in loopml.yaml or restore the file."
        )
    return path


def _ingest(spec: ProjectSpec, source: Path, source_hash: str) -> Any:
    def ingest(ctx: StepContext) -> Mapping[str, Any]:
        ctx.progress(f"reading {source.name}", None)
        frame, column_map = clean_column_names(read_source(source, spec.data.source.format))
        declared = list(spec.data.columns) or list(frame.columns)
        missing = [c for c in declared if c not in frame.columns]
        if missing:
            raise DataError(
                f"{source}: columns {missing} named in loopml.yaml (data.columns) are not in "
                f"the file; it has {list(frame.columns)}"
            )
        frame = frame[declared]
        data = _parquet_bytes(frame)
        snapshot = Snapshot(
            snapshot_id=hashlib.sha256(data).hexdigest(),
            project_id=ctx.project_id,
            source=str(source),
            source_hash=source_hash,
            row_count=len(frame),
            schema=infer_schema(frame),
            created_at=_now(),
            column_map=column_map,
            code_version=ctx.code_version,
        )
        ctx.store.add_snapshot(snapshot)
        info = {
            "snapshot_id": snapshot.snapshot_id,
            "source": str(source),
            "source_hash": source_hash,
            "rows": len(frame),
            "column_map": column_map,
            "renamed": {k: v for k, v in column_map.items() if k != v},
        }
        ctx.log_metrics({"rows": float(len(frame)), "columns": float(frame.shape[1])})
        return {SNAPSHOT: data, "ingest": info}

    return ingest


def _validate(spec: ProjectSpec) -> Any:
    def validate(ctx: StepContext, snapshot: bytes) -> Mapping[str, Any]:
        frame = pd.read_parquet(io.BytesIO(snapshot))
        schema = infer_schema(frame, kinds=spec.data.columns)
        violations = [v.__dict__ for v in check_schema(frame, schema)]
        target = frame[spec.problem.target]
        if target.isna().all():
            raise DataError(f"target column '{spec.problem.target}' holds no values")
        # the model's input signature: the fitted transform imputes, so nulls are allowed
        features = [
            replace(c, nullable=True) for c in schema.columns if c.name in spec.feature_columns
        ]
        ctx.log_metrics({"violations": float(len(violations))})
        return {SCHEMA: Schema(tuple(features)).to_dict(), "violations": violations}

    return validate


def _split(spec: ProjectSpec) -> Any:
    def split(ctx: StepContext, snapshot: bytes) -> Mapping[str, Any]:
        frame = pd.read_parquet(io.BytesIO(snapshot))
        train, test = split_frame(frame, spec.split, spec.problem.target, spec.problem.task)
        ctx.log_metrics({"train_rows": float(len(train)), "test_rows": float(len(test))})
        return {TRAIN: train, TEST: test}

    return split


def _train(spec: ProjectSpec) -> Any:
    def train(ctx: StepContext, train: pd.DataFrame, schema: dict[str, Any]) -> Mapping[str, Any]:
        signature = Schema.from_dict(schema)
        out: dict[str, Any] = {}
        for i, kind in enumerate(spec.models.candidates):
            ctx.progress(f"fitting {kind}", i / len(spec.models.candidates))
            bundle = fit_bundle(kind, train, spec, signature)
            out[f"model_{kind}"] = bundle.to_bytes()
        return out

    return train


def _evaluate(spec: ProjectSpec) -> Any:
    def evaluate(
        ctx: StepContext, train: pd.DataFrame, test: pd.DataFrame, **models: bytes
    ) -> Mapping[str, Any]:
        candidates = {}
        for name, data in models.items():
            kind = name.removeprefix("model_")
            candidates[kind] = compute_metrics(ModelBundle.from_bytes(data), test)
            ctx.log_metrics({f"{kind}.{k}": v for k, v in candidates[kind].items()})
        best = pick_best(candidates, spec.problem.primary_metric)
        baseline = baseline_metrics(train, test, spec)
        return {EVALUATION: {"candidates": candidates, "baseline": baseline, "best": best}}

    return evaluate


def _gate(spec: ProjectSpec) -> Any:
    def gate(ctx: StepContext, evaluation: dict[str, Any]) -> Mapping[str, Any]:
        best = evaluation["best"]
        result = apply_gate(
            evaluation["candidates"][best],
            spec.problem.success_criteria,
            baseline_metrics=evaluation["baseline"],
            primary_metric=spec.problem.primary_metric,
        )
        payload = {
            "model_kind": best,
            "verdict": str(result.verdict),
            "reasons": result.reasons,
            "checks": [c.__dict__ for c in result.checks],
        }
        ctx.store.add_event(ctx.project_id, "gate.verdict", payload)
        return {GATE: payload}

    return gate


def _register(spec: ProjectSpec) -> Any:
    def register(
        ctx: StepContext,
        ingest: dict[str, Any],
        schema: dict[str, Any],
        train: pd.DataFrame,
        test: pd.DataFrame,
        evaluation: dict[str, Any],
        gate: dict[str, Any],
        **models: bytes,
    ) -> Mapping[str, Any]:
        best = evaluation["best"]
        data = models[f"model_{best}"]
        lineage = {
            "snapshot_id": ingest["snapshot_id"],
            "source": ingest["source"],
            "source_hash": ingest["source_hash"],
            "code_version": ctx.code_version,
            "model_kind": best,
            "training_run_id": ctx.parent_run_id,
            "gate": gate["verdict"],
            "train_digest": ctx.input_digest(TRAIN),
            "test_digest": ctx.input_digest(TEST),
        }
        version = register_model(
            ctx.store,
            ctx.project_id,
            spec.name,
            artifact_digest=hashlib.sha256(data).hexdigest(),
            run_id=ctx.run_id,
            signature=Schema.from_dict(schema),
            metrics=evaluation["candidates"][best],
            lineage=lineage,
            champion=gate["verdict"] == "go",
        )
        return {
            REGISTRATION: {
                "model": spec.name,
                "version": version.version,
                "aliases": list(version.aliases),
                "verdict": gate["verdict"],
            }
        }

    return register


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _now() -> datetime:
    return datetime.now(UTC)
