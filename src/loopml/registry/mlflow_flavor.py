"""The loader MLflow calls for a model that `loopml export --format mlflow` wrote.

``mlflow.pyfunc.load_model(DIR)`` calls ``_load_pyfunc`` with the model's data folder;
the bundle's sha256 is checked against the one recorded at export before it is unpickled.

The export ships this file as the top-level module ``loopml_mlflow_loader`` beside the
part of loopml the bundle needs (``code/loopml``, see ``loopml.registry.runtime``), so
the model loads where loopml is not installed. The module imports nothing from loopml
when it is imported: where an installed loopml of the exported version is importable it
is used (a process that has imported loopml keeps its own), else the shipped copy.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

BUNDLE_FILE = "bundle.pkl"
INFO_FILE = "loopml.json"
SHIPPED = "shipped"
INSTALLED = "installed"


class PyfuncModel:
    """What ``mlflow.pyfunc`` wraps: ``predict`` returns a DataFrame with ``prediction``
    and, for classifiers, the probability column(s) of the output schema. ``runtime`` is
    where its loopml code came from: ``installed`` or ``shipped`` with the export."""

    def __init__(self, bundle: Any, runtime: str = INSTALLED) -> None:
        self.bundle = bundle
        self.runtime = runtime

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        import pandas as pd

        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        result = self.bundle.predict(frame)
        out = pd.DataFrame({"prediction": result.predictions}, index=frame.index)
        probabilities = result.probabilities
        if probabilities is not None and probabilities.ndim == 1:
            out["probability"] = probabilities
        elif probabilities is not None:
            for i, label in enumerate(self.bundle.classes or []):
                out[f"probability_{label}"] = probabilities[:, i]
        return out


def _load_pyfunc(data_path: str) -> PyfuncModel:
    folder = Path(data_path)
    info = json.loads((folder / INFO_FILE).read_text())
    runtime = _import_loopml(info.get("loopml_version"))
    errors = importlib.import_module("loopml.errors")
    bundle_module = importlib.import_module("loopml.model.bundle")
    data = (folder / BUNDLE_FILE).read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != info["artifact_sha256"]:
        raise errors.IntegrityError(
            f"{folder / BUNDLE_FILE} hashes to sha256:{actual[:12]}..., not the exported "
            f"sha256:{info['artifact_sha256'][:12]}... of {info['model']}@{info['version']}; "
            "refusing to load it. Export the model again."
        )
    return PyfuncModel(bundle_module.ModelBundle.from_bytes(data), runtime)


def _import_loopml(version: str | None) -> str:
    """Import loopml: one already imported, else an installed one of ``version``, else the
    copy shipped beside this file; return which (``installed`` or ``shipped``)."""
    code_dir = Path(__file__).resolve().parent
    shipped = code_dir / "loopml" / "__init__.py"
    if "loopml" not in sys.modules and shipped.is_file() and _installed(version):
        saved = list(sys.path)
        sys.path[:] = [p for p in sys.path if _resolved(p) != code_dir]
        try:
            importlib.import_module("loopml")
        except ImportError:
            pass
        finally:
            sys.path[:] = saved
    loopml = importlib.import_module("loopml")
    origin = Path(loopml.__file__ or "").resolve()
    return SHIPPED if origin == shipped.resolve() else INSTALLED


def _installed(version: str | None) -> bool:
    try:
        return version is not None and metadata.version("loopml") == version
    except metadata.PackageNotFoundError:
        return False


def _resolved(entry: str) -> Path | None:
    try:
        return Path(entry or ".").resolve()
    except OSError:
        return None
