"""`loopml.load_model`: a verified model found the way the CLI finds the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.registry.conftest import bike_frame, fit_kind, rows, write_project

import loopml
from loopml.errors import DataError, NotFoundError


def test_load_model_predicts_like_the_bundle_from_frames_and_records(trained) -> None:
    project = trained.settings.project_dir
    _, bundle = trained.load_model("bank@1")
    model = loopml.load_model("bank@1", str(project))
    frame = rows(project, 50)
    expected = bundle.predict(frame)
    np.testing.assert_array_equal(model.predict(frame), expected.predictions)
    records = frame[model.feature_names].to_dict(orient="records")
    np.testing.assert_array_equal(model.predict(records), expected.predictions)
    assert model.predict(records[3])[0] == expected.predictions[3]
    proba = model.predict_proba(records)
    assert proba.shape == (50, 2) and model.classes == [0, 1]
    np.testing.assert_allclose(proba[:, 1], expected.probabilities)
    assert model.ref == "bank@1"
    assert [c["name"] for c in model.output_schema["columns"]] == ["prediction", "probability"]


def test_load_model_finds_the_store_through_loopml_db(
    trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = trained.settings.home
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(NotFoundError, match="no loopml project store"):
        loopml.load_model("bank@1")
    monkeypatch.setenv("LOOPML_DB", f"sqlite:///{home / 'loopml.db'}")
    monkeypatch.setenv("LOOPML_ARTIFACTS", str(home / "artifacts"))
    model = loopml.load_model("bank@1")
    assert model.version.version == 1
    with pytest.raises(NotFoundError, match="no version 9 \\(latest is 1\\)"):
        loopml.load_model("bank@9")


def test_load_model_names_missing_columns_and_bad_input(trained) -> None:
    model = loopml.load_model("bank@1", str(trained.settings.project_dir))
    with pytest.raises(DataError, match="lack the columns \\['default', 'balance'"):
        model.predict([{"age": 40}])
    with pytest.raises(DataError, match="list of dicts"):
        model.predict("age=40")


def test_regression_model_predicts_floats_and_has_no_probabilities(
    bike_csv: Path, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from loopml.domain import ModelVersion
    from loopml.registry import LoadedModel

    frame = bike_frame(bike_csv, rows=400).drop(columns=["mnth2", "weekday2", "hr2"])
    bundle, data = fit_kind(write_project(tmp_path, frame, "cnt", []), "linear")
    version = ModelVersion("bike", 1, "r" * 32, "0" * 64, datetime.now(UTC), bundle.signature)
    model = LoadedModel(version, bundle)
    np.testing.assert_allclose(
        model.predict(data.head(5)), bundle.predict(data.head(5)).predictions
    )
    assert model.output_schema["columns"] == [{"name": "prediction", "type": "float"}]
    with pytest.raises(DataError, match="regression model; it has no predict_proba"):
        model.predict_proba(data.head(5))
