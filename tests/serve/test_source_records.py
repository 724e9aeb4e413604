"""The served signature is the source's: names, yes/no, numbers and dates as text."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from loopml.data.clean import clean_frame, cleaner_for, example_row, source_example
from loopml.data.ingest import clean_column_names
from loopml.data.schema import infer_schema
from loopml.domain import Schema
from loopml.model.bundle import ModelBundle, with_cleaner
from loopml.serve.app import create_app
from loopml.spec.quality import CleaningSpec

FEATURES = ["home_owner", "monthly_charges", "signup", "plan"]


def source(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    charges = rng.uniform(10, 2000, n)
    return pd.DataFrame(
        {
            "Customer ID": [f"C{i}" for i in range(n)],
            "Home Owner": rng.choice(["yes", "no"], n),
            "Monthly Charges": [f"${v:,.2f}" for v in charges],
            "signup": pd.date_range("2024-01-01", periods=n).strftime("%m/%d/%Y"),
            "plan": rng.choice(["basic", "premium"], n),
            "churned": np.where(charges > 1000, "yes", "no"),
        }
    )


def fitted_bundle() -> ModelBundle:
    raw, column_map = clean_column_names(source())
    cleaned, log = clean_frame(raw, CleaningSpec(), target="churned")
    cleaning = log.to_dict() | {"column_map": column_map, "example": example_row(raw)}
    columns = ColumnTransformer(
        [
            ("numbers", "passthrough", ["monthly_charges"]),
            ("owner", OneHotEncoder(handle_unknown="ignore"), ["home_owner", "plan"]),
        ]
    )
    model = Pipeline([("transform", columns), ("model", LogisticRegression(max_iter=500))])
    model.fit(cleaned[FEATURES], cleaned["churned"])
    cleaner = cleaner_for(log, column_map, FEATURES).fit(cleaned[FEATURES])
    return ModelBundle(
        pipeline=with_cleaner(model, cleaner),
        signature=nullable(infer_schema(cleaned[FEATURES])),
        task="classification",
        target="churned",
        model_kind="linear",
        classes=["no", "yes"],
        positive_class="yes",
        info={"input_example": source_example(cleaning, FEATURES)},
    )


def nullable(schema: Schema) -> Schema:
    return Schema(tuple(replace(c, nullable=True) for c in schema.columns))


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    return fitted_bundle()


@pytest.fixture
def client(bundle: ModelBundle) -> Iterator[TestClient]:
    app = create_app(bundle, model_name="churn", version=1, sink=lambda batch: None)
    with TestClient(app) as test_client:
        yield test_client


def records(n: int, seed: int) -> list[dict]:
    return source(n, seed).drop(columns=["churned"]).to_dict("records")


def test_the_sources_own_records_score_as_batch_scoring_does(
    client: TestClient, bundle: ModelBundle
) -> None:
    rows = records(30, seed=3)
    body = client.post("/predict", json={"rows": rows}).json()
    frame, _ = clean_column_names(pd.DataFrame(rows))
    expected = bundle.predict(frame)
    np.testing.assert_allclose(body["probabilities"], expected.probabilities, rtol=1e-12)
    assert body["predictions"] == list(expected.predictions)
    cleaned = {"home_owner": True, "monthly_charges": 1500.0, "signup": "01/02/2024"}
    one = client.post("/predict", json={"row": cleaned | {"plan": "basic"}})
    assert one.status_code == 200, one.text


def test_values_the_cleaning_cannot_read_are_named(client: TestClient) -> None:
    rows = records(3, seed=4)
    rows[1]["Monthly Charges"] = "a lot"
    rows[2]["Home Owner"] = "perhaps"
    response = client.post("/predict", json={"rows": rows})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["row"], e["field"], e["value"]) for e in errors] == [
        (1, "Monthly Charges", "a lot"),
        (2, "Home Owner", "perhaps"),
    ]
    assert "as a number" in errors[0]["message"] and "true or false" in errors[1]["message"]


def test_unknown_fields_and_a_column_under_both_names_are_refused(client: TestClient) -> None:
    row = records(1, seed=5)[0]
    unknown = client.post("/predict", json={"row": row | {"colour": "red"}})
    assert unknown.status_code == 422
    assert {(e["field"], e["message"]) for e in unknown.json()["errors"]} == {
        ("colour", "unknown field")
    }
    twice = client.post("/predict", json={"row": row | {"home_owner": True}})
    assert twice.status_code == 422
    assert "given twice" in twice.json()["errors"][0]["message"]


def test_the_columns_form_takes_source_names(client: TestClient) -> None:
    rows = records(5, seed=6)
    columns = {name: [r[name] for r in rows] for name in rows[0]}
    rows_body = client.post("/predict", json={"rows": rows}).json()
    columns_body = client.post("/predict", json={"columns": columns}).json()
    assert columns_body["probabilities"] == rows_body["probabilities"]


def test_openapi_documents_the_source_schema_with_an_example(client: TestClient) -> None:
    body = client.get("/openapi.json").json()["paths"]["/predict"]["post"]["requestBody"]
    content = body["content"]["application/json"]
    row = content["schema"]["oneOf"][0]["properties"]["row"]
    assert row["required"] == ["Home Owner", "Monthly Charges", "signup", "plan"]
    assert row["properties"]["Home Owner"]["type"] == ["boolean", "string", "null"]
    assert row["properties"]["Monthly Charges"]["type"] == ["number", "string", "null"]
    assert "monthly_charges" in row["properties"]["Monthly Charges"]["description"]
    example = content["example"]["row"]
    assert example["Monthly Charges"].startswith("$") and example["Home Owner"] in ("yes", "no")
