"""Batch scoring by parts (serve/parts.py): through LocalExecutor, a process pool and a
real Dask LocalCluster, from local files and the loopback S3 server, the same rows,
predictions and problems as the scoring in this process; `loopml predict` on URLs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from loopml.compute import LocalExecutor, ProcessExecutor
from loopml.compute.dask import DaskExecutor
from loopml.errors import DataError
from loopml.interfaces.cli.main import app
from loopml.model.bundle import ModelBundle
from loopml.serve.batch import BatchResult, score_checked, write_problems
from loopml.serve.parts import list_parts, score_parts
from loopml.service import ProjectService, init_project

from .conftest import make_frame, register_bundle

CHUNK = 50  # parts of 8 chunks: 400 rows, row groups of 100 rows


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, classifier: ModelBundle) -> tuple[Path, Path]:
    """An input of 1000 rows in 10 row groups with refused, imputed and unseen values,
    and its output scored in this process (``expected.parquet``)."""
    folder = tmp_path_factory.mktemp("parts")
    frame = make_frame(1000, seed=11).drop(columns=["subscribed", "spend"])
    frame.loc[[5, 420, 999], "age"] = np.nan  # not nullable: refused, in 3 parts
    frame.loc[[17, 650], "job"] = "pilot"  # a category training never saw
    frame.to_parquet(folder / "in.parquet", index=False, row_group_size=100)
    return folder, folder / "in.parquet"


@pytest.fixture(scope="module")
def expected(files: tuple[Path, Path], classifier: ModelBundle) -> tuple[pd.DataFrame, BatchResult]:
    folder, source = files
    result = score_checked(classifier, source, folder / "expected.parquet", chunk_rows=CHUNK)
    return pd.read_parquet(folder / "expected.parquet"), result


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskExecutor]:
    with DaskExecutor("local:2", threads_per_worker=1) as executor:
        yield executor


def assert_same(result: BatchResult, output: Path, expected: tuple[pd.DataFrame, BatchResult]):
    table, local = expected
    pd.testing.assert_frame_equal(pd.read_parquet(output), table)
    assert result.rows == local.rows == 1000
    assert result.report.problems == local.report.problems
    assert result.report.refused_rows == [5, 420, 999]
    errors = write_problems(result.report, output.with_suffix(".errors.csv"))
    local_errors = write_problems(local.report, output.with_suffix(".local-errors.csv"))
    assert errors.read_text() == local_errors.read_text()
    assert len(errors.read_text().splitlines()) == 1 + len(local.report.problems) >= 6


def test_parts_follow_the_row_groups(files) -> None:
    _, source = files
    parts = list_parts(str(source), CHUNK * 8, {})
    assert [(p.first_row, p.rows, p.row_groups) for p in parts] == [
        (0, 400, (0, 1, 2, 3)),
        (400, 400, (4, 5, 6, 7)),
        (800, 200, (8, 9)),
    ]


def test_parts_in_this_process_equal_the_chunked_scoring(files, expected, classifier) -> None:
    folder, source = files
    output = folder / "local.parquet"
    seen: list[tuple[int, int | None]] = []
    result = score_parts(
        classifier,
        str(source),
        str(output),
        LocalExecutor(1),
        chunk_rows=CHUNK,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert_same(result, output, expected)
    assert seen == [(0, 1000), (400, 1000), (800, 1000), (1000, 1000)]
    assert not list(folder.glob(".local.parquet.*"))  # the temporary file is gone


def test_parts_in_worker_processes_equal_the_chunked_scoring(files, expected, classifier) -> None:
    folder, source = files
    output = folder / "processes.parquet"
    executor = ProcessExecutor(2, threads_per_worker=1)
    result = score_parts(classifier, str(source), str(output), executor, chunk_rows=CHUNK)
    assert_same(result, output, expected)


def test_parts_on_a_dask_cluster_equal_the_chunked_scoring(
    files, expected, classifier, cluster
) -> None:
    folder, source = files
    output = folder / "cluster.parquet"
    result = score_parts(classifier, str(source), str(output), cluster, chunk_rows=CHUNK)
    assert_same(result, output, expected)


def test_cluster_workers_read_and_write_s3_with_the_options_given(
    files, expected, classifier, cluster, s3, tmp_path: Path
) -> None:
    """The LocalCluster started before the AWS variables were set: its workers reach the
    bucket through the storage options shipped with the scorer alone."""
    folder, source = files
    url = s3.put("in/data.parquet", source.read_bytes())
    options = {
        "endpoint_url": s3.endpoint_url,
        "key": "loopml-test",
        "secret": "loopml-test-secret",
    }
    result = score_parts(
        classifier, url, s3.url("out/scored.parquet"), cluster,
        chunk_rows=CHUNK, storage_options=options,
    )  # fmt: skip
    local = tmp_path / "scored.parquet"
    local.write_bytes(s3.fs.cat_file(f"{s3.bucket}/out/scored.parquet"))
    assert_same(result, local, expected)
    assert s3.fs.ls(f"{s3.bucket}/out") == [f"{s3.bucket}/out/scored.parquet"]  # nothing else


def test_a_local_input_with_a_remote_cluster_is_refused(files, classifier) -> None:
    folder, source = files
    remote = DaskExecutor("tcp://10.255.0.1:8786")  # never connected to
    with pytest.raises(DataError, match=r"input .*in\.parquet is a local path.*10\.255\.0\.1"):
        score_parts(classifier, str(source), str(folder / "never.parquet"), remote)
    assert not (folder / "never.parquet").exists()


def test_bad_inputs_are_named(files, classifier, tmp_path: Path) -> None:
    folder, source = files
    with pytest.raises(DataError, match=r"missing\.parquet does not exist"):
        score_parts(classifier, str(tmp_path / "missing.parquet"), str(tmp_path / "o.parquet"),
                    LocalExecutor(1))  # fmt: skip
    (tmp_path / "in.csv").write_text("age\n1\n")
    with pytest.raises(DataError, match=r"in\.csv: scoring by parts reads \.parquet files"):
        score_parts(classifier, str(tmp_path / "in.csv"), str(tmp_path / "o.parquet"),
                    LocalExecutor(1))  # fmt: skip
    pd.read_parquet(source).drop(columns=["job"]).to_parquet(tmp_path / "nojob.parquet")
    with pytest.raises(DataError, match=r"nojob\.parquet: columns \['job'\].*are missing"):
        score_parts(classifier, str(tmp_path / "nojob.parquet"), str(tmp_path / "o.parquet"),
                    LocalExecutor(1))  # fmt: skip
    assert not list(tmp_path.glob("*o.parquet*"))  # no output, no temporary file left


@pytest.fixture
def project(tmp_path: Path, classifier: ModelBundle) -> Path:
    """A project named bank with bank@1, the champion."""
    folder = tmp_path / "bank"
    (folder / "data").mkdir(parents=True)
    make_frame(200).drop(columns=["spend"]).to_csv(folder / "data" / "data.csv", index=False)
    init_project("data/data.csv", "subscribed", folder, name="bank")
    service = ProjectService.open(folder)
    register_bundle(service.store, service.artifacts, service.project.project_id, "bank",
                    classifier)  # fmt: skip
    service.store.set_alias("bank", "champion", 1)
    service.close()
    return folder


def test_loopml_predict_from_s3_to_s3_and_to_a_local_file(project, files, expected, s3) -> None:
    _, source = files
    url = s3.put("in.parquet", source.read_bytes())
    runner = CliRunner()
    args = ["predict", url, s3.url("out.parquet"), "--chunk-rows", str(CHUNK)]
    result = runner.invoke(app, [*args, "--dir", str(project), "--errors", "errors.csv"])
    assert result.exit_code == 1, result.output  # 3 rows refused
    assert "3 of 1000 row(s) refused" in result.output
    local = project / "from-s3.parquet"
    local.write_bytes(s3.fs.cat_file(f"{s3.bucket}/out.parquet"))
    pd.testing.assert_frame_equal(pd.read_parquet(local), expected[0])
    assert pd.read_csv(project / "errors.csv")["row"].tolist() == [
        p.row for p in expected[1].report.problems
    ]
    args = ["predict", url, "here.parquet", "--chunk-rows", str(CHUNK), "--dir", str(project)]
    assert runner.invoke(app, args).exit_code == 1
    pd.testing.assert_frame_equal(pd.read_parquet(project / "here.parquet"), expected[0])


def test_loopml_predict_refuses_a_local_input_for_a_remote_cluster(project, files) -> None:
    _, source = files
    args = ["predict", str(source), "out.parquet", "--cluster", "tcp://10.255.0.1:8786"]
    result = CliRunner().invoke(app, [*args, "--dir", str(project)])
    assert result.exit_code != 0
    assert "is a local path" in result.output and "10.255.0.1" in result.output


def test_the_cluster_setting_leaves_a_local_file_here_and_an_explicit_one_is_checked(
    project, files, expected, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LOOPML_CLUSTER (the team's cluster, set for the search) does not send a local file
    to its workers, which could not read it: the file is scored here; naming a remote
    cluster for a local file is refused."""
    _, source = files
    monkeypatch.setenv("LOOPML_CLUSTER", "tcp://10.255.0.1:8786")
    runner = CliRunner()
    result = runner.invoke(app, ["predict", str(source), "o.parquet", "--dir", str(project)])
    assert result.exit_code == 1 and "3 of 1000 row(s) refused" in result.output
    scored = pd.read_parquet(project / "o.parquet")
    assert scored["prediction"].tolist() == expected[0]["prediction"].tolist()
    explicit = ["--cluster", "tcp://10.255.0.1:8786", "--dir", str(project)]
    result = runner.invoke(app, ["predict", str(source), "p.parquet", *explicit])
    assert result.exit_code != 0 and "is a local path" in result.output
    assert not (project / "p.parquet").exists()


def test_a_csv_output_by_parts_equals_the_chunked_one(files, classifier) -> None:
    folder, source = files
    score_checked(classifier, source, folder / "expected.csv", chunk_rows=CHUNK)
    output = folder / "parts.csv"
    score_parts(classifier, str(source), str(output), LocalExecutor(1), chunk_rows=CHUNK)
    assert output.read_text() == (folder / "expected.csv").read_text()
