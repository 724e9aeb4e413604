"""The runner: executes steps in order, reusing any step whose inputs are unchanged.

A pipeline is one parent run; each step is a child run. A step's cache key is the sha256
of its name, the code version, its fingerprint, its declared outputs and the digests of
its inputs, in order. When the metadata store holds a succeeded run with that key whose
outputs are all still in the artifact store, the step is recorded as reused and neither
called nor loaded. Otherwise it runs, and each output is encoded by its codec and stored
as an artifact before the run is marked succeeded, so a step killed mid-way leaves no
output behind (and is marked failed by the next runner, see ``recovery.py``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loopml.domain import Run, RunStatus
from loopml.errors import LoopMLError, StageError
from loopml.pipeline.codecs import decode, encode
from loopml.pipeline.recovery import recover_dead_runs
from loopml.pipeline.step import EventKind, Step, StepContext, StepEvent, StepResult
from loopml.storage.artifacts.protocols import ArtifactStore
from loopml.storage.metadata.protocols import MetadataStore

_CACHE_KEY_VERSION = 1


class _Values:
    """Output values by name: kept in memory when made here, else decoded on first use."""

    def __init__(self, artifacts: ArtifactStore) -> None:
        self._artifacts = artifacts
        self.digests: dict[str, str] = {}
        self.codecs: dict[str, str] = {}
        self._memory: dict[str, Any] = {}

    def add(self, name: str, digest: str, codec: str, value: Any = None, *, loaded: bool) -> None:
        self.digests[name] = digest
        self.codecs[name] = codec
        if loaded:
            self._memory[name] = value

    def get(self, name: str) -> Any:
        if name not in self._memory:
            data = self._artifacts.get_bytes(self.digests[name])  # verifies the sha256
            self._memory[name] = decode(self.codecs[name], data)
        return self._memory[name]


@dataclass
class PipelineResult:
    """The parent run, one result per step, and lazy access to every output value."""

    run: Run
    steps: list[StepResult]
    _values: _Values = field(repr=False)

    @property
    def outputs(self) -> dict[str, str]:
        """Every output's artifact digest, by output name."""
        return dict(self._values.digests)

    def step(self, name: str) -> StepResult:
        """The result of step ``name``; raises KeyError when there is no such step."""
        for result in self.steps:
            if result.step == name:
                return result
        raise KeyError(name)

    def load(self, output: str) -> Any:
        """Return the value of ``output``, decoding it from the artifact store on first use.

        Raises:
            KeyError: no step of the pipeline has this output.
            IntegrityError: the stored artifact is corrupt.
        """
        if output not in self._values.digests:
            known = ", ".join(sorted(self._values.digests)) or "none"
            raise KeyError(f"the pipeline has no output '{output}' (outputs: {known})")
        return self._values.get(output)


