"""Registering versions, moving the champion alias, and refusing tampered artifacts."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.errors import IntegrityError, NotFoundError
from loopml.model.bundle import ModelBundle
from loopml.registry import load_bundle, output_schema, register_model, resolve_model
from loopml.storage.artifacts import open_artifact_store
from loopml.storage.metadata import open_metadata_store

SIGNATURE = Schema((ColumnSchema("x", ColumnKind.NUMERIC, "float64"),))


class Exploding:
    """Unpickling this object would raise: proof a tampered artifact is never unpickled."""

    def __reduce__(self):  # noqa: ANN204
        return (_explode, ())


def _explode() -> None:
    raise AssertionError("a tampered artifact was unpickled")


@pytest.fixture
def stores(tmp_path: Path):
    store = open_metadata_store(f"sqlite:///{tmp_path / 'loopml.db'}")
    artifacts = open_artifact_store(str(tmp_path / "artifacts"))
    project = store.ensure_project("demo")
    yield store, artifacts, project.project_id
    store.close()


def fitted_bundle() -> ModelBundle:
    X = pd.DataFrame({"x": np.arange(40, dtype=float)})
    y = np.array([0] * 20 + [1] * 20)
    pipeline = Pipeline([("model", LogisticRegression())]).fit(X, y)
    return ModelBundle(pipeline, SIGNATURE, "classification", "y", "linear", [0, 1], 1)


def register(stores, data: bytes, champion: bool):
    store, artifacts, project_id = stores
    ref = artifacts.put_bytes(data)
    return register_model(
        store,
        project_id,
        "demo",
        artifact_digest=ref.digest,
        run_id="r" * 32,
        signature=SIGNATURE,
        metrics={"roc_auc": 0.9},
        lineage={"snapshot_id": "s"},
        champion=champion,
    )


def test_champion_moves_and_each_promotion_is_an_event(stores) -> None:
    store, artifacts, project_id = stores
    data = fitted_bundle().to_bytes()
    first = register(stores, data, champion=True)
    second = register(stores, data + b"", champion=False)
    assert (first.version, second.version) == (1, 2)
    assert resolve_model(store, "demo").version == 1
    third = register(stores, data, champion=True)
    assert third.aliases == ("champion",)
    assert resolve_model(store, "demo@champion").version == 3
    assert resolve_model(store, "demo@2").version == 2
    promotions = store.list_events(project_id, "model.promoted")
    assert [e.payload["previous"] for e in promotions] == [None, 1]


def test_load_bundle_predicts_like_the_original(stores) -> None:
    store, artifacts, _ = stores
    bundle = fitted_bundle()
    register(stores, bundle.to_bytes(), champion=True)
    version, loaded = load_bundle(store, artifacts, "demo@champion")
    frame = pd.DataFrame({"x": [3.0, 35.0]})
    assert version.version == 1
    np.testing.assert_array_equal(
        loaded.predict(frame).probabilities, bundle.predict(frame).probabilities
    )


def test_tampered_artifact_is_refused_and_never_unpickled(stores) -> None:
    store, artifacts, _ = stores
    version = register(stores, pickle.dumps(Exploding()), champion=True)
    path = artifacts.path(version.artifact_digest)
    path.chmod(0o644)
    path.write_bytes(pickle.dumps(Exploding()) + b" ")
    with pytest.raises(IntegrityError, match="corrupt"):
        load_bundle(store, artifacts, "demo@champion")


def test_unknown_references_name_what_exists(stores) -> None:
    store, _, _ = stores
    register(stores, fitted_bundle().to_bytes(), champion=False)
    with pytest.raises(NotFoundError, match="latest is 1"):
        resolve_model(store, "demo@7")
    with pytest.raises(NotFoundError, match="champion"):
        resolve_model(store, "demo")
    with pytest.raises(ValueError, match="not a model reference"):
        resolve_model(store, "demo@@x")


def test_output_schema_names_the_columns_predictions_come_in() -> None:
    binary = output_schema(fitted_bundle())
    assert binary["columns"][0] == {
        "name": "prediction",
        "type": "int",
        "classes": [0, 1],
        "rule": "1 when probability >= 0.5",
    }
    assert binary["columns"][1] == {"name": "probability", "type": "float", "of_class": 1}
    X = pd.DataFrame({"x": np.arange(60, dtype=float)})
    y = np.array(["low", "mid", "high"] * 20)
    pipeline = Pipeline([("model", LogisticRegression())]).fit(X, y)
    classes = list(pipeline.classes_)
    multi = ModelBundle(pipeline, SIGNATURE, "classification", "y", "linear", classes, None)
    names = [c["name"] for c in output_schema(multi)["columns"]]
    assert names == ["prediction", *(f"probability_{c}" for c in classes)]
    assert output_schema(multi)["columns"][0]["type"] == "string"
    regression = ModelBundle(pipeline, SIGNATURE, "regression", "y", "linear")
    assert output_schema(regression)["columns"] == [{"name": "prediction", "type": "float"}]
