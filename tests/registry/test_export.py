"""Exports: an MLflow pyfunc model that MLflow loads, ONNX graphs that onnxruntime runs
like the bundle, clear refusals, and tampered artifacts that are never unpickled."""

from __future__ import annotations

import json
import pickle
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from tests.registry.conftest import bike_frame, fit_kind, rows, write_project
from tests.registry.test_registry import Exploding

import loopml
from loopml.domain import ModelVersion
from loopml.errors import ConflictError, DataError, IntegrityError
from loopml.registry.export import export_model
from loopml.registry.onnx import UnsupportedForOnnx, onnx_inputs


def import_mlflow():
    with warnings.catch_warnings():  # mlflow warns about its own type hints on import
        warnings.simplefilter("ignore")
        import mlflow.pyfunc
    return mlflow.pyfunc


def test_mlflow_export_loads_in_mlflow_and_predicts_like_the_bundle(trained, tmp_path) -> None:
    version, path = trained.export_model("bank@1", "mlflow", tmp_path / "mlflow-model")
    _, bundle = trained.load_model("bank@1")
    frame = rows(trained.settings.project_dir)
    loaded = import_mlflow().load_model(str(path))
    out = loaded.predict(frame[bundle.feature_names])
    expected = bundle.predict(frame)
    np.testing.assert_array_equal(out["probability"].to_numpy(), expected.probabilities)
    assert list(out["prediction"]) == list(expected.predictions)
    assert loaded._model_impl.runtime == "installed"  # this process's loopml, not the copy
    needs = (path / "requirements.txt").read_text().split()
    assert not any(r.startswith("loopml") for r in needs)  # no index has it: it is shipped
    assert any(r.startswith("scikit-learn==") for r in needs)
    mlmodel = (path / "MLmodel").read_text()
    assert "loader_module: loopml_mlflow_loader" in mlmodel
    assert version.artifact_digest in mlmodel and (path / "code" / "loopml").is_dir()
    events = trained.list_events("model.exported")
    assert events[-1].payload["format"] == "mlflow" and events[-1].payload["version"] == 1


def test_changed_mlflow_bundle_is_refused_by_the_loader(trained, tmp_path) -> None:
    _, path = trained.export_model("bank@1", "mlflow", tmp_path / "m")
    bundle_file = next(path.rglob("bundle.pkl"))
    bundle_file.write_bytes(pickle.dumps(Exploding()))
    with pytest.raises(IntegrityError, match="refusing to load"):
        import_mlflow().load_model(str(path))


def test_tampered_artifact_is_refused_by_export_and_load_model(trained, tmp_path) -> None:
    version = trained.store.get_model_version("bank", 1)
    artifact = trained.artifacts.path(version.artifact_digest)
    artifact.chmod(0o644)
    artifact.write_bytes(pickle.dumps(Exploding()))  # unpickling it would fail the test
    with pytest.raises(IntegrityError, match="corrupt"):
        trained.export_model("bank@1", "mlflow", tmp_path / "out")
    with pytest.raises(IntegrityError, match="corrupt"):
        trained.export_model("bank@1", "onnx", tmp_path / "out")
    with pytest.raises(IntegrityError, match="corrupt"):
        loopml.load_model("bank@1", str(trained.settings.project_dir))
    assert not (tmp_path / "out").exists()


def test_export_refuses_a_used_folder_and_an_unknown_format(trained, tmp_path) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    with pytest.raises(ConflictError, match="not empty"):
        trained.export_model("bank@1", "mlflow", used)
    assert [p.name for p in used.iterdir()] == ["keep.txt"]
    with pytest.raises(DataError, match="mlflow, onnx"):
        trained.export_model("bank@1", "pmml", tmp_path / "x")
    assert not (tmp_path / "x").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj", "used"]  # no staging left


def onnx_export(bundle, out: Path) -> tuple[object, dict[str, str]]:
    import onnxruntime as ort

    version = ModelVersion("bank", 1, "r" * 32, "0" * 64, datetime.now(UTC), bundle.signature)
    export_model(version, bundle, bundle.to_bytes(), "onnx", out)
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    inputs = json.loads((out / "loopml.json").read_text())["inputs"]
    return session, {column: kind.split()[0] for column, kind in inputs.items()}


