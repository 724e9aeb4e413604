"""Spec errors name the file, the line, the field and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml.errors import SpecError
from loopml.spec import FileSource, SqlSource, load_spec, parse_spec

BASE = """\
name: churn
problem:
  task: classification
  target: y
  primary_metric: roc_auc
data:
  sources:
    - path: data.csv
  columns: {y: categorical, age: numeric, id: numeric}
"""


def test_valid_spec_parses_with_defaults() -> None:
    spec = parse_spec(BASE)
    assert spec.data.all_sources == [FileSource(path="data.csv")]
    assert spec.split.method == "stratified" and spec.serve.host == "127.0.0.1"
    assert spec.feature_columns == ["age", "id"]


def test_single_source_shorthand_still_works() -> None:
    spec = parse_spec(BASE.replace("  sources:\n    - path: data.csv", "  source: {path: d.csv}"))
    assert spec.data.all_sources[0].path == "d.csv"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("  task: classification", "  taks: classification"), ":3: problem.taks: unknown key."),
        (("  task: classification", "  task: clasification"), "'classification' or 'regression'"),
        (("roc_auc", "rmse"), "metric 'rmse' does not apply to classification"),
        (
            ("    - path: data.csv", "    - {type: sql, name: crm, url: 'sqlite://', tabel: t}"),
            ":8: data.sources.0.tabel: unknown key. Did you mean 'table'?",
        ),
        (("    - path: data.csv", "    - {type: ftp, path: x}"), "data.sources.0"),
        (("  columns:", "  key: [nope]\n  columns:"), ":9: data.key: column 'nope' is not in"),
        (("target: y", "target: Y"), "loopml.yaml:4: problem.target: column 'Y' is not in"),
    ],
)
def test_errors_name_line_field_and_allowed(change: tuple[str, str], expected: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(BASE.replace(*change), source="loopml.yaml")
    assert expected in str(info.value)


def test_a_misspelt_target_is_reported_at_its_own_line_with_the_close_names() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(BASE.replace("target: y", "target: agee"), source="loopml.yaml")
    message = str(info.value)
    assert "loopml.yaml:4: problem.target: column 'agee' is not in data.columns" in message
    assert "Did you mean 'age'?" in message and "(top level)" not in message
    with pytest.raises(SpecError, match=r"loopml.yaml:4: .* Did you mean 'y'\?"):
        parse_spec(BASE.replace("target: y", "target: Y"), source="loopml.yaml")


def test_sql_source_needs_query_or_table() -> None:
    with pytest.raises(SpecError, match="exactly one of 'query' or 'table'"):
        parse_spec(BASE.replace("    - path: data.csv", "    - {type: sql, url: 'sqlite://'}"))
    spec = parse_spec(BASE.replace("    - path: data.csv", "    - {type: sql, url: x, table: t}"))
    assert isinstance(spec.data.all_sources[0], SqlSource)


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"loopml.yaml:\d+: not valid YAML"):
        parse_spec("name: [unclosed\n", source="loopml.yaml")
    with pytest.raises(SpecError, match="loopml init"):
        load_spec(tmp_path / "loopml.yaml")


def test_the_spec_holds_an_object_store_source_and_its_storage_options() -> None:
    text = BASE.replace("path: data.csv", "path: s3://team/calls-*.parquet")
    text += "artifacts: s3://team/loopml\nstorage_options:\n  client_kwargs: {region_name: eu}\n"
    spec = parse_spec(text)
    assert spec.data.all_sources == [FileSource(path="s3://team/calls-*.parquet")]
    assert spec.storage_options == {"client_kwargs": {"region_name": "eu"}}
    with pytest.raises(SpecError, match="storage_options"):
        parse_spec(BASE + "storage_options: [endpoint]\n")


def test_the_spec_may_name_a_dask_cluster() -> None:
    assert parse_spec(BASE).cluster is None
    assert parse_spec(BASE + "cluster: local:2\n").cluster == "local:2"
    assert parse_spec(BASE + "cluster: tcp://head:8786\n").cluster == "tcp://head:8786"
    for bad in ("ray://head", "local:0", "head:8786"):
        with pytest.raises(SpecError, match="cluster"):
            parse_spec(BASE + f"cluster: '{bad}'\n")
