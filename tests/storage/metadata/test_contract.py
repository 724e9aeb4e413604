"""The metadata store contract (``protocols.py``), run on SQLite and on PostgreSQL."""

from __future__ import annotations

import math
import os
import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from loopml.domain import (
    ArtifactRef,
    ColumnKind,
    ColumnSchema,
    Metric,
    PredictionBatch,
    Project,
    RunStatus,
    Schema,
    Snapshot,
)
from loopml.errors import ConflictError, NotFoundError, StorageError
from loopml.storage.metadata import MetadataStore, open_metadata_store
from loopml.storage.metadata import model_store as model_store_module
from loopml.storage.metadata import run_store as run_store_module

SCHEMA = Schema(
    columns=(
        ColumnSchema("age", ColumnKind.NUMERIC, "int64", nullable=False, min=18.0, max=95.0),
        ColumnSchema("job", ColumnKind.CATEGORICAL, "string", categories=("admin.", "técnico")),
        ColumnSchema("default", ColumnKind.BOOLEAN, "bool"),
        ColumnSchema("contacted_at", ColumnKind.DATETIME, "datetime64[ns, UTC]"),
        ColumnSchema("note", ColumnKind.TEXT, "string", categories=None),
    )
)
PARAMS = {
    "lr": 0.1,
    "depth": 3,
    "flags": [True, False, None],
    "nested": {"a": {"b": [1, 2.5, "x"]}},
    "name": "ünïcode ✓",
    "huge": 2**62,
}


def assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)


def digest(char: str) -> str:
    return char * 64


# --- projects ----------------------------------------------------------------------------


def test_ensure_project_creates_once(store: MetadataStore) -> None:
    first = store.ensure_project("bank")
    again = store.ensure_project("bank")
    assert again == first
    assert len(first.project_id) == 32 and int(first.project_id, 16) >= 0
    assert_utc(first.created_at)
    assert store.get_project("bank") == first
    assert store.ensure_project("bike").project_id != first.project_id


def test_get_project_unknown_names_it(store: MetadataStore) -> None:
    with pytest.raises(NotFoundError, match="No project named 'nope'"):
        store.get_project("nope")


# --- runs --------------------------------------------------------------------------------


def test_create_run_records_everything(store: MetadataStore, project: Project) -> None:
    run = store.create_run(
        project.project_id,
        "train",
        params=PARAMS,
        tags={"stage": "dev"},
        cache_key="k1",
        code_version="abc123",
    )
    assert run.status is RunStatus.RUNNING
    assert len(run.run_id) == 32
    assert run.pid == os.getpid() and run.host == socket.gethostname()
    assert run.ended_at is None and run.duration_s is None
    assert_utc(run.started_at)
    assert dict(run.params) == PARAMS
    assert dict(run.tags) == {"stage": "dev"}
    assert (run.cache_key, run.code_version, run.parent_run_id) == ("k1", "abc123", None)
    assert store.get_run(run.run_id) == run


def test_create_reused_run_in_one_call(store: MetadataStore, project: Project) -> None:
    run = store.create_run(
        project.project_id, "ingest", status=RunStatus.REUSED, outputs={"snapshot": digest("a")}
    )
    assert run.status is RunStatus.REUSED
    assert dict(run.outputs) == {"snapshot": digest("a")}
    assert_utc(run.ended_at)


def test_create_run_refuses_unknown_project_and_parent(
    store: MetadataStore, project: Project
) -> None:
    with pytest.raises(NotFoundError, match="No project has id 'missing'"):
        store.create_run("missing", "train")
    with pytest.raises(NotFoundError, match="No run has id 'ffff"):
        store.create_run(project.project_id, "trial", parent_run_id="f" * 32)
    assert store.list_runs(project.project_id) == []


def test_finish_run(store: MetadataStore, project: Project) -> None:
    run = store.create_run(project.project_id, "train")
    done = store.finish_run(
        run.run_id, RunStatus.FAILED, error="boom", outputs={"model": digest("b")}
    )
    assert done.status is RunStatus.FAILED and done.error == "boom"
    assert dict(done.outputs) == {"model": digest("b")}
    assert_utc(done.ended_at)
    assert done.ended_at is not None and done.ended_at >= done.started_at
    assert store.get_run(run.run_id) == done