@pytest.mark.parametrize("kind", ["linear", "random_forest", "lightgbm", "xgboost"])
def test_onnx_classifier_matches_the_bundle(bank_dir: Path, tmp_path: Path, kind: str) -> None:
    bundle, frame = fit_kind(bank_dir, kind)
    frame = frame.head(400).copy()
    frame.loc[frame.index[::9], "balance"] = np.nan  # the imputer is in the graph too
    session, columns = onnx_export(bundle, tmp_path / kind)
    labels, proba = session.run(None, onnx_inputs(frame, columns))
    expected = bundle.predict(frame)
    np.testing.assert_allclose(proba[:, 1], expected.probabilities, atol=1e-5)
    np.testing.assert_array_equal(labels, expected.predictions.astype(labels.dtype))


def test_onnx_export_of_a_calibrated_bundle_states_its_calibrator(
    bank_dir: Path, tmp_path: Path
) -> None:
    from loopml.evaluate.calibration import fit_calibration
    from loopml.evaluate.holdout import positive_truth
    from loopml.model.bundle import calibrate

    bundle, frame = fit_kind(bank_dir, "linear")
    raw = bundle.predict(frame).probabilities
    truth = positive_truth(bundle, frame[bundle.target])
    bundle.info.update(calibration=fit_calibration(truth, raw, "isotonic"), threshold=0.3)
    frame = frame.head(400)
    expected = bundle.predict(frame)
    session, columns = onnx_export(bundle, tmp_path / "calibrated")
    stated = json.loads((tmp_path / "calibrated" / "loopml.json").read_text())
    _, proba = session.run(None, onnx_inputs(frame, columns))
    np.testing.assert_allclose(proba[:, 1], raw[:400], atol=1e-5)  # the graph: uncalibrated
    assert stated["calibration"]["method"] == "isotonic"
    assert stated["calibration"]["applies_to"] == bundle.positive_class
    assert not np.allclose(proba[:, 1], expected.probabilities, atol=1e-3)
    # what loopml.json says, applied to the graph's output, is what the bundle predicts
    calibrated = calibrate(proba[:, 1].astype(float), stated["calibration"])
    np.testing.assert_allclose(calibrated, expected.probabilities, atol=1e-5)
    called = calibrated >= stated["threshold"]
    assert list(called) == list(expected.predictions == bundle.positive_class)


@pytest.mark.parametrize("kind", ["linear", "xgboost"])
def test_onnx_regressor_matches_the_bundle(bike_csv: Path, tmp_path: Path, kind: str) -> None:
    frame = bike_frame(bike_csv, rows=800).drop(columns=["mnth2", "weekday2", "hr2"])
    project = write_project(tmp_path, frame, "cnt", [])
    bundle, data = fit_kind(project, kind)
    session, columns = onnx_export(bundle, tmp_path / kind)
    (got,) = session.run(None, onnx_inputs(data, columns))
    np.testing.assert_allclose(got.ravel(), bundle.predict(data).predictions, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("kind", ["linear", "lightgbm"])
def test_onnx_handles_categorical_features(bike_csv: Path, tmp_path: Path, kind: str) -> None:
    frame = bike_frame(bike_csv, rows=1200)
    features = {"categorical": {"encoding": "onehot", "rare_min_frequency": 0.042}}
    project = write_project(tmp_path, frame, "cnt", [], features=features)
    bundle, data = fit_kind(project, kind)
    session, columns = onnx_export(bundle, tmp_path / kind)
    assert columns["hr2"] == "string" and columns["temp"] == "float64"
    data = data.head(300).copy()
    data.loc[data.index[::7], "weekday2"] = np.nan  # missing: imputed in the graph
    data.loc[data.index[::11], "hr2"] = "25 PM"  # never seen: all zeros after grouping
    (got,) = session.run(None, onnx_inputs(data, columns))
    np.testing.assert_allclose(got.ravel(), bundle.predict(data).predictions, rtol=1e-4, atol=1e-3)


def test_onnx_refuses_target_encoding_naming_the_columns(bike_csv: Path, tmp_path: Path) -> None:
    features = {"categorical": {"encoding": "target"}}
    project = write_project(tmp_path, bike_frame(bike_csv, 400), "cnt", [], features=features)
    bundle, _ = fit_kind(project, "linear")
    with pytest.raises(UnsupportedForOnnx, match="TargetEncoder.*weekday2"):
        onnx_export(bundle, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_onnx_refuses_an_unsupported_kind(bank_dir: Path, tmp_path: Path) -> None:
    bundle, _ = fit_kind(bank_dir, "hist_gradient_boosting")
    with pytest.raises(UnsupportedForOnnx, match="not 'hist_gradient_boosting'.*mlflow"):
        onnx_export(bundle, tmp_path / "out")
    assert not (tmp_path / "out").exists()
