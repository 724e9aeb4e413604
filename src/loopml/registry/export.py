"""Export a verified model version to other formats: MLflow's pyfunc model and ONNX.

The MLflow model is portable: it carries, through ``code_paths``, the part of loopml its
bundle needs (``loopml.registry.runtime``) and the loader, so ``mlflow models serve`` and
``mlflow.pyfunc.load_model`` work where loopml is not installed; its requirements are the
packages that code and the pickle import, pinned to the installed versions (never loopml).

The folder appears whole or not at all: it is written beside its final place and renamed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from loopml.domain import ModelRef, ModelVersion
from loopml.errors import ConflictError, DataError, LoopMLError
from loopml.model.bundle import ModelBundle
from loopml.registry.mlflow_flavor import BUNDLE_FILE, INFO_FILE
from loopml.registry.registry import output_schema, resolve_model
from loopml.registry.runtime import LOADER_MODULE, Runtime, build_runtime, pin
from loopml.storage.artifacts.protocols import ArtifactStore
from loopml.storage.metadata.protocols import MetadataStore

FORMATS = ("mlflow", "onnx")


def export_version(
    store: MetadataStore,
    artifacts: ArtifactStore,
    ref: str | ModelRef,
    fmt: str,
    out_dir: Path,
) -> tuple[ModelVersion, Path]:
    """Export the version ``ref`` names after verifying its artifact's sha256.

    Raises NotFoundError for an unknown version, IntegrityError for a changed artifact
    (never unpickled), and what ``export_model`` raises.
    """
    if fmt not in FORMATS:
        raise DataError(f"unknown export format '{fmt}'; use one of: {', '.join(FORMATS)}")
    version = resolve_model(store, ref)
    data = artifacts.get_bytes(version.artifact_digest)
    return version, export_model(version, ModelBundle.from_bytes(data), data, fmt, out_dir)


def export_model(
    version: ModelVersion, bundle: ModelBundle, data: bytes, fmt: str, out_dir: Path
) -> Path:
    """Write ``version`` (its verified ``bundle`` and pickled bytes ``data``) to ``out_dir``.

    Raises DataError for an unknown format, ConflictError when ``out_dir`` exists and is
    not empty, and LoopMLError when the format's library is missing or the model cannot
    be expressed in it (the message names what is unsupported).
    """
    if fmt not in FORMATS:
        raise DataError(f"unknown export format '{fmt}'; use one of: {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ConflictError(f"{out_dir} already exists and is not empty; choose a new folder")
    with _staging(out_dir) as staging:
        if fmt == "mlflow":
            _write_mlflow(version, bundle, data, staging / "model")
        else:
            from loopml.registry.onnx import write_onnx

            write_onnx(version, bundle, staging / "model")
        os.replace(staging / "model", out_dir)
    return out_dir


def model_info(version: ModelVersion, bundle: ModelBundle, data: bytes) -> dict[str, Any]:
    """What an exported folder says about its origin: ref, sha256, signature, outputs."""
    return {
        "model": version.name,
        "version": version.version,
        "artifact_sha256": hashlib.sha256(data).hexdigest(),
        "model_kind": bundle.model_kind,
        "task": bundle.task,
        "signature": version.signature.to_dict(),
        "output_schema": output_schema(bundle),
        "lineage": dict(version.lineage),
    }


def requirements(data: bytes) -> list[str]:
    """Pinned pip requirements to load the pickled bundle ``data`` with its shipped
    runtime: MLflow and the packages the runtime and the pickle import (never loopml)."""
    return [_mlflow_requirement(), *build_runtime(data).requirements]


def _mlflow_requirement() -> str:
    """The MLflow distribution installed: mlflow, else mlflow-skinny (it serves too)."""
    for name in ("mlflow", "mlflow-skinny"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            return pin(name)
    raise LoopMLError("exporting to MLflow needs the mlflow (or mlflow-skinny) package")


def _write_mlflow(version: ModelVersion, bundle: ModelBundle, data: bytes, path: Path) -> None:
    try:
        with warnings.catch_warnings():  # mlflow warns about its own type hints on import
            warnings.simplefilter("ignore")
            import mlflow.pyfunc
    except ImportError as exc:
        raise LoopMLError(
            "exporting to MLflow needs the mlflow (or mlflow-skinny) package: "
            "pip install mlflow-skinny"
        ) from exc
    runtime = build_runtime(data)
    files = path.parent / "data"
    files.mkdir()
    (files / BUNDLE_FILE).write_bytes(data)
    info = {**model_info(version, bundle, data), **_runtime_info(runtime)}
    (files / INFO_FILE).write_text(json.dumps(info, indent=2, default=str))
    code_paths = runtime.write(path.parent / "code")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.pyfunc.save_model(
            str(path),
            loader_module=LOADER_MODULE,
            data_path=str(files),
            code_paths=[str(p) for p in code_paths],
            pip_requirements=[_mlflow_requirement(), *runtime.requirements],
            signature=_mlflow_signature(version, bundle),
            metadata={"loopml_model": version.ref, "artifact_sha256": info["artifact_sha256"]},
        )


def _runtime_info(runtime: Runtime) -> dict[str, Any]:
    # the installed version, not `loopml.__version__`: a stage never imports the package
    # root (it imports the service layer)
    from importlib.metadata import version

    return {
        "loopml_version": version("loopml"),
        "runtime_modules": list(runtime.modules),
        "requirements": list(runtime.requirements),
    }


def _mlflow_signature(version: ModelVersion, bundle: ModelBundle) -> Any:
    """The input columns with the types MLflow checks on predict (it drops other columns).

    A model whose pipeline begins with the cleaning step takes rows as the source held
    them: each column under its source name, text where the cleaning coerces it (``"yes"``,
    ``"$1,234.50"``, a date), and under its clean name with the type training saw. Numbers
    are typed ``any``: MLflow refuses int64 for a double column (and floats for a long
    one), while a source writes the same column either way from one file to the next; the
    model's cleaning reads both.
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema, TensorSpec
    from mlflow.types.schema import AnyType

    cleaner = getattr(bundle, "cleaner", None)
    sources: dict[str, str] = cleaner.source_names() if cleaner is not None else {}
    coerced = set(getattr(cleaner, "coercions_", {}))
    columns: list[ColSpec | TensorSpec] = []
    for column in version.signature.columns:
        source = sources.get(column.name, column.name)
        typed = _mlflow_type(column.dtype)
        clean: Any = AnyType() if typed in ("long", "double") else typed
        raw: Any = "string" if column.name in coerced else clean
        columns.append(ColSpec(raw, source, required=False))
        if source != column.name:
            columns.append(ColSpec(clean, column.name, required=False))
    return ModelSignature(inputs=Schema(columns))


def _mlflow_type(dtype: str) -> str:
    dtype = dtype.lower()
    if dtype.startswith(("int", "uint")):
        return "long"
    if dtype.startswith("float"):
        return "double"
    if dtype.startswith("bool"):
        return "boolean"
    if dtype.startswith("datetime"):
        return "datetime"
    return "string"


@contextlib.contextmanager
def _staging(out_dir: Path) -> Iterator[Path]:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.", suffix=".tmp"))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)
