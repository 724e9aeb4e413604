"""Export a verified model version to other formats: MLflow's pyfunc model and ONNX.

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
from loopml.storage.artifacts.protocols import ArtifactStore
from loopml.storage.metadata.protocols import MetadataStore

FORMATS = ("mlflow", "onnx")
_LIBRARIES = ("scikit-learn", "pandas", "numpy", "scipy", "pyarrow")
_KIND_LIBRARIES = {"lightgbm": ("lightgbm",), "xgboost": ("xgboost",)}


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


def requirements(bundle: ModelBundle) -> list[str]:
    """Pinned pip requirements to load ``bundle``: loopml and the libraries it pickles."""
    names = ("loopml", *_LIBRARIES, *_KIND_LIBRARIES.get(bundle.model_kind, ()))
    return [f"{name}=={metadata.version(name)}" for name in names]


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
    files = path.parent / "data"
    files.mkdir()
    (files / BUNDLE_FILE).write_bytes(data)
    info = model_info(version, bundle, data)
    (files / INFO_FILE).write_text(json.dumps(info, indent=2, default=str))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.pyfunc.save_model(
            str(path),
            loader_module="loopml.registry.mlflow_flavor",
            data_path=str(files),
            pip_requirements=requirements(bundle),
            signature=_mlflow_signature(version),
            metadata={"loopml_model": version.ref, "artifact_sha256": info["artifact_sha256"]},
        )


def _mlflow_signature(version: ModelVersion) -> Any:
    """The input columns with the types training saw (MLflow checks them on predict)."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema, TensorSpec

    columns: list[ColSpec | TensorSpec] = [
        ColSpec(_mlflow_type(column.dtype), column.name, required=False)
        for column in version.signature.columns
    ]
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
