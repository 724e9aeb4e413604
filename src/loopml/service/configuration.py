"""The effective configuration of a project folder, and where each setting came from."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopml.config import SPEC_FILE, load_settings, mask_options, mask_url


@dataclass(frozen=True)
class ConfigEntry:
    """One effective setting: its ``value`` (secrets masked) and ``origin`` (``env
    LOOPML_DB``, ``loopml.toml``, ``loopml.yaml`` or ``default``)."""

    name: str
    value: str
    origin: str


def effective_config(project_dir: str | Path = ".") -> list[ConfigEntry]:
    """The store, artifacts and cluster the project in ``project_dir`` uses (and its
    fsspec storage options when some are set, secrets masked).

    ``cluster`` is where training's parallel work runs: the ``cluster`` setting (a Dask
    cluster: ``local``, ``local:N``, ``tcp://host:port``), else ``models.search.workers``
    local processes of the spec (one by default). Works without a valid spec (a broken spec only
    loses its own settings). Raises SpecError for a broken ``loopml.toml`` or a
    ``${VAR}`` that is not set.
    """
    settings = load_settings(project_dir)
    origins = settings.origins
    workers, workers_origin = _workers(settings.project_dir)
    if settings.cluster:
        cluster, workers_origin = _dask(settings.cluster, workers), origins["cluster"]
    elif isinstance(workers, str) and "://" in workers:
        cluster = workers
    else:
        cluster = f"local, {workers} worker process{'es' if workers != 1 else ''}"
    return [
        ConfigEntry("project", str(settings.project_dir), "folder"),
        ConfigEntry("store", mask_url(settings.db_url), origins.get("store", "default")),
        ConfigEntry(
            "artifacts", mask_url(settings.artifacts_uri), origins.get("artifacts", "default")
        ),
        ConfigEntry("cluster", cluster, workers_origin),
        *_storage_options(settings.storage_options, origins),
    ]


def _dask(cluster: str, workers: int | str) -> str:
    """How the ``cluster`` setting reads: a LocalCluster's size, or the scheduler."""
    if cluster.startswith("tcp://"):
        return f"Dask scheduler {cluster}"
    count = cluster.partition(":")[2] or str(workers)
    return f"Dask LocalCluster ({cluster}), {count} worker process{'es' if count != '1' else ''}"


def _storage_options(options: Mapping[str, Any], origins: Mapping[str, str]) -> list[ConfigEntry]:
    """The fsspec storage options (secrets masked), when some are set."""
    if not options:
        return []
    shown = json.dumps(mask_options(options), sort_keys=True)
    return [ConfigEntry("storage_options", shown, origins.get("storage_options", "default"))]


def _workers(root: Path) -> tuple[int | str, str]:
    import yaml

    path = root / SPEC_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (yaml.YAMLError, UnicodeDecodeError):
        data = None
    models = data.get("models") if isinstance(data, dict) else None
    search = models.get("search") if isinstance(models, dict) else None
    workers = search.get("workers") if isinstance(search, dict) else None
    if workers is None:
        return 1, "default"
    return workers, f"{SPEC_FILE} (models.search.workers)"
