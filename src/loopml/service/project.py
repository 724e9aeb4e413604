"""The facade every interface calls: one object per project folder.

Interfaces (CLI, REST, Python) parse their input, call one method here and render the
result. Nothing here prints; long work reports progress through callbacks. Each area
(runs, data, models, serving, monitoring) is a mixin in its own module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.config import SPEC_FILE, load_settings
from loopml.errors import ConflictError, NotFoundError
from loopml.spec import ProjectSpec, dump_spec
from loopml.spec.sources import SqlSource
from loopml.storage.artifacts import open_artifact_store
from loopml.storage.metadata import open_metadata_store

if TYPE_CHECKING:
    from loopml.registry import LoadedModel
    from loopml.service.retraining import RetrainingHost


from loopml.service.data import DataMixin
from loopml.service.external import ExternalModelsMixin
from loopml.service.files import write_atomic
from loopml.service.models import ModelsMixin
from loopml.service.monitoring import MonitoringMixin
from loopml.service.overview import OverviewMixin
from loopml.service.runs import RunsMixin
from loopml.service.serving import ServingMixin
from loopml.service.users import UsersMixin


def init_project(
    data: str | Path | SqlSource,
    target: str,
    project_dir: str | Path = ".",
    *,
    name: str | None = None,
    exclude: list[str] | None = None,
    force: bool = False,
) -> tuple[Path, ProjectSpec, dict[str, str]]:
    """Infer a spec from ``data`` (a file, an fsspec URL such as ``s3://bucket/calls.csv``
    read with the settings' storage options, or an SQL source whose rows are read now)
    and write ``loopml.yaml`` in ``project_dir``; an SQL source becomes the spec's one
    source, its schema inferred from the query's rows.

    Raises DataError (missing/empty file, a query that fails or returns no row, unknown
    target, one class) and ConflictError when a spec exists and ``force`` is False.
    Nothing is written on error. Returns the spec's path, the spec and the mapping of
    original to cleaned column names.
    """
    from loopml.data.clean import clean_frame
    from loopml.data.infer import infer_spec
    from loopml.data.ingest import clean_column_names
    from loopml.data.schema import infer_schema
    from loopml.data.schema_file import save_schema
    from loopml.data.validate import infer_unique
    from loopml.spec import CleaningSpec

    root = Path(project_dir).resolve()
    spec_path = root / SPEC_FILE
    if spec_path.exists() and not force:
        raise ConflictError(f"{spec_path} already exists; pass --force to overwrite it")
    if isinstance(data, SqlSource):
        from loopml.data.sources.sql import read_sql

        raw, column_map = clean_column_names(read_sql(data, os.environ, project_dir=root).frame)
        source: str | Path = f"sql source {data.name}"
    else:
        read, source = _read_data_file(data, root)
        raw, column_map = clean_column_names(read)
    frame, _ = clean_frame(raw, CleaningSpec(), target=_target_name(raw, target, column_map))
    spec = infer_spec(
        frame,
        target=target,
        source_path=str(source),
        column_map=column_map,
        name=name or root.name,
        exclude=exclude or (),
    )
    if isinstance(data, SqlSource):
        sources = {"source": None, "sources": [data]}
        spec = spec.model_copy(update={"data": spec.data.model_copy(update=sources)})
    schema = infer_schema(raw)
    save_schema(schema, root / spec.data.schema_file, unique=infer_unique(raw, schema))
    write_atomic(spec_path, dump_spec(spec).encode())
    return spec_path, spec, column_map


def _read_data_file(data: str | Path, root: Path) -> tuple[Any, str | Path]:
    """The rows of ``loopml init``'s file, and the path its spec names (relative to the
    project when inside it; a URL as given)."""
    from loopml.compute.parts import is_url
    from loopml.data.ingest import read_source
    from loopml.data.sources.remote import read_remote_file

    if is_url(str(data)):
        return read_remote_file(str(data), load_settings(root).storage_options), str(data)
    data_path = (root / data).resolve()
    source = os.path.relpath(data_path, root) if data_path.is_relative_to(root) else data_path
    return read_source(data_path), source


def _target_name(frame: Any, target: str, column_map: dict[str, str]) -> str:
    from loopml.data.infer import resolve_target

    return resolve_target(frame, target, column_map)


class ProjectService(
    RunsMixin,
    DataMixin,
    ModelsMixin,
    ExternalModelsMixin,
    ServingMixin,
    MonitoringMixin,
    OverviewMixin,
    UsersMixin,
):
    """Everything loopml does for the project in one folder."""


def load_model(ref: str, project_dir: str | Path = ".") -> LoadedModel:
    """``ref`` (``name@champion``, ``name@3``) loaded for use as a library.

    The store is found as the CLI finds it (``loopml.config``: ``LOOPML_DB`` and
    ``LOOPML_ARTIFACTS``, else loopml.toml or loopml.yaml, else the project's ``.loopml``
    folder in ``project_dir``; no loopml.yaml needed). The
    artifact's sha256 is verified before it is unpickled: IntegrityError otherwise;
    NotFoundError for an unknown model, version or alias.
    """
    from loopml.registry import LoadedModel, load_bundle

    settings = load_settings(project_dir)
    embedded = settings.home / "loopml.db"
    if settings.db_url == f"sqlite:///{embedded}" and not embedded.exists():
        raise NotFoundError(
            f"no loopml project store in {settings.project_dir}: run `loopml run` there, "
            "pass project_dir=, or set LOOPML_DB"
        )
    store = open_metadata_store(settings.db_url)
    try:
        artifacts = open_artifact_store(settings.artifacts_uri, settings.storage_options)
        version, bundle = load_bundle(store, artifacts, ref)
    finally:
        store.close()
    return LoadedModel(version, bundle, _input_policy(settings.project_dir))


def _input_policy(project_dir: Path) -> Any:
    """The input policy of the project's ``serve`` section (the defaults without a
    loopml.yaml in ``project_dir``)."""
    from loopml.model.checks import InputPolicy
    from loopml.spec import load_spec

    spec_path = Path(project_dir) / SPEC_FILE
    return InputPolicy.of(load_spec(spec_path).serve) if spec_path.is_file() else InputPolicy()


if TYPE_CHECKING:

    def _retraining_host(service: ProjectService) -> RetrainingHost:
        return service  # mypy proves the facade is what the retrainer needs
