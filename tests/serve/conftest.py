"""Tiny fitted bundles (a classifier and a regressor) and a real registry of versions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from loopml.domain import ColumnKind, ColumnSchema, ModelVersion, Schema
from loopml.model.bundle import ModelBundle
from loopml.serve.deploy import StoreDeployments
from loopml.storage.artifacts import open_artifact_store
from loopml.storage.artifacts.protocols import ArtifactStore
from loopml.storage.metadata import MetadataStore, open_metadata_store

JOBS = ("admin", "blue-collar", "student")

SIGNATURE = Schema(
    (
        ColumnSchema("age", ColumnKind.NUMERIC, "float64", nullable=False, min=18, max=90),
        ColumnSchema("balance", ColumnKind.NUMERIC, "float64", nullable=True),
        ColumnSchema("job", ColumnKind.CATEGORICAL, "str", nullable=False, categories=JOBS),
    )
)


def make_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 90, n)
    balance = rng.normal(1000, 300, n)
    balance[rng.random(n) < 0.1] = np.nan
    job = rng.choice(JOBS, n)
    score = (age - 50) / 20 + (job == "student") * 1.5 + rng.normal(0, 0.5, n)
    return pd.DataFrame(
        {
            "age": age,
            "balance": balance,
            "job": job.astype(object),
            "subscribed": np.where(score > 0, "yes", "no"),
            "spend": 3 * age + 10 * (job == "admin") + rng.normal(0, 1, n),
        }
    )


def _encoder() -> ColumnTransformer:
    return ColumnTransformer(
        [("job", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["job"])],
        remainder="passthrough",
    )


def make_classifier() -> ModelBundle:
    frame = make_frame()
    X, y = frame[SIGNATURE.names()], frame["subscribed"]
    model = HistGradientBoostingClassifier(max_iter=15, random_state=0)
    pipeline = Pipeline([("features", _encoder()), ("model", model)]).fit(X, y)
    return ModelBundle(
        pipeline=pipeline,
        signature=SIGNATURE,
        task="classification",
        target="subscribed",
        model_kind="hist_gradient_boosting",
        classes=list(pipeline.classes_),
        positive_class="yes",
    )


def make_regressor() -> ModelBundle:
    signature = Schema(tuple(c for c in SIGNATURE.columns if c.name != "balance"))
    frame = make_frame()
    X, y = frame[signature.names()], frame["spend"]
    pipeline = Pipeline([("features", _encoder()), ("model", LinearRegression())]).fit(X, y)
    return ModelBundle(
        pipeline=pipeline,
        signature=signature,
        task="regression",
        target="spend",
        model_kind="linear",
    )


@pytest.fixture(scope="session")
def classifier() -> ModelBundle:
    return make_classifier()


@pytest.fixture(scope="session")
def regressor() -> ModelBundle:
    return make_regressor()


# --- a real store with registered versions, on SQLite and PostgreSQL ---------------------

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@dataclass
class Registry:
    """A metadata store and an artifact store holding versions 1..n of model ``bank``."""

    store: MetadataStore
    artifacts: ArtifactStore
    project_id: str
    versions: list[ModelVersion]

    def source(self) -> StoreDeployments:
        return StoreDeployments(self.store, self.artifacts, self.project_id, "bank")


def register_bundle(
    store: MetadataStore,
    artifacts: ArtifactStore,
    project_id: str,
    name: str,
    bundle: ModelBundle,
    lineage: dict | None = None,
) -> ModelVersion:
    """Put ``bundle`` in the stores as the next version of model ``name``."""
    ref = artifacts.put_bytes(bundle.to_bytes())
    store.record_artifact(ref, media_type="pickle", run_id=None)
    run = store.create_run(project_id, "train")
    return store.create_model_version(
        project_id,
        name,
        run_id=run.run_id,
        artifact_digest=ref.digest,
        signature=bundle.signature,
        metrics={},
        lineage=lineage or {},
    )


def make_registry(url: str, folder: Path, bundles: list[ModelBundle]) -> Registry:
    store = open_metadata_store(url)
    artifacts = open_artifact_store(folder / "artifacts")
    project_id = store.ensure_project("bank-project").project_id
    versions = [register_bundle(store, artifacts, project_id, "bank", b) for b in bundles]
    return Registry(store, artifacts, project_id, versions)


@pytest.fixture(params=BACKENDS)
def registry(
    request: pytest.FixtureRequest, tmp_path: Path, classifier: ModelBundle
) -> Iterator[Registry]:
    """bank@1 and bank@2 (the same classifier) in a real store on each backend."""
    if request.param == "postgres":
        url = str(request.getfixturevalue("postgres_url"))
    else:
        url = f"sqlite:///{tmp_path / 'loopml.db'}"
    made = make_registry(url, tmp_path, [classifier, classifier, classifier])
    yield made
    made.store.close()


@pytest.fixture
def sqlite_registry(tmp_path: Path, classifier: ModelBundle) -> Iterator[Registry]:
    """The same registry on SQLite only, for the tests of the app's routing."""
    made = make_registry(f"sqlite:///{tmp_path / 'loopml.db'}", tmp_path, [classifier] * 3)
    yield made
    made.store.close()


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Fit and predict on one OpenMP/BLAS thread: the machine is shared."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


from tests.s3 import s3, s3_server  # noqa: E402, F401 - the loopback S3 server's fixtures
