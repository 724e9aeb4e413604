"""Where a project's store and artifacts come from: env, loopml.toml, loopml.yaml, default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from loopml.config import load_settings, mask_options, mask_url
from loopml.errors import SpecError

PG = "postgresql+psycopg://team:s3cret@db.example:5432/ml"


def spec_with(project: Path, **keys: str) -> None:
    (project / "loopml.yaml").write_text(yaml.safe_dump({"name": "p", **keys}))


def test_the_default_is_the_project_folder(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, env={})
    assert settings.db_url == f"sqlite:///{tmp_path.resolve()}/.loopml/loopml.db"
    assert settings.artifacts_uri == str(tmp_path.resolve() / ".loopml" / "artifacts")
    assert settings.origins == {"store": "default", "artifacts": "default"}


def test_the_spec_declares_the_store_and_artifacts(tmp_path: Path) -> None:
    spec_with(tmp_path, store=PG, artifacts="s3://bucket/loopml")
    settings = load_settings(tmp_path, env={})
    assert (settings.db_url, settings.artifacts_uri) == (PG, "s3://bucket/loopml")
    assert settings.origins == {"store": "loopml.yaml", "artifacts": "loopml.yaml"}


def test_loopml_toml_wins_over_the_spec_and_the_environment_over_both(tmp_path: Path) -> None:
    spec_with(tmp_path, store="sqlite:///spec.db", artifacts="spec-artifacts")
    (tmp_path / "loopml.toml").write_text(
        'store = "postgresql+psycopg://team:${PGPASSWORD}@db/ml"\nstore_schema = "loopml"\n'
    )
    settings = load_settings(tmp_path, env={"PGPASSWORD": "pw"})
    assert settings.db_url == "postgresql+psycopg://team:pw@db/ml?schema=loopml"
    assert settings.artifacts_uri == str(tmp_path.resolve() / "spec-artifacts")
    assert settings.origins == {"store": "loopml.toml", "artifacts": "loopml.yaml"}
    env = {"PGPASSWORD": "pw", "LOOPML_DB": "sqlite:///env.db", "LOOPML_ARTIFACTS": "/a"}
    settings = load_settings(tmp_path, env=env)
    assert (settings.db_url, settings.artifacts_uri) == ("sqlite:///env.db", "/a")
    assert settings.origins == {"store": "env LOOPML_DB", "artifacts": "env LOOPML_ARTIFACTS"}


def test_a_relative_sqlite_file_in_a_project_file_is_in_the_project(tmp_path: Path) -> None:
    spec_with(tmp_path, store="sqlite:///shared/team.db")
    url = load_settings(tmp_path, env={}).db_url
    assert url == f"sqlite:///{tmp_path.resolve()}/shared/team.db"


def test_mistakes_name_the_file_and_the_key(tmp_path: Path) -> None:
    (tmp_path / "loopml.toml").write_text('store = "postgresql://u:${NOPE}@h/db"\n')
    with pytest.raises(SpecError, match=r"loopml.toml: 'store' uses \$\{NOPE\}"):
        load_settings(tmp_path, env={})
    (tmp_path / "loopml.toml").write_text("store = [")
    with pytest.raises(SpecError, match="loopml.toml: not valid TOML"):
        load_settings(tmp_path, env={})
    (tmp_path / "loopml.toml").write_text('store = "sqlite:///x.db"\nstore_schema = "s"\n')
    with pytest.raises(SpecError, match="applies to a PostgreSQL store"):
        load_settings(tmp_path, env={})


def test_masking_hides_passwords_and_secret_parameters() -> None:
    assert mask_url(PG) == "postgresql+psycopg://team:***@db.example:5432/ml"
    assert mask_url("postgresql://u:p@w@h/db?schema=x") == "postgresql://u:***@h/db?schema=x"
    assert mask_url("s3://b/p?secret_key=abc&x=1") == "s3://b/p?secret_key=***&x=1"
    assert mask_url("sqlite:///x.db") == "sqlite:///x.db"


def test_a_schema_goes_with_a_postgresql_store_only(tmp_path: Path) -> None:
    env = {"LOOPML_DB": PG, "LOOPML_DB_SCHEMA": "loopml"}
    assert load_settings(tmp_path, env=env).db_url == f"{PG}?schema=loopml"
    (tmp_path / "loopml.toml").write_text('store_schema = "loopml"\n')
    env = {"LOOPML_DB": "sqlite:///env.db"}  # a local override keeps the team's schema out
    assert load_settings(tmp_path, env=env).db_url == "sqlite:///env.db"
    env = {"LOOPML_DB": f"{PG}?schema=mine"}  # the URL's own schema wins
    assert load_settings(tmp_path, env=env).db_url == f"{PG}?schema=mine"


def test_storage_options_come_from_the_files_with_variables_read(tmp_path: Path) -> None:
    spec_with(tmp_path, artifacts="s3://team/loopml")
    path = tmp_path / "loopml.yaml"
    path.write_text(
        path.read_text() + "storage_options:\n  anon: false\n  endpoint_url: http://spec\n"
    )
    settings = load_settings(tmp_path, env={})
    assert settings.storage_options == {"anon": False, "endpoint_url": "http://spec"}
    assert settings.origins["storage_options"] == "loopml.yaml"
    (tmp_path / "loopml.toml").write_text(
        '[storage_options]\nendpoint_url = "http://minio:9000"\nsecret = "${S3_SECRET}"\n'
        '[storage_options.client_kwargs]\nregion_name = "eu-west-1"\n'
    )
    settings = load_settings(tmp_path, env={"S3_SECRET": "hush"})
    assert settings.storage_options == {
        "endpoint_url": "http://minio:9000",
        "secret": "hush",
        "client_kwargs": {"region_name": "eu-west-1"},
    }
    assert settings.origins["storage_options"] == "loopml.toml"
    env = {"LOOPML_STORAGE_OPTIONS": '{"anon": true}'}
    assert load_settings(tmp_path, env=env).storage_options == {"anon": True}
    assert mask_options({"key": "AKIA", "client_kwargs": {"aws_secret_access_key": "x"}}) == {
        "key": "***",
        "client_kwargs": {"aws_secret_access_key": "***"},
    }


def test_broken_storage_options_name_where(tmp_path: Path) -> None:
    (tmp_path / "loopml.toml").write_text('storage_options = "endpoint=x"\n')
    with pytest.raises(SpecError, match=r"loopml.toml: 'storage_options' must be a mapping"):
        load_settings(tmp_path, env={})
    (tmp_path / "loopml.toml").write_text('[storage_options]\nkey = "${NOPE}"\n')
    with pytest.raises(SpecError, match=r"'storage_options'.key uses \$\{NOPE\}"):
        load_settings(tmp_path, env={})
    with pytest.raises(SpecError, match="LOOPML_STORAGE_OPTIONS must be a JSON object"):
        load_settings(tmp_path, env={"LOOPML_STORAGE_OPTIONS": "{anon"})
    with pytest.raises(SpecError, match="env LOOPML_STORAGE_OPTIONS must be a mapping"):
        load_settings(tmp_path, env={"LOOPML_STORAGE_OPTIONS": "[1]"})


def test_loopml_config_shows_storage_options_masked(tmp_path: Path) -> None:
    from loopml.service.configuration import effective_config

    assert [e.name for e in effective_config(tmp_path)][-1] == "cluster"  # none: no row
    (tmp_path / "loopml.toml").write_text(
        '[storage_options]\nendpoint_url = "http://minio:9000"\nsecret = "hush"\n'
    )
    entry = effective_config(tmp_path)[-1]
    assert (entry.name, entry.origin) == ("storage_options", "loopml.toml")
    assert json.loads(entry.value) == {"endpoint_url": "http://minio:9000", "secret": "***"}


def test_the_cluster_comes_from_the_environment_loopml_toml_or_the_spec(tmp_path: Path) -> None:
    assert load_settings(tmp_path, env={}).cluster is None
    spec_with(tmp_path, cluster="local:2")
    settings = load_settings(tmp_path, env={})
    assert settings.cluster == "local:2" and settings.origins["cluster"] == "loopml.yaml"
    (tmp_path / "loopml.toml").write_text('cluster = "tcp://${DASK_HOST}:8786"\n')
    settings = load_settings(tmp_path, env={"DASK_HOST": "head"})
    assert settings.cluster == "tcp://head:8786" and settings.origins["cluster"] == "loopml.toml"
    settings = load_settings(tmp_path, env={"LOOPML_CLUSTER": " local ", "DASK_HOST": "h"})
    assert settings.cluster == "local" and settings.origins["cluster"] == "env LOOPML_CLUSTER"
    with pytest.raises(SpecError, match="env LOOPML_CLUSTER: cluster: 'ray://head' is not"):
        load_settings(tmp_path, env={"LOOPML_CLUSTER": "ray://head", "DASK_HOST": "h"})
    (tmp_path / "loopml.toml").write_text('cluster = "head:8786"\n')
    with pytest.raises(SpecError, match=r"loopml.toml: cluster: 'head:8786' .* tcp://host:port"):
        load_settings(tmp_path, env={})