class Runner:
    """Runs pipelines of ``Step``s for one project, recording every run in ``store``.

    Args:
        store: the metadata store (runs, artifact index).
        artifacts: where outputs are written.
        project_id: the project the runs belong to.
        code_version: recorded with each run and part of each cache key (see
            ``loopml.pipeline.versioning.code_version``).
        on_event: called with a ``StepEvent`` as steps start, progress, finish or are reused.
    """

    def __init__(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        project_id: str,
        *,
        code_version: str,
        on_event: Callable[[StepEvent], None] | None = None,
    ) -> None:
        self.store = store
        self.artifacts = artifacts
        self.project_id = project_id
        self.code_version = code_version
        self.on_event = on_event

    def run(
        self,
        steps: Sequence[Step],
        *,
        name: str = "pipeline",
        params: Mapping[str, Any] | None = None,
    ) -> PipelineResult:
        """Run ``steps`` in order and return their results.

        First marks failed the runs of this project whose process died and sweeps partial
        artifact writes. ``params`` are recorded on the parent run.

        Raises:
            StageError: a step failed (its run and the parent run are marked failed), or the
                steps are inconsistent (a duplicate name or output, an input no earlier step
                makes); chained to the step's exception.
            LoopMLError: a step raised a loopml error other than ``StageError`` (such as
                ``DataError``); it is re-raised unchanged after the runs are marked failed.
        """
        _check_graph(steps)
        recover_dead_runs(self.store, self.project_id)
        self.artifacts.sweep_partial()
        parent = self.store.create_run(
            self.project_id, name, params=dict(params or {}), code_version=self.code_version
        )
        values = _Values(self.artifacts)
        results: list[StepResult] = []
        try:
            for step in steps:
                results.append(self._run_step(step, parent.run_id, values))
        except BaseException as exc:
            failed = steps[min(len(results), len(steps) - 1)].name
            error = str(exc) if isinstance(exc, StageError) else _describe(exc)
            if not isinstance(exc, StageError):
                error = f"step '{failed}' failed: {error}"
            _record_failure(
                exc, lambda: self.store.finish_run(parent.run_id, RunStatus.FAILED, error=error)
            )
            raise
        parent = self.store.finish_run(
            parent.run_id, RunStatus.SUCCEEDED, outputs=dict(values.digests)
        )
        return PipelineResult(parent, results, values)

    # -- one step ------------------------------------------------------------------------

    def _run_step(self, step: Step, parent_run_id: str, values: _Values) -> StepResult:
        key = cache_key(step, self.code_version, [values.digests[i] for i in step.inputs])
        cached = self.store.find_cached_run(self.project_id, step.name, key)
        if cached is not None and self._reusable(step, cached):
            return self._reuse(step, cached, parent_run_id, key, values)

        self._emit(step.name, "start", f"running {step.name}")
        started = time.perf_counter()
        run = self.store.create_run(
            self.project_id,
            step.name,
            parent_run_id=parent_run_id,
            cache_key=key,
            code_version=self.code_version,
        )
        try:
            inputs = {name: values.get(name) for name in step.inputs}
            ctx = StepContext(
                run_id=run.run_id,
                project_id=self.project_id,
                step=step.name,
                store=self.store,
                artifacts=self.artifacts,
                progress=lambda message, fraction: self._emit(
                    step.name, "progress", message, fraction
                ),
                code_version=self.code_version,
                parent_run_id=parent_run_id,
                input_digests={name: values.digests[name] for name in step.inputs},
            )
            returned = step.func(ctx, **inputs)
            _check_outputs(step, returned)
            digests: dict[str, str] = {}
            for output, codec in step.outputs.items():
                ref = self.artifacts.put_bytes(encode(codec, returned[output], output=output))
                self.store.record_artifact(ref, media_type=codec, run_id=run.run_id)
                digests[output] = ref.digest
            run = self.store.finish_run(run.run_id, RunStatus.SUCCEEDED, outputs=digests)
        except BaseException as exc:
            duration = time.perf_counter() - started
            error = _describe(exc)
            _record_failure(
                exc, lambda: self.store.finish_run(run.run_id, RunStatus.FAILED, error=error)
            )
            self._emit(step.name, "failed", error, duration_s=duration)
            if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit
                raise
            if isinstance(exc, LoopMLError) and not isinstance(exc, StageError):
                raise  # DataError, SpecError, ...: the interface maps the class
            raise StageError(
                f"step '{step.name}' failed (run {run.run_id[:8]}): {exc}",
                step=step.name,
                run_id=run.run_id,
            ) from exc
        for output, codec in step.outputs.items():
            values.add(output, digests[output], codec, returned[output], loaded=True)
        duration = time.perf_counter() - started
        self._emit(step.name, "done", f"{step.name} done", duration_s=duration)
        return StepResult(step.name, run, False, dict(digests))

    def _reusable(self, step: Step, cached: Run) -> bool:
        if set(cached.outputs) != set(step.outputs):
            return False
        return all(self.artifacts.exists(digest) for digest in cached.outputs.values())

    def _reuse(
        self, step: Step, cached: Run, parent_run_id: str, key: str, values: _Values
    ) -> StepResult:
        outputs = {name: cached.outputs[name] for name in step.outputs}
        run = self.store.create_run(
            self.project_id,
            step.name,
            parent_run_id=parent_run_id,
            cache_key=key,
            code_version=self.code_version,
            status=RunStatus.REUSED,
            outputs=outputs,
            tags={"reused_from": cached.run_id},
        )
        for output, codec in step.outputs.items():
            values.add(output, outputs[output], codec, loaded=False)
        self._emit(step.name, "reused", f"from run {cached.run_id[:8]}")
        return StepResult(step.name, run, True, outputs)

    def _emit(
        self,
        step: str,
        kind: EventKind,
        message: str,
        fraction: float | None = None,
        *,
        duration_s: float | None = None,
    ) -> None:
        if self.on_event is not None:
            self.on_event(StepEvent(step, kind, message, fraction, duration_s))


def cache_key(step: Step, code_version: str, input_digests: Sequence[str]) -> str:
    """The sha256 hex that identifies a step's result: same key, same outputs."""
    payload = {
        "v": _CACHE_KEY_VERSION,
        "step": step.name,
        "code_version": code_version,
        "fingerprint": step.fingerprint,
        "inputs": [[name, digest] for name, digest in zip(step.inputs, input_digests, strict=True)],
        "outputs": sorted(step.outputs.items()),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _check_graph(steps: Sequence[Step]) -> None:
    """Every step name and output unique, every input made by an earlier step."""
    maker = {output: step.name for step in steps for output in step.outputs}
    names: set[str] = set()
    made: dict[str, str] = {}
    for step in steps:
        if step.name in names:
            raise StageError(
                f"two steps are named '{step.name}'; step names must be unique", step=step.name
            )
        names.add(step.name)
        for name in step.inputs:
            if name in made:
                continue
            if name in maker:
                hint = f"step '{maker[name]}' outputs it, but runs later: put it first"
            else:
                hint = f"outputs of earlier steps: {', '.join(sorted(made)) or 'none'}"
            raise StageError(
                f"step '{step.name}' needs input '{name}', which no earlier step outputs ({hint})",
                step=step.name,
            )
        for output in step.outputs:
            if output in made:
                raise StageError(
                    f"steps '{made[output]}' and '{step.name}' both output '{output}'; "
                    "output names must be unique",
                    step=step.name,
                )
            made[output] = step.name


def _check_outputs(step: Step, returned: Any) -> None:
    """Raise unless ``returned`` maps exactly the step's declared outputs."""
    declared = sorted(step.outputs)
    if not isinstance(returned, Mapping):
        raise StageError(
            f"it returned {type(returned).__name__}; a step must return a dict of its "
            f"declared outputs {declared}",
            step=step.name,
        )
    missing = sorted(set(step.outputs) - set(returned))
    extra = sorted(set(returned) - set(step.outputs))
    if missing or extra:
        problems = [f"missing {missing}"] if missing else []
        problems += [f"undeclared {extra}"] if extra else []
        raise StageError(
            f"it must return exactly its declared outputs {declared}, but returned "
            f"{sorted(returned)}: {'; '.join(problems)}",
            step=step.name,
        )


def _describe(exc: BaseException) -> str:
    """``<ExceptionType>: <message>``, as recorded on a failed run."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _record_failure(exc: BaseException, record: Callable[[], object]) -> None:
    """Record a failure; if recording fails too, note it on ``exc`` rather than hide ``exc``."""
    try:
        record()
    except Exception as inner:  # noqa: BLE001 - the original error matters more
        exc.add_note(f"loopml could not record this failure: {type(inner).__name__}: {inner}")
