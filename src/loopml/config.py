"""One Settings object: where a project's store and artifacts live, and where that came from.

Each setting is taken from the first of: the environment (``LOOPML_DB``,
``LOOPML_ARTIFACTS``), a ``loopml.toml`` beside the spec (``store``, ``store_schema``,
``artifacts``), the spec ``loopml.yaml`` (the same top-level keys), then the default in
the project's ``.loopml`` folder. ``${VAR}`` in a file's value is read from the
environment, so a password stays out of the files. ``store_schema`` (or ``?schema=`` in
the URL) keeps a PostgreSQL store in its own schema, beside other tables of the database.

``storage_options`` (``LOOPML_STORAGE_OPTIONS`` as a JSON object, a ``[storage_options]``
table in ``loopml.toml`` or a mapping in ``loopml.yaml``) are passed to fsspec for the
artifact store and for ``s3://`` (or other fsspec) file sources: ``endpoint_url``,
``key``, ``secret``, ``anon``, ``client_kwargs`` ... Their text values may use ``${VAR}``
too. Without them s3fs reads the standard AWS variables (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``) itself.

``cluster`` (``LOOPML_CLUSTER``, ``cluster`` in ``loopml.toml`` or at the top of
``loopml.yaml``) runs the search's trials on a Dask cluster: ``local`` starts a
LocalCluster here with ``models.search.workers`` worker processes (``local:N``: N),
``tcp://host:8786`` uses a running scheduler and every thread of its workers. None (the
default): the search runs in this process or in ``models.search.workers`` processes.
``loopml predict`` scores a Parquet file's parts on the same cluster.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopml.errors import SpecError

SPEC_FILE = "loopml.yaml"
CONFIG_FILE = "loopml.toml"
HOME_DIR = ".loopml"
FILE_KEYS = ("store", "store_schema", "artifacts", "storage_options", "cluster")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_USERINFO = re.compile(r"(://[^:/@]*:)[^/]*@")
_SECRET_NAME = re.compile(r"password|passwd|secret|token|key|sig|credential", re.IGNORECASE)
_SECRET_QUERY = re.compile(
    r"([?&][^=&]*(?:password|passwd|secret|token|key|sig)[^=&]*=)[^&]*", re.IGNORECASE
)


@dataclass(frozen=True)
class Settings:
    """Where a project keeps its metadata and artifacts.

    ``db_url`` is a SQLAlchemy URL; ``artifacts_uri`` a local folder or an fsspec URI;
    ``origins`` says where each came from (``store``/``artifacts`` -> ``env LOOPML_DB``,
    ``loopml.toml``, ``loopml.yaml`` or ``default``; ``storage_options`` is named only when
    some are set). ``storage_options`` go to fsspec for the artifact store and remote file
    sources (see the module docstring).
    """

    project_dir: Path
    db_url: str
    artifacts_uri: str
    origins: Mapping[str, str] = field(default_factory=dict)
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    cluster: str | None = None  # a Dask cluster: search, batch scoring (module docstring)

    @property
    def home(self) -> Path:
        """The project's ``.loopml`` folder (embedded database, local artifacts, logs)."""
        return self.project_dir / HOME_DIR


def load_settings(project_dir: str | Path = ".", env: dict[str, str] | None = None) -> Settings:
    """Read settings for the project in ``project_dir`` (see the module docstring).

    Raises:
        SpecError: ``loopml.toml`` is not valid TOML, a key in it or in ``loopml.yaml``
            is not text, a ``${VAR}`` it uses is not set, or ``cluster`` is not a Dask
            cluster address.
    """
    env = dict(os.environ) if env is None else env
    root = Path(project_dir).resolve()
    home = root / HOME_DIR
    files = [(CONFIG_FILE, _read_toml(root / CONFIG_FILE)), (SPEC_FILE, _read_yaml(root))]
    store, store_origin = _pick("store", "LOOPML_DB", env, files, root)
    schema, schema_origin = _pick("store_schema", "LOOPML_DB_SCHEMA", env, files, root)
    artifacts, artifacts_origin = _pick("artifacts", "LOOPML_ARTIFACTS", env, files, root)
    db_url = f"sqlite:///{home / 'loopml.db'}"
    if store:
        strict = store_origin == schema_origin or not store_origin.startswith("env")
        db_url = _with_schema(store, schema, strict)
    if store and store_origin in (CONFIG_FILE, SPEC_FILE):
        db_url = _anchored_sqlite(db_url, root)
    artifacts_uri = artifacts or str(home / "artifacts")
    if artifacts and artifacts_origin in (CONFIG_FILE, SPEC_FILE) and "://" not in artifacts:
        artifacts_uri = str((root / artifacts).resolve())
    origins = {"store": store_origin, "artifacts": artifacts_origin}
    options, options_origin = _storage_options(env, files, root)
    if options:
        origins["storage_options"] = options_origin
    cluster, cluster_origin = _cluster(env, files, root)
    if cluster:
        origins["cluster"] = cluster_origin
    return Settings(root, db_url, artifacts_uri, origins, options, cluster)


