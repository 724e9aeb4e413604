"""read_sources end to end: several source types, combined, with lineage and one hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.data.sources.api_server import ApiServer, json_reply, serve

from loopml.data.sources import IngestResult, interpolate, read_sources
from loopml.errors import DataError
from loopml.spec.sources import AnySource, Combine, FileSource, HttpSource, SqlSource


@pytest.fixture
def api() -> Iterator[ApiServer]:
    yield from serve()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    pd.DataFrame({"id": [1, 2], "age": [30, 40]}).to_csv(tmp_path / "a.csv", index=False)
    pd.DataFrame({"id": [3], "age": [50]}).to_csv(tmp_path / "b.csv", index=False)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    with engine.begin() as conn:
        pd.DataFrame({"id": [1, 2, 3], "plan": ["x", "y", "z"]}).to_sql("plans", conn, index=False)
    engine.dispose()
    return tmp_path


def test_files_sql_and_http_joined(project: Path, api: ApiServer) -> None:
    api.routes["/scores"] = lambda seen: json_reply({"items": [{"id": 2, "score": 0.9}]})
    sources: list[AnySource] = [
        FileSource(name="people", path="*.csv"),
        SqlSource(name="crm", url="sqlite:///crm.db", table="plans"),
        HttpSource(
            name="api",
            url=f"{api.url}/scores",
            records="items",
            headers={"Authorization": "Bearer ${TOKEN}"},
        ),
    ]
    said: list[str] = []
    result = read_sources(
        sources, Combine(how="join", on=["id"]), project, {"TOKEN": "t"}, progress=said.append
    )
    assert isinstance(result, IngestResult)
    assert list(result.frame.columns) == ["id", "age", "plan", "score"]
    assert result.frame["plan"].tolist() == ["x", "y", "z"]
    assert result.frame["score"].tolist()[1] == 0.9
    assert [s.name for s in result.sources] == ["people", "crm", "api"]
    assert [s.rows for s in result.sources] == [3, 3, 1]
    assert result.sources[2].location == f"{api.url}/scores"
    hashes = "".join(f"{s.source_hash}\n" for s in result.sources)
    assert result.source_hash == hashlib.sha256(hashes.encode()).hexdigest()
    json.dumps(result.to_dict())  # lineage is JSON-safe
    assert result.sources[0].to_dict()["location"] == "a.csv, b.csv"
    assert any("combined 3 sources (join)" in line for line in said)


def test_appending_two_sources(project: Path) -> None:
    sources = [FileSource(name="a", path="a.csv"), FileSource(name="b", path="b.csv")]
    result = read_sources(sources, Combine(), project, {})
    assert result.frame["id"].tolist() == [1, 2, 3]
    swapped = read_sources(sources[::-1], Combine(), project, {})
    assert swapped.source_hash != result.source_hash  # order matters


def test_a_failing_source_fails_the_whole_read(project: Path) -> None:
    sources: list[AnySource] = [
        FileSource(name="a", path="a.csv"),
        SqlSource(name="crm", url="sqlite:///crm.db", table="nope"),
    ]
    with pytest.raises(DataError, match="source 'crm'"):
        read_sources(sources, Combine(), project, {})
    with pytest.raises(DataError, match="no data sources"):
        read_sources([], Combine(), project, {})


def test_interpolate() -> None:
    env = {"USER": "ana", "PASS": "p${x}"}
    assert interpolate("u=${USER}:${PASS}", env, "f") == "u=ana:p${x}"  # values not re-scanned
    assert interpolate("no refs $HOME", env, "f") == "no refs $HOME"
    with pytest.raises(DataError, match="field: environment variable 'MISSING' is not set"):
        interpolate("${MISSING}", env, "field")
    with pytest.raises(DataError, match="not a valid environment variable reference"):
        interpolate("${not valid}", env, "field")
