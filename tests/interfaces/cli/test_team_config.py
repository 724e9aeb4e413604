"""Team configuration on the CLI: the store a project declares, `loopml config`, a store
in its own PostgreSQL schema beside the source tables, and `loopml init` from SQL."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from tests.helpers import edit_spec, small_search
from typer.testing import CliRunner

from loopml.interfaces.cli.main import app

runner = CliRunner()
QUERY = 'select * from {table} where "Customer ID" is not null'


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def churn_rows(churn_csv: Path) -> pd.DataFrame:
    return pd.read_csv(churn_csv, nrows=600)


def test_the_store_the_spec_declares_is_used_without_the_env_var(
    tmp_path: Path, churn_rows: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOOPML_DB", raising=False)
    monkeypatch.delenv("LOOPML_ARTIFACTS", raising=False)
    source = tmp_path / "source.db"
    churn_rows.to_sql("churn", sa.create_engine(f"sqlite:///{source}"), index=False)
    url = f"sqlite:///{source}"
    result = invoke("init", "--sql-url", url, "--query", QUERY.format(table="churn"),
                    "--target", "churned", "-x", "Customer ID", "-C", str(tmp_path))  # fmt: skip
    assert result.exit_code == 0, result.output
    spec = yaml.safe_load((tmp_path / "loopml.yaml").read_text())
    assert spec["data"]["sources"] == [
        {"type": "sql", "name": "main", "url": url, "query": QUERY.format(table="churn")}
    ]
    assert spec["data"]["columns"]["monthly_charges"] == "numeric"
    assert spec["problem"]["task"] == "classification"

    def declare(s: dict) -> None:
        s.update(store="sqlite:///team/store.db", artifacts="team/artifacts")

    edit_spec(tmp_path, declare)
    small_search(tmp_path, trials=0)
    result = invoke("run", "-C", str(tmp_path))
    assert result.exit_code in (0, 1), result.output
    assert (tmp_path / "team" / "store.db").is_file()
    assert any((tmp_path / "team" / "artifacts").iterdir())
    assert not (tmp_path / ".loopml" / "loopml.db").exists()  # no fresh local store
    shown = json.loads(invoke("config", "--json", "-C", str(tmp_path)).output)
    store = f"sqlite:///{tmp_path.resolve()}/team/store.db"
    assert shown["store"] == {"value": store, "from": "loopml.yaml"}
    assert shown["artifacts"] == {"value": str(tmp_path.resolve() / "team/artifacts"),
                                  "from": "loopml.yaml"}  # fmt: skip
    assert shown["cluster"]["value"] == "local, 1 worker process"
    table = invoke("config", "-C", str(tmp_path))
    assert table.exit_code == 0 and "cluster" in table.output and "loopml.yaml" in table.output


def test_config_masks_the_password_and_names_the_env_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "loopml.toml").write_text(
        'store = "postgresql+psycopg://team:${TEAM_PW}@db.example/ml"\nstore_schema = "ml"\n'
    )
    monkeypatch.setenv("TEAM_PW", "hunter2")
    monkeypatch.setenv("LOOPML_ARTIFACTS", "s3://bucket/ml?token=abc")
    monkeypatch.delenv("LOOPML_DB", raising=False)
    result = invoke("config", "--json", "-C", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output and "abc" not in result.output
    shown = json.loads(result.output)
    assert shown["store"] == {
        "value": "postgresql+psycopg://team:***@db.example/ml?schema=ml",
        "from": "loopml.toml",
    }
    assert shown["artifacts"] == {
        "value": "s3://bucket/ml?token=***",
        "from": "env LOOPML_ARTIFACTS",
    }
    assert "hunter2" not in invoke("config", "-C", str(tmp_path)).output


def test_init_needs_a_file_or_a_query(tmp_path: Path) -> None:
    result = invoke("init", "--sql-url", "sqlite:///x.db", "--target", "y", "-C", str(tmp_path))
    assert result.exit_code == 2 and "--query or --table" in result.output
    result = invoke("init", "--target", "y", "-C", str(tmp_path))
    assert result.exit_code == 2 and "name the data" in result.output


@pytest.fixture
def shared_database(postgres_server_url: str, churn_rows: pd.DataFrame) -> Iterator[tuple]:
    """A churn table in the public schema of the test database; its name and the name of
    a store schema that does not exist yet (both dropped afterwards)."""
    table, schema = f"churn_{uuid.uuid4().hex[:8]}", f"loopml_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(postgres_server_url)
    churn_rows.to_sql(table, engine, index=False)
    yield postgres_server_url, table, schema
    with engine.begin() as conn:
        conn.execute(sa.text(f'drop table if exists "{table}"'))
        conn.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
    engine.dispose()


@pytest.mark.postgres
def test_the_store_lives_in_its_own_schema_beside_the_source_table(
    tmp_path: Path, shared_database: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, table, schema = shared_database
    monkeypatch.delenv("LOOPML_DB", raising=False)
    query = QUERY.format(table=f'"{table}"')
    result = invoke("init", "--sql-url", url, "--query", query, "--target", "churned",
                    "-x", "Customer ID", "-C", str(tmp_path))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        yaml.safe_load((tmp_path / "loopml.yaml").read_text())["data"]["sources"][0]["url"] == url
    )
    (tmp_path / "loopml.toml").write_text(f'store = "{url}"\nstore_schema = "{schema}"\n')
    small_search(tmp_path, trials=0)
    run = loopml_process("run", "-C", str(tmp_path))  # its own process: the CLI exits
    assert run.returncode in (0, 1), run.stdout + run.stderr
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names(schema=schema))
        public = set(sa.inspect(conn).get_table_names(schema="public"))
    engine.dispose()
    assert {"alembic_version", "runs", "model_versions"} <= tables
    assert table in public and "runs" not in public
    assert not (tmp_path / ".loopml" / "loopml.db").exists()
    models = loopml_process("models", "-C", str(tmp_path))
    assert models.returncode == 0 and f"{tmp_path.name}" in models.stdout, models.stdout


def loopml_process(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "loopml", *args], capture_output=True,
                          text=True, timeout=600)  # fmt: skip


def test_config_shows_the_dask_cluster_and_where_it_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "loopml.toml").write_text('cluster = "local:2"\n')
    shown = json.loads(invoke("config", "--json", "-C", str(tmp_path)).output)
    assert shown["cluster"] == {
        "value": "Dask LocalCluster (local:2), 2 worker processes",
        "from": "loopml.toml",
    }
    monkeypatch.setenv("LOOPML_CLUSTER", "tcp://head:8786")
    shown = json.loads(invoke("config", "--json", "-C", str(tmp_path)).output)
    assert shown["cluster"] == {
        "value": "Dask scheduler tcp://head:8786",
        "from": "env LOOPML_CLUSTER",
    }