def _cluster(
    env: Mapping[str, str], files: list[tuple[str, Mapping[str, Any]]], root: Path
) -> tuple[str | None, str]:
    """The ``cluster`` setting, checked (``local``, ``local:N`` or ``tcp://host:port``)."""
    from loopml.compute.dask import check_cluster_address

    cluster, origin = _pick("cluster", "LOOPML_CLUSTER", env, files, root)
    if cluster is None:
        return None, origin
    where = origin if origin.startswith("env") else str(root / origin)
    try:
        return check_cluster_address(cluster), origin
    except SpecError as exc:
        raise SpecError(f"{where}: {exc}") from None


def mask_url(url: str) -> str:
    """``url`` with its password and secret-looking query values shown as ``***``."""
    url = _USERINFO.sub(r"\1***@", url)
    return _SECRET_QUERY.sub(r"\1***", url)


def mask_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with the values of secret-looking names (key, secret, token, password)
    and the passwords in URLs shown as ``***``, for display."""
    masked: dict[str, Any] = {}
    for name, value in options.items():
        if isinstance(value, Mapping):
            masked[name] = mask_options(value)
        elif _SECRET_NAME.search(name):
            masked[name] = "***"
        else:
            masked[name] = mask_url(value) if isinstance(value, str) else value
    return masked


def _pick(
    key: str,
    variable: str,
    env: Mapping[str, str],
    files: list[tuple[str, Mapping[str, Any]]],
    root: Path,
) -> tuple[str | None, str]:
    if env.get(variable):
        return env[variable], f"env {variable}"
    for name, values in files:
        value = values.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise SpecError(f"{root / name}: '{key}' must be a non-empty text, got {value!r}")
        return _interpolate(value.strip(), env, f"{root / name}: '{key}'"), name
    return None, "default"


def _storage_options(
    env: Mapping[str, str], files: list[tuple[str, Mapping[str, Any]]], root: Path
) -> tuple[dict[str, Any], str]:
    """The fsspec options from ``LOOPML_STORAGE_OPTIONS`` (JSON), else the first file that
    has ``storage_options``; ``${VAR}`` replaced in every text value."""
    variable = "LOOPML_STORAGE_OPTIONS"
    if env.get(variable):
        try:
            value = json.loads(env[variable])
        except json.JSONDecodeError as exc:
            raise SpecError(
                f"{variable} must be a JSON object such as "
                f'{{"endpoint_url": "http://127.0.0.1:9000"}}: {exc}'
            ) from None
        return _options(value, env, f"env {variable}"), f"env {variable}"
    for name, values in files:
        if values.get("storage_options") is not None:
            where = f"{root / name}: 'storage_options'"
            return _options(values["storage_options"], env, where), name
    return {}, "default"


def _options(value: Any, env: Mapping[str, str], where: str) -> Any:
    """``value`` with ``${VAR}`` read in its text; SpecError unless a mapping of names."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise SpecError(
            f"{where} must be a mapping of option names to values (a table in loopml.toml), "
            f"got {value!r}"
        )
    return {k: _option_value(v, env, f"{where}.{k}") for k, v in value.items()}


def _option_value(value: Any, env: Mapping[str, str], where: str) -> Any:
    if isinstance(value, str):
        return _interpolate(value, env, where)
    if isinstance(value, Mapping):
        return _options(value, env, where)
    if isinstance(value, list):
        return [_option_value(v, env, where) for v in value]
    return value


def _interpolate(value: str, env: Mapping[str, str], where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise SpecError(f"{where} uses ${{{name}}} but the variable {name} is not set")
        return env[name]

    return _VARIABLE.sub(replace, value)


def _with_schema(url: str, schema: str | None, strict: bool) -> str:
    """``url`` with ``?schema=`` added (a PostgreSQL store in its own schema); another
    store with a schema is an error when ``strict`` (else the schema is left out)."""
    if not schema:
        return url
    if not url.startswith(("postgresql", "postgres")):
        if not strict:
            return url
        raise SpecError(
            f"store_schema '{schema}' applies to a PostgreSQL store, not {mask_url(url)}"
        )
    if re.search(r"[?&]schema=", url):
        return url
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


def _anchored_sqlite(url: str, root: Path) -> str:
    """A relative SQLite file in a project file is taken from the project folder."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url[len(prefix) :].startswith(("/", ":memory:", "file:")):
        return url
    return prefix + str((root / url[len(prefix) :]).resolve())


def _read_toml(path: Path) -> Mapping[str, Any]:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None


def _read_yaml(root: Path) -> Mapping[str, Any]:
    """The store keys of ``loopml.yaml`` (nothing when it is missing or unreadable: the
    spec loader reports a broken spec)."""
    path = root / SPEC_FILE
    if not path.is_file():
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return {}
    return {k: data[k] for k in FILE_KEYS if k in data} if isinstance(data, dict) else {}
