"""The model app through the ASGI test client: answers, refusals, and logging."""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Iterator

import orjson
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.model.bundle import ModelBundle
from loopml.serve.app import create_app

GOOD_ROW = {"age": 41.0, "balance": 1200.5, "job": "admin"}


@pytest.fixture
def sink() -> list[pd.DataFrame]:
    return []


@pytest.fixture
def client(classifier: ModelBundle, sink: list[pd.DataFrame]) -> Iterator[TestClient]:
    app = create_app(
        classifier, model_name="bank", version=2, sink=sink.append, max_body_bytes=20_000
    )
    with TestClient(app) as test_client:
        yield test_client


def assert_still_serving(client: TestClient) -> None:
    response = client.post("/predict", json={"row": GOOD_ROW})
    assert response.status_code == 200, response.text


def problems(response) -> set[tuple[int | None, str | None]]:
    body = response.json()
    assert body["error_count"] == len(body["errors"])
    return {(e["row"], e["field"]) for e in body["errors"]}


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "model": "bank@2"}


def test_predict_one_row(client: TestClient) -> None:
    response = client.post("/predict", json={"row": GOOD_ROW})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "bank@2"
    assert len(body["prediction_ids"]) == 1 and len(body["prediction_ids"][0]) == 32
    assert body["predictions"][0] in {"yes", "no"}
    assert 0.0 <= body["probabilities"][0] <= 1.0


def test_predict_a_batch(client: TestClient) -> None:
    rows = [
        {"age": 20 + i, "balance": None if i % 3 == 0 else 100.0 * i, "job": job}
        for i, job in enumerate(["admin", "student", "blue-collar", "unseen-job"] * 5)
    ]
    response = client.post("/predict", json={"rows": rows})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(set(body["prediction_ids"])) == len(rows)
    assert len(body["predictions"]) == len(rows)
    assert all(0.0 <= p <= 1.0 for p in body["probabilities"])


def test_batch_matches_the_bundle(client: TestClient, classifier: ModelBundle) -> None:
    rows = [{"age": 30.0, "balance": 10.0, "job": "student"}, {**GOOD_ROW, "age": 80}]
    body = client.post("/predict", json={"rows": rows}).json()
    expected = classifier.predict(pd.DataFrame(rows))
    assert body["predictions"] == list(expected.predictions)
    assert body["probabilities"] == pytest.approx(list(expected.probabilities))


def test_regression_has_no_probabilities(regressor: ModelBundle) -> None:
    app = create_app(regressor, model_name="spend", version=1, sink=lambda frame: None)
    with TestClient(app) as client:
        response = client.post("/predict", json={"rows": [{"age": 30, "job": "admin"}]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body["predictions"][0], float)
    assert body["probabilities"] is None


def test_missing_field_is_422(client: TestClient) -> None:
    rows = [GOOD_ROW, {"age": 30.0, "balance": 1.0}]
    response = client.post("/predict", json={"rows": rows})
    assert response.status_code == 422
    assert problems(response) == {(1, "job")}
    assert "missing" in response.json()["errors"][0]["message"]
    assert_still_serving(client)


def test_unknown_field_is_422(client: TestClient) -> None:
    response = client.post("/predict", json={"row": {**GOOD_ROW, "salary": 3}})
    assert response.status_code == 422
    assert problems(response) == {(0, "salary")}
    assert "unknown" in response.json()["errors"][0]["message"]
    assert_still_serving(client)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("age", "forty"),
        ("age", True),
        ("job", False),
        ("job", {"name": "admin"}),
        ("balance", [1.0]),
        ("job", None),
        ("age", None),
    ],
)
def test_mistyped_field_is_422(client: TestClient, field: str, value: object) -> None:
    response = client.post("/predict", json={"rows": [GOOD_ROW, {**GOOD_ROW, field: value}]})
    assert response.status_code == 422
    assert problems(response) == {(1, field)}
    assert_still_serving(client)


def test_every_problem_is_listed(client: TestClient) -> None:
    rows = [{"age": "x", "job": "admin", "balance": 1.0}, {"age": 1.0, "extra": 1}]
    response = client.post("/predict", json={"rows": rows})
    assert response.status_code == 422
    assert problems(response) == {(0, "age"), (1, "balance"), (1, "job"), (1, "extra")}


