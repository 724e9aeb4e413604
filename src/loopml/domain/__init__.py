"""Frozen dataclasses shared by every layer. No I/O here."""

from loopml.domain.artifacts import ArtifactRef
from loopml.domain.data import ColumnKind, ColumnSchema, Schema, Snapshot
from loopml.domain.deploy import Deployment, Feedback
from loopml.domain.evaluation import CriterionCheck, GateResult, Verdict
from loopml.domain.events import Event
from loopml.domain.monitor import DriftReport, FeatureDrift, PredictionBatch
from loopml.domain.project import Project
from loopml.domain.registry import ModelRef, ModelVersion
from loopml.domain.runs import Metric, Run, RunStatus

__all__ = [
    "ArtifactRef",
    "ColumnKind",
    "ColumnSchema",
    "CriterionCheck",
    "Deployment",
    "DriftReport",
    "Event",
    "FeatureDrift",
    "Feedback",
    "GateResult",
    "Metric",
    "ModelRef",
    "ModelVersion",
    "PredictionBatch",
    "Project",
    "Run",
    "RunStatus",
    "Schema",
    "Snapshot",
    "Verdict",
]
