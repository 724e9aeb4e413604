"""A pipeline step: a plain function naming its inputs and outputs, and what it is given.

A step function knows nothing of files or storage. It is called as
``func(ctx, **inputs)`` and returns ``{output_name: value}`` with exactly the outputs it
declares; the runner stores each value with the output's codec. It must not change its
input values in place: a later step may be handed the same objects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from loopml.domain import Metric, Run
from loopml.pipeline.codecs import check_codec
from loopml.storage.artifacts.protocols import ArtifactStore
from loopml.storage.metadata.protocols import MetadataStore

EventKind = Literal["start", "reused", "done", "failed", "progress"]


@dataclass(frozen=True)
class Step:
    """One step of a pipeline.

    Args:
        name: unique within the pipeline; the name of the step's runs.
        func: called as ``func(ctx, **inputs)``; returns ``{output name: value}``.
        inputs: output names of earlier steps, passed as keyword arguments.
        outputs: output name -> codec (``parquet``, ``json``, ``pickle`` or ``bytes``).
        fingerprint: a hash of everything else the step depends on (spec sections, the
            source data's hash, its own source code) so that a change re-runs it.

    Raises:
        ValueError: an empty name, an unknown codec, or an output also named as an input.
    """

    name: str
    func: Callable[..., Mapping[str, Any]]
    inputs: tuple[str, ...] = ()
    outputs: Mapping[str, str] = field(default_factory=dict)
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a step needs a name")
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", MappingProxyType(dict(self.outputs)))
        for output, codec in self.outputs.items():
            check_codec(codec, output=f"{self.name}.{output}")
        both = sorted(set(self.inputs) & set(self.outputs))
        if both:
            raise ValueError(f"step '{self.name}' names {both} as both input and output")


@dataclass(frozen=True)
class StepEvent:
    """Something a step did, for an interface to render.

    ``kind`` is ``start``, ``reused``, ``done``, ``failed`` or ``progress``; ``fraction``
    (0 to 1) comes with some progress events, ``duration_s`` with ``done`` and ``failed``.
    """

    step: str
    kind: EventKind
    message: str = ""
    fraction: float | None = None
    duration_s: float | None = None


@dataclass
class StepContext:
    """What a step function is given besides its inputs: its run, the stores, a reporter.

    ``progress(message, fraction)`` reports progress (``fraction`` from 0 to 1, or None);
    ``parent_run_id`` is the pipeline's run; ``input_digests`` the artifact digest of each
    input, by name, for lineage records.
    """

    run_id: str
    project_id: str
    step: str
    store: MetadataStore
    artifacts: ArtifactStore
    progress: Callable[[str, float | None], None] = field(default=lambda message, fraction: None)
    code_version: str = ""
    parent_run_id: str | None = None
    input_digests: Mapping[str, str] = field(default_factory=dict)

    def input_digest(self, name: str) -> str:
        """The artifact digest of input ``name`` (for lineage); KeyError if not an input."""
        try:
            return self.input_digests[name]
        except KeyError:
            known = ", ".join(sorted(self.input_digests)) or "none"
            raise KeyError(f"step '{self.step}' has no input '{name}' (inputs: {known})") from None

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        """Record metric values of this step's run at ``step`` (an epoch, a fold, ...)."""
        self.store.log_metrics(
            self.run_id, [Metric(key, float(value), step) for key, value in metrics.items()]
        )

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Add or replace tags on this step's run."""
        self.store.set_tags(self.run_id, {str(k): str(v) for k, v in tags.items()})


@dataclass(frozen=True)
class StepResult:
    """How one step ended: its run, whether it was reused, and its output digests."""

    step: str
    run: Run
    reused: bool
    outputs: Mapping[str, str]
