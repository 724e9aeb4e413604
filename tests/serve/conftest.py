"""Tiny fitted bundles (a classifier and a regressor) for the serving tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.train.bundle import ModelBundle

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