def test_null_is_allowed_for_a_nullable_column(client: TestClient) -> None:
    response = client.post("/predict", json={"row": {**GOOD_ROW, "balance": None}})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "body",
    [{"rows": []}, {"rows": {"age": 1}}, [GOOD_ROW], {"row": GOOD_ROW, "rows": [GOOD_ROW]}, {}],
)
def test_bad_shape_is_422(client: TestClient, body: object) -> None:
    response = client.post("/predict", json=body)
    assert response.status_code == 422
    assert response.json()["detail"]
    assert_still_serving(client)


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post(
        "/predict", content=b'{"row": {"age": 4', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
    assert_still_serving(client)


def test_oversized_body_is_413(client: TestClient) -> None:
    response = client.post("/predict", json={"rows": [GOOD_ROW] * 1000})
    assert response.status_code == 413
    assert_still_serving(client)


def test_oversized_streamed_body_is_413(client: TestClient) -> None:
    chunks = (b" " * 1000 for _ in range(50))  # no content-length: read under the limit
    response = client.post("/predict", content=chunks)
    assert response.status_code == 413
    assert_still_serving(client)


def test_model_failure_is_500(classifier: ModelBundle, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def predict_proba(self, X):
            raise RuntimeError("boom")

    broken = ModelBundle(
        pipeline=Broken(),
        signature=classifier.signature,
        task="classification",
        target="subscribed",
        model_kind="linear",
        classes=["no", "yes"],
        positive_class="yes",
    )
    app = create_app(broken, model_name="bank", version=3, sink=lambda frame: None)
    with TestClient(app) as client:
        response = client.post("/predict", json={"row": GOOD_ROW})
        assert response.status_code == 500
        assert response.json() == {"detail": "the model failed to predict: RuntimeError"}
        assert client.get("/health").status_code == 200
    assert any("bank@3 failed" in r.getMessage() for r in caplog.records)


def test_predictions_are_logged_on_shutdown(
    classifier: ModelBundle, sink: list[pd.DataFrame]
) -> None:
    app = create_app(
        classifier, model_name="bank", version=2, sink=sink.append, flush_interval_s=60
    )
    with TestClient(app) as client:
        rows = [GOOD_ROW, {"age": 30, "balance": None, "job": "student"}]
        body = client.post("/predict", json={"rows": rows}).json()
        client.post("/predict", json={"row": {"age": 1}})  # refused: not logged
    logged = pd.concat(sink)
    assert logged["prediction_id"].tolist() == body["prediction_ids"]
    assert list(logged.columns) == [
        "prediction_id",
        "predicted_at",
        "model_name",
        "model_version",
        "shadow",
        "latency_ms",
        "age",
        "balance",
        "job",
        "prediction",
        "probability",
    ]
    assert logged["age"].dtype == "float64"
    assert logged["balance"].isna().tolist() == [False, True]
    assert logged["probability"].tolist() == pytest.approx(body["probabilities"])
    assert str(logged["predicted_at"].dt.tz) == "UTC"
    assert (logged["latency_ms"] > 0).all()
    assert set(logged["model_version"]) == {2} and not logged["shadow"].any()


def test_openapi_describes_the_signature(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    row = body["schema"]["oneOf"][0]["properties"]["row"]
    assert row["required"] == ["age", "balance", "job"]
    assert row["properties"]["age"] == {"type": ["number"]}
    assert row["properties"]["balance"] == {"type": ["number", "null"]}
    explain = schema["paths"]["/explain"]["post"]["requestBody"]["content"]["application/json"]
    assert explain == body
    assert {"/health", "/ready", "/metrics", "/feedback", "/admin/reload"} <= set(schema["paths"])
    assert "get" in schema["paths"]["/health"] and "post" in schema["paths"]["/feedback"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text


def test_the_server_starts_without_fastapi(classifier: ModelBundle) -> None:
    """FastAPI only builds the docs, on their first request: a server starts faster."""
    code = (
        "import pickle, sys; from loopml.serve.app import create_app; "
        "bundle = pickle.loads(sys.stdin.buffer.read()); "
        "create_app(bundle, model_name='bank', version=1, sink=lambda frame: None); "
        "print('fastapi' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps(classifier), capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "False"


def test_a_number_is_a_category(client: TestClient) -> None:
    response = client.post("/predict", json={"row": {**GOOD_ROW, "job": 7}})
    assert response.status_code == 200, response.text  # an unseen category, not an error


def test_boolean_datetime_and_text_columns(sink: list[pd.DataFrame]) -> None:
    signature = Schema(
        (
            ColumnSchema("x", ColumnKind.NUMERIC, "int64", nullable=False),
            ColumnSchema("flag", ColumnKind.BOOLEAN, "bool"),
            ColumnSchema("day", ColumnKind.DATETIME, "str"),
            ColumnSchema("note", ColumnKind.TEXT, "str"),
        )
    )
    seen: list[pd.DataFrame] = []

    class Echo:
        def predict(self, X: pd.DataFrame):
            seen.append(X)
            return X["x"].to_numpy() * 2.0

    bundle = ModelBundle(Echo(), signature, "regression", "y", "linear")
    app = create_app(bundle, model_name="m", version=1, sink=sink.append)
    rows = [
        {"x": 1, "flag": True, "day": "2024-01-31", "note": "hello"},
        {"x": 2, "flag": None, "day": None, "note": None},
    ]
    bad = {"x": 1.5, "flag": "yes", "day": 20240131, "note": 3}
    with TestClient(app) as client:
        response = client.post("/predict", json={"rows": rows})
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == [2.0, 4.0]
        refused = client.post("/predict", json={"row": bad})
    assert refused.status_code == 422
    assert problems(refused) == {(0, "flag"), (0, "day"), (0, "note")}
    X = seen[0]
    assert list(X.columns) == ["x", "flag", "day", "note"]
    assert X["x"].dtype == "float64"
    assert X["flag"].tolist()[0] is True and pd.isna(X["flag"].tolist()[1])
    logged = pd.concat(sink)
    assert logged["flag"].dtype == "boolean"
    assert logged["day"].tolist()[0] == "2024-01-31"


def columns_of_rows(rows: list[dict]) -> dict[str, list]:
    return {name: [row[name] for row in rows] for name in rows[0]}


def test_the_columns_form_answers_like_the_rows_form(
    client: TestClient, sink: list[pd.DataFrame]
) -> None:
    rows = [
        {"age": 20 + i, "balance": None if i % 3 == 0 else 10.0 * i, "job": job}
        for i, job in enumerate(["admin", "student", 4, "unseen-job"] * 3)
    ]
    by_rows = client.post("/predict", json={"rows": rows}).json()
    by_columns = client.post("/predict", json={"columns": columns_of_rows(rows)})
    assert by_columns.status_code == 200, by_columns.text
    body = by_columns.json()
    assert body["predictions"] == by_rows["predictions"]
    assert body["probabilities"] == by_rows["probabilities"]
    assert set(body["prediction_ids"]).isdisjoint(by_rows["prediction_ids"])
    client.app.state.server.routing.primary.logger.flush()
    logged = pd.concat(sink, ignore_index=True).set_index("prediction_id")
    assert logged.loc[body["prediction_ids"], "job"].tolist()[:3] == ["admin", "student", "4"]


@pytest.mark.parametrize(
    ("columns", "problem"),
    [
        (
            {"age": [30, "x"], "balance": [1.0, 2.0], "job": ["admin", None]},
            {(1, "age"), (1, "job")},
        ),
        ({"age": [30], "job": ["admin"]}, {(None, "balance")}),
        ({"age": [30], "balance": [1.0], "job": ["admin"], "x": [1]}, {(None, "x")}),
    ],
)
def test_the_columns_form_names_each_problem(
    client: TestClient, columns: dict, problem: set
) -> None:
    response = client.post("/predict", json={"columns": columns})
    assert response.status_code == 422, response.text
    assert problems(response) == problem
    assert_still_serving(client)


@pytest.mark.parametrize(
    ("columns", "words"),
    [
        ({"age": [1, 2], "balance": [1.0], "job": ["a", "b"]}, "one length"),
        ({"age": 1, "balance": [1.0], "job": ["a"]}, "'age' must be lists"),
        ({"age": [], "balance": [], "job": []}, "empty"),
        ([], "object of lists"),
    ],
)
def test_a_malformed_columns_body_is_422(client: TestClient, columns: object, words: str) -> None:
    response = client.post("/predict", json={"columns": columns})
    assert response.status_code == 422
    assert words in response.json()["detail"]


def test_the_default_body_limit_admits_10_000_rows(classifier: ModelBundle) -> None:
    """The default ``max_body_bytes`` takes a 10,000-row batch as large as the bank
    data's (about 1.7 MB; the old default of 1 MB refused it)."""
    app = create_app(classifier, model_name="bank", version=1, sink=lambda frame: None)
    rows = [{**GOOD_ROW, "age": 18.0 + i % 70, "job": f"job {i:0140d}"} for i in range(10_000)]
    body = orjson.dumps({"rows": rows})
    assert len(body) > 1_700_000
    with TestClient(app) as client:
        response = client.post("/predict", content=body)
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == 10_000
