"""ONNX export refuses ordinal features by name (MLflow export takes them)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tests.registry.conftest import fit_kind, write_project

from loopml.registry.onnx import UnsupportedForOnnx, input_columns


def test_onnx_export_names_the_ordinal_features_it_cannot_take(
    churn_csv: Path, tmp_path: Path
) -> None:
    frame = pd.read_csv(churn_csv, nrows=400)
    project = write_project(tmp_path, frame, "churned", ["Customer ID"])
    bundle, _ = fit_kind(project, "linear")
    with pytest.raises(UnsupportedForOnnx, match=r"'ordinal' features \(contract, satisfaction\)"):
        input_columns(bundle)
