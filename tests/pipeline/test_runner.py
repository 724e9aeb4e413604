"""The runner on the real SQLite store: runs, reuse by cache key, failures, events."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from loopml.domain import RunStatus
from loopml.errors import DataError, StageError
from loopml.pipeline import PipelineResult, Runner, Step, StepContext, StepEvent
from loopml.storage.artifacts import LocalArtifactStore
from loopml.storage.metadata import MetadataStore


def make_steps(
    calls: Counter[str], *, fingerprints: Mapping[str, str] | None = None, scale: int = 1
) -> list[Step]:
    """load -> summarize -> report; ``scale`` changes what summarize outputs."""
    fp = dict(fingerprints or {})

    def load(ctx: StepContext) -> dict[str, Any]:
        calls["load"] += 1
        ctx.progress("reading", 0.5)
        return {"frame": pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})}

    def summarize(ctx: StepContext, frame: pd.DataFrame) -> dict[str, Any]:
        calls["summarize"] += 1
        ctx.log_metrics({"rows": len(frame)})
        ctx.set_tags({"kind": "summary"})
        return {"stats": {"sum": int(frame["x"].sum()) * scale, "rows": len(frame)}}

    def report(ctx: StepContext, frame: pd.DataFrame, stats: dict[str, Any]) -> dict[str, Any]:
        calls["report"] += 1
        text = f"{len(frame)} rows, sum {stats['sum']}".encode()
        return {"report": text, "model": {"weights": [0.5, stats["sum"]]}}

    return [
        Step("load", load, outputs={"frame": "parquet"}, fingerprint=fp.get("load", "")),
        Step(
            "summarize",
            summarize,
            inputs=("frame",),
            outputs={"stats": "json"},
            fingerprint=fp.get("summarize", ""),
        ),
        Step(
            "report",
            report,
            inputs=("frame", "stats"),
            outputs={"report": "bytes", "model": "pickle"},
            fingerprint=fp.get("report", ""),
        ),
    ]


@pytest.fixture
def events() -> list[StepEvent]:
    return []


@pytest.fixture
def runner(
    store: MetadataStore,
    artifacts: LocalArtifactStore,
    project_id: str,
    events: list[StepEvent],
) -> Runner:
    return Runner(store, artifacts, project_id, code_version="1.0+test", on_event=events.append)


def statuses(result: PipelineResult) -> dict[str, RunStatus]:
    return {r.step: r.run.status for r in result.steps}


def test_a_pipeline_records_a_parent_run_and_one_child_run_per_step(
    runner: Runner, store: MetadataStore, artifacts: LocalArtifactStore, project_id: str
) -> None:
    calls: Counter[str] = Counter()
    result = runner.run(make_steps(calls), params={"seed": 7})

    assert calls == Counter(load=1, summarize=1, report=1)
    parent = store.get_run(result.run.run_id)
    assert parent.status is RunStatus.SUCCEEDED
    assert parent.name == "pipeline" and parent.params == {"seed": 7}
    assert parent.code_version == "1.0+test"
    assert set(parent.outputs) == {"frame", "stats", "report", "model"}

    children = store.list_runs(project_id, parent_run_id=parent.run_id)
    assert sorted(c.name for c in children) == ["load", "report", "summarize"]
    for child in children:
        assert child.status is RunStatus.SUCCEEDED
        assert child.cache_key and child.code_version == "1.0+test"
        assert child.outputs and all(artifacts.exists(d) for d in child.outputs.values())
        recorded = {ref.digest: media for ref, media in store.list_artifacts(child.run_id)}
        assert set(recorded) == set(child.outputs.values())
    assert statuses(result) == dict.fromkeys(["load", "summarize", "report"], RunStatus.SUCCEEDED)
    assert not any(r.reused for r in result.steps)

    summarize = result.step("summarize").run
    assert store.get_metrics(summarize.run_id)[0].value == 3.0
    assert store.get_run(summarize.run_id).tags["kind"] == "summary"

    assert result.load("stats") == {"sum": 6, "rows": 3}
    assert result.load("report") == b"3 rows, sum 6"
    assert result.load("model") == {"weights": [0.5, 6]}
    assert list(result.load("frame")["y"]) == ["a", "b", "c"]
    with pytest.raises(KeyError, match="no output 'nope'"):
        result.load("nope")


def test_events_tell_each_step_starting_progressing_and_finishing(
    runner: Runner, events: list[StepEvent]
) -> None:
    runner.run(make_steps(Counter()))
    kinds = [(e.step, e.kind) for e in events]
    assert kinds == [
        ("load", "start"),
        ("load", "progress"),
        ("load", "done"),
        ("summarize", "start"),
        ("summarize", "done"),
        ("report", "start"),
        ("report", "done"),
    ]
    progress = events[1]
    assert (progress.message, progress.fraction) == ("reading", 0.5)
    assert all(e.duration_s is not None and e.duration_s >= 0 for e in events if e.kind == "done")


def test_an_unchanged_pipeline_is_reused_without_calling_or_loading_anything(
    runner: Runner,
    store: MetadataStore,
    artifacts: LocalArtifactStore,
    events: list[StepEvent],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: Counter[str] = Counter()
    first = runner.run(make_steps(calls))
    events.clear()

    reads: list[str] = []
    real_get = artifacts.get_bytes
    monkeypatch.setattr(artifacts, "get_bytes", lambda d: reads.append(d) or real_get(d))
    second = runner.run(make_steps(calls))

    assert calls == Counter(load=1, summarize=1, report=1)  # not called again
    assert reads == []  # nothing loaded either
    assert statuses(second) == dict.fromkeys(["load", "summarize", "report"], RunStatus.REUSED)
    assert all(r.reused for r in second.steps)
    assert [(e.step, e.kind) for e in events] == [
        ("load", "reused"),
        ("summarize", "reused"),
        ("report", "reused"),
    ]
    for old, new in zip(first.steps, second.steps, strict=True):
        stored = store.get_run(new.run.run_id)
        assert stored.status is RunStatus.REUSED
        assert stored.parent_run_id == second.run.run_id
        assert stored.outputs == old.outputs
        assert stored.tags["reused_from"] == old.run.run_id
    assert store.get_run(second.run.run_id).status is RunStatus.SUCCEEDED
    assert second.outputs == first.outputs

    assert second.load("stats") == {"sum": 6, "rows": 3}  # decoded on demand
    assert len(reads) == 1


def test_a_changed_fingerprint_reruns_that_step_and_what_its_change_reaches(
    runner: Runner,
) -> None:
    calls: Counter[str] = Counter()
    runner.run(make_steps(calls))

    # summarize changes and so does its output: report must run again, load is reused
    changed = runner.run(make_steps(calls, fingerprints={"summarize": "v2"}, scale=10))
    assert statuses(changed) == {
        "load": RunStatus.REUSED,
        "summarize": RunStatus.SUCCEEDED,
        "report": RunStatus.SUCCEEDED,
    }
    assert calls == Counter(load=1, summarize=2, report=2)
    assert changed.load("report") == b"3 rows, sum 60"

    # summarize changes but makes the same bytes: report's inputs are unchanged, reused
    same_output = runner.run(make_steps(calls, fingerprints={"summarize": "v3"}, scale=10))
    assert statuses(same_output) == {
        "load": RunStatus.REUSED,
        "summarize": RunStatus.SUCCEEDED,
        "report": RunStatus.REUSED,
    }
    assert calls == Counter(load=1, summarize=3, report=2)


def test_a_new_code_version_reruns_everything(
    store: MetadataStore, artifacts: LocalArtifactStore, project_id: str
) -> None:
    calls: Counter[str] = Counter()
    Runner(store, artifacts, project_id, code_version="1").run(make_steps(calls))
    Runner(store, artifacts, project_id, code_version="2").run(make_steps(calls))
    assert calls == Counter(load=2, summarize=2, report=2)


def test_a_cached_run_whose_artifact_vanished_runs_again(
    runner: Runner, artifacts: LocalArtifactStore
) -> None:
    calls: Counter[str] = Counter()
    first = runner.run(make_steps(calls))
    artifacts.path(first.outputs["stats"]).unlink()
    second = runner.run(make_steps(calls))
    assert statuses(second)["summarize"] is RunStatus.SUCCEEDED
    assert statuses(second)["load"] is RunStatus.REUSED
    assert calls["summarize"] == 2
    assert artifacts.exists(first.outputs["stats"])


def _failing(exc: BaseException) -> list[Step]:
    def ok(ctx: StepContext) -> dict[str, Any]:
        return {"numbers": [1, 2]}

    def boom(ctx: StepContext, numbers: list[int]) -> dict[str, Any]:
        raise exc

    return [
        Step("prepare", ok, outputs={"numbers": "json"}),
        Step("train", boom, inputs=("numbers",), outputs={"model": "pickle"}),
    ]


def test_a_raising_step_fails_its_run_and_the_pipeline(
    runner: Runner, store: MetadataStore, project_id: str, events: list[StepEvent]
) -> None:
    with pytest.raises(StageError, match=r"step 'train' failed \(run [0-9a-f]{8}\): boom") as info:
        runner.run(_failing(RuntimeError("boom")))
    error = info.value
    assert error.step == "train"
    assert isinstance(error.__cause__, RuntimeError)

    failed = store.get_run(error.run_id)
    assert failed.name == "train" and failed.status is RunStatus.FAILED
    assert failed.error == "RuntimeError: boom"
    assert failed.outputs == {}
    assert store.list_artifacts(failed.run_id) == []
    parent = store.get_run(failed.parent_run_id or "")
    assert parent.status is RunStatus.FAILED
    assert "train" in (parent.error or "")
    prepare = store.list_runs(project_id, name="prepare")[0]
    assert prepare.status is RunStatus.SUCCEEDED
    assert events[-1].kind == "failed" and events[-1].message == "RuntimeError: boom"


def test_a_data_error_passes_through_unchanged(runner: Runner, store: MetadataStore) -> None:
    problem = DataError("column 'age' has text in row 4 ('n/a')")
    with pytest.raises(DataError) as info:
        runner.run(_failing(problem))
    assert info.value is problem
    failed = store.list_runs(store.get_project("churn").project_id, name="train")[0]
    assert failed.status is RunStatus.FAILED
    assert failed.error == "DataError: column 'age' has text in row 4 ('n/a')"


def test_keyboard_interrupt_marks_the_runs_failed(runner: Runner, store: MetadataStore) -> None:
    with pytest.raises(KeyboardInterrupt):
        runner.run(_failing(KeyboardInterrupt()))
    runs = store.list_runs(store.get_project("churn").project_id)
    assert {r.name: r.status for r in runs} == {
        "pipeline": RunStatus.FAILED,
        "train": RunStatus.FAILED,
        "prepare": RunStatus.SUCCEEDED,
    }
    assert next(r for r in runs if r.name == "train").error == "KeyboardInterrupt"


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        ({"model": 1, "extra": 2}, r"undeclared \['extra'\]"),
        ({}, r"missing \['model', 'score'\]"),
        ([1, 2], r"returned list; a step must return a dict"),
    ],
)
def test_a_step_returning_the_wrong_outputs_fails_clearly(
    runner: Runner, store: MetadataStore, returned: object, expected: str
) -> None:
    def wrong(ctx: StepContext) -> Any:
        return returned

    steps = [Step("train", wrong, outputs={"model": "pickle", "score": "json"})]
    with pytest.raises(StageError, match=expected) as info:
        runner.run(steps)
    run = store.get_run(info.value.run_id)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and run.error.startswith("StageError: ")


def test_a_value_its_codec_cannot_store_fails_naming_the_output(
    runner: Runner, store: MetadataStore
) -> None:
    def wrong(ctx: StepContext) -> dict[str, Any]:
        return {"table": [1, 2, 3]}

    with pytest.raises(StageError, match="output 'table' cannot be encoded as parquet") as info:
        runner.run([Step("load", wrong, outputs={"table": "parquet"})])
    assert store.get_run(info.value.run_id).status is RunStatus.FAILED


def test_inconsistent_steps_are_refused_before_anything_runs(
    runner: Runner, store: MetadataStore, project_id: str
) -> None:
    def noop(ctx: StepContext, **inputs: Any) -> dict[str, Any]:
        return {}

    late = [
        Step("a", noop, inputs=("b_out",), outputs={"a_out": "json"}),
        Step("b", noop, outputs={"b_out": "json"}),
    ]
    with pytest.raises(StageError, match="step 'b' outputs it, but runs later"):
        runner.run(late)
    with pytest.raises(StageError, match="no earlier step outputs"):
        runner.run([Step("a", noop, inputs=("ghost",))])
    with pytest.raises(StageError, match="names must be unique"):
        runner.run([Step("a", noop), Step("a", noop)])
    with pytest.raises(StageError, match="both output 'x'"):
        runner.run([Step("a", noop, outputs={"x": "json"}), Step("b", noop, outputs={"x": "json"})])
    assert store.list_runs(project_id) == []


def test_step_declarations_are_checked() -> None:
    with pytest.raises(ValueError, match="codec 'csv'"):
        Step("load", lambda ctx: {}, outputs={"frame": "csv"})
    with pytest.raises(ValueError, match="needs a name"):
        Step("", lambda ctx: {})
    step = Step("s", lambda ctx, a: {}, inputs=["a"], outputs={"b": "json"})  # type: ignore[arg-type]
    assert step.inputs == ("a",)


def test_context_gives_lineage_of_inputs(runner: Runner, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def first(ctx: StepContext) -> dict[str, Any]:
        return {"raw": b"data"}

    def second(ctx: StepContext, raw: bytes) -> dict[str, Any]:
        seen.update(
            digest=ctx.input_digest("raw"),
            parent=ctx.parent_run_id,
            version=ctx.code_version,
        )
        with pytest.raises(KeyError, match="no input 'other'"):
            ctx.input_digest("other")
        return {}

    result = runner.run(
        [Step("first", first, outputs={"raw": "bytes"}), Step("second", second, ("raw",))]
    )
    assert seen == {
        "digest": result.outputs["raw"],
        "parent": result.run.run_id,
        "version": "1.0+test",
    }
