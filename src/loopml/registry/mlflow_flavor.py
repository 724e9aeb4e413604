"""The loader MLflow calls for a model that `loopml export --format mlflow` wrote.

``mlflow.pyfunc.load_model(DIR)`` calls ``_load_pyfunc`` with the model's data folder;
the bundle's sha256 is checked against the one recorded at export before it is unpickled.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from loopml.errors import IntegrityError
from loopml.model.bundle import ModelBundle

BUNDLE_FILE = "bundle.pkl"
INFO_FILE = "loopml.json"


class PyfuncModel:
    """What ``mlflow.pyfunc`` wraps: ``predict`` returns a DataFrame with ``prediction``
    and, for classifiers, the probability column(s) of the output schema."""

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle

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
    data = (folder / BUNDLE_FILE).read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != info["artifact_sha256"]:
        raise IntegrityError(
            f"{folder / BUNDLE_FILE} hashes to sha256:{actual[:12]}..., not the exported "
            f"sha256:{info['artifact_sha256'][:12]}... of {info['model']}@{info['version']}; "
            "refusing to load it. Export the model again."
        )
    return PyfuncModel(ModelBundle.from_bytes(data))
