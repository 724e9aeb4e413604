"""`loopml.log_artifact`: files stored content-addressed, named on the run, shown by
`loopml show RUN`; a clear error outside a run or for a path that is not a file."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import loopml
from loopml.errors import ConflictError, DataError, NotFoundError
from loopml.interfaces.cli.main import app
from loopml.service import init_project
from loopml.storage.artifacts import open_artifact_store
from loopml.storage.metadata import MetadataStore, open_metadata_store
from loopml.tracking import client


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    project = tmp_path / "churn"
    project.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.delenv("LOOPML_DB", raising=False)
    monkeypatch.delenv("LOOPML_ARTIFACTS", raising=False)
    yield project
    leftover = loopml.active_run()
    while leftover is not None:
        leftover.end("failed", "left active by a test")
        leftover = loopml.active_run()
    assert client._FLUENT.trackers == {}


@pytest.fixture
def reader(folder: Path) -> Iterator[MetadataStore]:
    store = open_metadata_store(f"sqlite:///{folder / '.loopml' / 'loopml.db'}")
    yield store
    store.close()


def test_a_logged_file_is_stored_by_hash_and_named_on_the_run(
    folder: Path, reader: MetadataStore
) -> None:
    (folder / "data.csv").write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(40)))
    init_project("data.csv", "y", folder, name="churn")  # `loopml show` needs a project
    report = folder / "confusion.csv"
    report.write_text("tp,fp\n10,2\n")
    notes = folder / "notes.txt"
    notes.write_text("first try")
    with loopml.start_run("experiment") as run:
        ref = loopml.log_artifact(report)
        loopml.log_artifact(str(notes), name="readme")
    digest = hashlib.sha256(report.read_bytes()).hexdigest()
    assert ref.digest == digest and ref.size == report.stat().st_size
    stored = reader.get_run(run.run_id)
    assert dict(stored.outputs) == {
        "confusion.csv": digest,
        "readme": hashlib.sha256(b"first try").hexdigest(),
    }
    artifacts = open_artifact_store(folder / ".loopml" / "artifacts")
    assert artifacts.get_bytes(digest) == report.read_bytes()
    indexed = {r.digest: kind for r, kind in reader.list_artifacts(run.run_id)}
    assert indexed[digest] == "text/csv"

    shown = CliRunner().invoke(app, ["show", run.run_id, "-C", str(folder)])
    assert shown.exit_code == 0, shown.output
    assert f"output confusion.csv sha256:{digest[:16]}" in shown.output
    assert "output readme sha256:" in shown.output


def test_logging_the_same_name_twice_keeps_the_last(folder: Path, reader: MetadataStore) -> None:
    path = folder / "model.txt"
    with loopml.start_run("experiment") as run:
        path.write_text("v1")
        loopml.log_artifact(path)
        path.write_text("v2")
        loopml.log_artifact(path)
    assert dict(reader.get_run(run.run_id).outputs) == {
        "model.txt": hashlib.sha256(b"v2").hexdigest()
    }


def test_misuse_is_refused_clearly(folder: Path) -> None:
    path = folder / "a.txt"
    path.write_text("x")
    with pytest.raises(NotFoundError, match="No active run"):
        loopml.log_artifact(path)
    with loopml.start_run("experiment") as run:
        with pytest.raises(DataError, match="missing.txt is not found"):
            loopml.log_artifact(folder / "missing.txt")
        with pytest.raises(DataError, match="a folder, not a file"):
            loopml.log_artifact(folder)
        with pytest.raises(DataError, match="name must not be empty"):
            loopml.log_artifact(path, name=" ")
    with pytest.raises(ConflictError, match="has ended"):
        run.log_artifact(path)


def test_a_tracker_without_an_artifact_store_says_so(folder: Path) -> None:
    store = open_metadata_store(f"sqlite:///{folder / 'runs.db'}")
    tracker = client.Tracker(store, store.ensure_project("p"))
    path = folder / "a.txt"
    path.write_text("x")
    with tracker.start_run("trial") as run, pytest.raises(ConflictError, match="artifact store"):
        run.log_artifact(path)
    tracker.close()
    store.close()