def test_finish_run_errors(store: MetadataStore, project: Project) -> None:
    run = store.create_run(project.project_id, "train")
    with pytest.raises(ValueError, match="final status"):
        store.finish_run(run.run_id, RunStatus.RUNNING)
    store.finish_run(run.run_id, RunStatus.SUCCEEDED)
    with pytest.raises(ConflictError, match="already finished with status 'succeeded'"):
        store.finish_run(run.run_id, RunStatus.FAILED)
    with pytest.raises(NotFoundError, match="loopml runs"):
        store.finish_run("0" * 32, RunStatus.SUCCEEDED)


def test_set_tags_adds_and_overwrites(store: MetadataStore, project: Project) -> None:
    run = store.create_run(project.project_id, "train", tags={"a": "1", "b": "2"})
    store.set_tags(run.run_id, {"b": "3", "c": "4"})
    store.set_tags(run.run_id, {})
    assert dict(store.get_run(run.run_id).tags) == {"a": "1", "b": "3", "c": "4"}
    with pytest.raises(NotFoundError):
        store.set_tags("0" * 32, {"a": "1"})


def test_get_run_by_prefix(
    store: MetadataStore, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = iter(["abcd1111" + "0" * 24, "abcd2222" + "0" * 24, "9999" + "1" * 28])
    monkeypatch.setattr(run_store_module, "new_id", lambda: next(ids))
    first, second, third = (store.create_run(project.project_id, "t") for _ in range(3))
    assert store.get_run("abcd1").run_id == first.run_id
    assert store.get_run("ABCD2222").run_id == second.run_id
    assert store.get_run("9999").run_id == third.run_id
    with pytest.raises(ConflictError, match="'abcd' matches several runs"):
        store.get_run("abcd")
    with pytest.raises(NotFoundError, match="at least 4"):
        store.get_run("abc")
    with pytest.raises(NotFoundError, match="at least 4"):
        store.get_run("abcd%")
    with pytest.raises(NotFoundError, match="No run id starts with 'eeee'.*loopml runs"):
        store.get_run("eeee")


def test_list_runs_newest_first_with_filters(store: MetadataStore, project: Project) -> None:
    assert store.list_runs(project.project_id) == []
    parent = store.create_run(project.project_id, "search")
    trials = [
        store.create_run(project.project_id, "trial", parent_run_id=parent.run_id) for _ in range(3)
    ]
    store.finish_run(trials[0].run_id, RunStatus.SUCCEEDED)
    other = store.ensure_project("other")
    store.create_run(other.project_id, "trial")

    listed = store.list_runs(project.project_id)
    assert [r.run_id for r in listed] == [r.run_id for r in [*reversed(trials), parent]]
    by_name = store.list_runs(project.project_id, name="trial")
    assert [r.run_id for r in by_name] == [r.run_id for r in reversed(trials)]
    done = store.list_runs(project.project_id, status=RunStatus.SUCCEEDED)
    assert [r.run_id for r in done] == [trials[0].run_id]
    children = store.list_runs(project.project_id, parent_run_id=parent.run_id, limit=2)
    assert [r.run_id for r in children] == [trials[2].run_id, trials[1].run_id]


def test_find_cached_run_only_succeeded_of_that_step_and_key(
    store: MetadataStore, project: Project
) -> None:
    pid = project.project_id
    assert store.find_cached_run(pid, "train", "k") is None
    old = store.create_run(pid, "train", cache_key="k")
    store.finish_run(old.run_id, RunStatus.SUCCEEDED, outputs={"model": digest("1")})
    new = store.create_run(pid, "train", cache_key="k")
    store.finish_run(new.run_id, RunStatus.SUCCEEDED, outputs={"model": digest("2")})
    failed = store.create_run(pid, "train", cache_key="k")
    store.finish_run(failed.run_id, RunStatus.FAILED, error="x")
    store.create_run(pid, "train", cache_key="k")  # still running
    store.create_run(pid, "train", cache_key="k", status=RunStatus.REUSED)
    other_step = store.create_run(pid, "evaluate", cache_key="k")
    store.finish_run(other_step.run_id, RunStatus.SUCCEEDED)

    found = store.find_cached_run(pid, "train", "k")
    assert found is not None and found.run_id == new.run_id
    assert dict(found.outputs) == {"model": digest("2")}
    assert store.find_cached_run(pid, "train", "other-key") is None
    assert store.find_cached_run(store.ensure_project("p2").project_id, "train", "k") is None


# --- metrics -----------------------------------------------------------------------------


def test_log_and_get_metrics(store: MetadataStore, project: Project) -> None:
    run = store.create_run(project.project_id, "train")
    when = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    store.log_metrics(
        run.run_id,
        [
            Metric("loss", 0.5, step=1),
            Metric("loss", 0.9, step=0),
            Metric("auc", 0.75, step=0, timestamp=when),
            Metric("nan", math.nan),
            Metric("inf", math.inf),
        ],
    )
    store.log_metrics(run.run_id, [])
    metrics = store.get_metrics(run.run_id)
    assert [(m.key, m.step, m.value) for m in metrics if m.key != "nan"] == [
        ("auc", 0, 0.75),
        ("inf", 0, math.inf),
        ("loss", 0, 0.9),
        ("loss", 1, 0.5),
    ]
    assert math.isnan(next(m.value for m in metrics if m.key == "nan"))
    for metric in metrics:
        assert_utc(metric.timestamp)
    assert metrics[0].timestamp == when.astimezone(UTC)
    assert [m.value for m in store.get_metrics(run.run_id, "loss")] == [0.9, 0.5]
    assert store.get_metrics(run.run_id, "absent") == []


def test_log_metrics_unknown_run(store: MetadataStore) -> None:
    with pytest.raises(NotFoundError, match="loopml runs"):
        store.log_metrics("0" * 32, [Metric("a", 1.0)])


def test_latest_metrics(store: MetadataStore, project: Project) -> None:
    a = store.create_run(project.project_id, "trial")
    b = store.create_run(project.project_id, "trial")
    quiet = store.create_run(project.project_id, "trial")
    store.log_metrics(
        a.run_id,
        [Metric("loss", 0.3, 2), Metric("loss", 0.1, 5), Metric("loss", 0.2, 3), Metric("auc", 1)],
    )
    store.log_metrics(a.run_id, [Metric("auc", 0.8, 0)])  # same step, logged later: wins
    store.log_metrics(b.run_id, [Metric("loss", 0.7, 0)])
    latest = store.latest_metrics([a.run_id, b.run_id, quiet.run_id])
    assert latest == {
        a.run_id: {"loss": 0.1, "auc": 0.8},
        b.run_id: {"loss": 0.7},
        quiet.run_id: {},
    }
    assert store.latest_metrics([]) == {}


# --- artifacts ---------------------------------------------------------------------------


def test_artifact_index(store: MetadataStore, project: Project) -> None:
    run = store.create_run(project.project_id, "train")
    other = store.create_run(project.project_id, "evaluate")
    model, report = ArtifactRef(digest("a"), 10), ArtifactRef(digest("b"), 2**40)
    store.record_artifact(model, media_type="application/x-loopml-bundle", run_id=run.run_id)
    store.record_artifact(report, media_type="text/html", run_id=run.run_id)
    store.record_artifact(model, media_type="other", run_id=other.run_id)  # idempotent
    store.record_artifact(ArtifactRef(digest("c"), 1), media_type="text/plain", run_id=None)
    assert store.list_artifacts(run.run_id) == [
        (model, "application/x-loopml-bundle"),
        (report, "text/html"),
    ]
    assert store.list_artifacts(other.run_id) == []


# --- snapshots ---------------------------------------------------------------------------


def make_snapshot(project: Project, char: str, created_at: datetime) -> Snapshot:
    return Snapshot(
        snapshot_id=digest(char),
        project_id=project.project_id,
        source="data/bank.csv",
        source_hash=digest("f"),
        row_count=44_923,
        schema=SCHEMA,
        created_at=created_at,
        column_map={"subscribed ": "subscribed", "Age": "age"},
        code_version="v1",
    )


def test_snapshots(store: MetadataStore, project: Project) -> None:
    assert store.list_snapshots(project.project_id) == []
    first = make_snapshot(project, "1", datetime(2024, 1, 1, tzinfo=UTC))
    stored = store.add_snapshot(first)
    assert stored == first
    assert store.get_snapshot(first.snapshot_id) == first
    assert store.get_snapshot(first.snapshot_id).schema.column("job").categories == (
        "admin.",
        "técnico",
    )
    changed = make_snapshot(project, "1", datetime(2025, 1, 1, tzinfo=UTC))
    assert store.add_snapshot(changed) == first  # the stored one, unchanged
    second = store.add_snapshot(make_snapshot(project, "2", datetime(2024, 2, 1, tzinfo=UTC)))
    listed = store.list_snapshots(project.project_id)
    assert [s.snapshot_id for s in listed] == [second.snapshot_id, first.snapshot_id]
    assert_utc(listed[0].created_at)


def test_snapshot_errors(store: MetadataStore, project: Project) -> None:
    with pytest.raises(NotFoundError, match="No data snapshot has id 'abc'"):
        store.get_snapshot("abc")
    orphan = Snapshot(
        snapshot_id=digest("9"),
        project_id="missing",
        source="x.csv",
        source_hash=digest("f"),
        row_count=1,
        schema=SCHEMA,
        created_at=datetime.now(UTC),
    )
    with pytest.raises(NotFoundError, match="No project has id 'missing'"):
        store.add_snapshot(orphan)


# --- model registry ----------------------------------------------------------------------


def register(store: MetadataStore, project: Project, name: str = "churn", auc: float = 0.8):
    run = store.create_run(project.project_id, "train")
    return store.create_model_version(
        project.project_id,
        name,
        run_id=run.run_id,
        artifact_digest=digest("d"),
        signature=SCHEMA,
        metrics={"auc": auc, "nan": math.nan},
        lineage={"snapshot_id": digest("1"), "params": PARAMS, "code_version": "abc"},
    )


def test_model_versions_count_per_name(store: MetadataStore, project: Project) -> None:
    first = register(store, project)
    second = register(store, project, auc=0.9)
    other = register(store, project, name="bikes")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    got = store.get_model_version("churn", 2)
    assert got == second
    assert got.signature == SCHEMA
    assert got.metrics["auc"] == 0.9 and math.isnan(got.metrics["nan"])
    assert dict(got.lineage) == {
        "snapshot_id": digest("1"),
        "params": PARAMS,
        "code_version": "abc",
    }
    assert got.aliases == () and got.ref == "churn@2"
    assert_utc(got.created_at)


def test_model_version_retries_when_a_concurrent_writer_took_the_number(
    store: MetadataStore, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(store, project)
    real = model_store_module._latest_version
    calls: list[str] = []

    def stale_once(conn: Any, name: str) -> int | None:
        calls.append(name)  # the first attempt sees no versions: another writer raced it
        return None if len(calls) == 1 else real(conn, name)

    monkeypatch.setattr(model_store_module, "_latest_version", stale_once)
    assert register(store, project).version == 2
    assert len(calls) >= 2


def test_model_version_not_found_names_latest(store: MetadataStore, project: Project) -> None:
    for _ in range(2):
        register(store, project)
    with pytest.raises(
        NotFoundError, match=r"Model 'churn' has no version 7 \(latest is 2\)\. Run `loopml models"
    ):
        store.get_model_version("churn", 7)
    with pytest.raises(NotFoundError, match="No model named 'ghost'.*`loopml models`"):
        store.get_model_version("ghost", 1)
    with pytest.raises(NotFoundError, match="No project has id"):
        store.create_model_version(
            "missing",
            "x",
            run_id="r",
            artifact_digest="d",
            signature=SCHEMA,
            metrics={},
            lineage={},
        )


def test_aliases_move_between_versions(store: MetadataStore, project: Project) -> None:
    for _ in range(3):
        register(store, project)
    store.set_alias("churn", "champion", 1)
    store.set_alias("churn", "challenger", 1)
    assert store.get_model_version("churn", 1).aliases == ("challenger", "champion")
    store.set_alias("churn", "champion", 3)
    assert store.get_model_by_alias("churn", "champion").version == 3
    assert store.get_model_version("churn", 1).aliases == ("challenger",)
    assert store.get_model_version("churn", 3).aliases == ("champion",)
    versions = store.list_model_versions("churn")
    assert [(v.version, v.aliases) for v in versions] == [
        (3, ("champion",)),
        (2, ()),
        (1, ("challenger",)),
    ]
    store.delete_alias("churn", "challenger")
    assert store.get_model_version("churn", 1).aliases == ()


def test_alias_errors(store: MetadataStore, project: Project) -> None:
    register(store, project)
    store.set_alias("churn", "staging", 1)
    with pytest.raises(
        NotFoundError, match=r"Model 'churn' has no alias 'champion' \(aliases: staging -> 1\)"
    ):
        store.get_model_by_alias("churn", "champion")
    with pytest.raises(NotFoundError, match="No model named 'ghost'"):
        store.get_model_by_alias("ghost", "champion")
    with pytest.raises(NotFoundError, match="has no version 4 \\(latest is 1\\)"):
        store.set_alias("churn", "champion", 4)
    with pytest.raises(NotFoundError, match="has no alias 'prod'"):
        store.delete_alias("churn", "prod")


def test_list_model_versions_of_all_models(store: MetadataStore, project: Project) -> None:
    assert store.list_model_versions() == []
    assert store.list_model_versions("ghost") == []
    register(store, project, "a")
    register(store, project, "b")
    register(store, project, "a")
    assert [v.ref for v in store.list_model_versions()] == ["a@2", "b@1", "a@1"]


# --- deployments, prediction batches, events ---------------------------------------------


def test_deployments(store: MetadataStore, project: Project) -> None:
    assert store.list_deployments(project.project_id) == []
    register(store, project)
    register(store, project)
    first = store.add_deployment(project.project_id, "churn", 1, mode="single", url=None)
    second = store.add_deployment(
        project.project_id, "churn", 2, mode="shadow", url="http://127.0.0.1:8000"
    )
    assert first.status == "active" and second.url == "http://127.0.0.1:8000"
    assert_utc(first.created_at)
    stopped = store.set_deployment_status(first.deployment_id, "stopped")
    assert stopped.status == "stopped" and stopped.deployment_id == first.deployment_id
    listed = store.list_deployments(project.project_id)
    assert [d.deployment_id for d in listed] == [second.deployment_id, first.deployment_id]
    assert listed[1] == stopped
    with pytest.raises(NotFoundError, match="No deployment has id 'nope'"):
        store.set_deployment_status("nope", "stopped")
    with pytest.raises(NotFoundError, match="has no version 9"):
        store.add_deployment(project.project_id, "churn", 9, mode="single", url=None)


def test_prediction_batches(store: MetadataStore, project: Project) -> None:
    assert store.list_prediction_batches("churn") == []
    t0 = datetime(2024, 3, 1, tzinfo=UTC)

    def batch(batch_id: str, version: int, hours: int) -> PredictionBatch:
        return PredictionBatch(
            batch_id=batch_id,
            project_id=project.project_id,
            model_name="churn",
            version=version,
            artifact_digest=digest("e"),
            row_count=100,
            first_at=t0 + timedelta(hours=hours),
            last_at=t0 + timedelta(hours=hours, minutes=5),
        )

    late, early, v2 = batch("b" * 32, 1, 5), batch("a" * 32, 1, 1), batch("c" * 32, 2, 3)
    for item in (late, early, v2, late):
        store.add_prediction_batch(item)
    assert store.list_prediction_batches("churn") == [early, v2, late]
    assert store.list_prediction_batches("churn", version=1) == [early, late]
    assert_utc(store.list_prediction_batches("churn")[0].last_at)
    with pytest.raises(NotFoundError):
        store.add_prediction_batch(replace(early, batch_id="d" * 32, project_id="missing"))


def test_events_oldest_first(store: MetadataStore, project: Project) -> None:
    assert store.list_events(project.project_id) == []
    payload = {"verdict": "no-go", "reasons": ["auc 0.7 < 0.8"], "values": {"auc": 0.7}}
    gate = store.add_event(project.project_id, "gate", payload)
    promo = store.add_event(project.project_id, "promotion", {"version": 2})
    alert = store.add_event(project.project_id, "gate", {})
    assert dict(gate.payload) == payload
    assert gate.event_id < promo.event_id < alert.event_id
    assert_utc(gate.created_at)
    assert store.list_events(project.project_id) == [gate, promo, alert]
    assert store.list_events(project.project_id, kind="gate") == [gate, alert]
    with pytest.raises(NotFoundError):
        store.add_event("missing", "gate", {})


# --- errors at the boundary --------------------------------------------------------------


def test_unstorable_params_raise_storage_error(store: MetadataStore, project: Project) -> None:
    with pytest.raises(StorageError, match="params of run 'train' cannot be stored"):
        store.create_run(project.project_id, "train", params={"model": object()})


def test_unreachable_database_raises_storage_error() -> None:
    with pytest.raises(StorageError) as info:
        open_metadata_store("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    assert info.value.__cause__ is not None
