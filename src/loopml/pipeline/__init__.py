"""Pipelines of steps, cached by content hash, run and recorded by the ``Runner``."""

from loopml.pipeline.recovery import recover_dead_runs
from loopml.pipeline.runner import PipelineResult, Runner
from loopml.pipeline.step import Step, StepContext, StepEvent, StepResult
from loopml.pipeline.versioning import code_version

__all__ = [
    "PipelineResult",
    "Runner",
    "Step",
    "StepContext",
    "StepEvent",
    "StepResult",
    "code_version",
    "recover_dead_runs",
]
