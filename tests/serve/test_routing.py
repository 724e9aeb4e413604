"""The app follows the store's deployments: shadow, A/B, canary, rollback, no restart."""

from __future__ import annotations

import io
import time

import pandas as pd
from fastapi.testclient import TestClient

from loopml.serve.app import ServeOptions, create_app
from loopml.serve.deploy import active_deployment, deploy, describe, rollback
from loopml.serve.sink import load_predictions, store_sink

from .conftest import JOBS, Registry

ROW = {"age": 41.0, "balance": 12.0, "job": "admin"}


def app_for(registry: Registry, **options) -> TestClient:
    v1 = registry.versions[0]
    bundle = registry.source().load(1)

    def sink_for(version: int, shadow: bool):
        return store_sink(registry.store, registry.artifacts, registry.project_id, "bank", version)

    app = create_app(
        bundle,
        model_name="bank",
        version=v1.version,
        sink_for=sink_for,
        options=ServeOptions(log_flush_s=60, **options),
        deployments=registry.source(),
        feedback=lambda items: registry.store.add_feedback(registry.project_id, items),
    )
    return TestClient(app)


def rows_with_keys(n: int) -> list[dict]:
    return [{"age": 20.0 + i, "balance": None, "job": JOBS[i % 3]} for i in range(n)]


def logged(registry: Registry, version: int) -> pd.DataFrame:
    return load_predictions(registry.store, registry.artifacts, "bank", version)


def test_shadow_scores_the_same_rows_and_only_logs_them(sqlite_registry: Registry) -> None:
    registry = sqlite_registry
    v1, v2, _ = registry.versions
    deploy(registry.store, registry.project_id, v1)
    deploy(registry.store, registry.project_id, v2, mode="shadow")
    with app_for(registry) as client:
        assert client.get("/ready").json()["mode"] == "shadow"
        body = client.post("/predict", json={"rows": rows_with_keys(6)}).json()
        assert body["model"] == "bank@1" and body["versions"] == [1] * 6
        time.sleep(0.05)  # the shadow call runs after the answer
    served, shadow = logged(registry, 1), logged(registry, 2)
    assert served["prediction_id"].tolist() == body["prediction_ids"]
    assert not served["shadow"].any()
    assert sorted(shadow["prediction_id"]) == sorted(body["prediction_ids"])
    assert shadow["shadow"].all() and set(shadow["model_version"]) == {2}
    assert list(shadow.columns) == list(served.columns)  # the same Parquet format


def test_ab_split_is_sticky_by_key_and_canary_follows_the_percent(
    sqlite_registry: Registry,
) -> None:
    registry = sqlite_registry
    v1, v2, v3 = registry.versions
    deploy(registry.store, registry.project_id, v1)
    deploy(registry.store, registry.project_id, v2, mode="ab", percent=50, key="job")
    with app_for(registry) as client:
        answers = [client.post("/predict", json={"rows": rows_with_keys(30)}).json() for _ in "ab"]
        by_job: dict[str, set[int]] = {}
        for answer in answers:
            for row, version in zip(rows_with_keys(30), answer["versions"], strict=True):
                by_job.setdefault(row["job"], set()).add(version)
        assert all(len(versions) == 1 for versions in by_job.values())  # sticky
        assert set().union(*by_job.values()) == {1, 2}  # three jobs, both models used

        deploy(registry.store, registry.project_id, v3, mode="canary", percent=10)
        assert client.post("/admin/reload").json()["challenger"] == "bank@3"
        rows = [{**ROW, "age": 18.0 + i % 60} for i in range(2000)]
        versions = client.post("/predict", json={"rows": rows}).json()["versions"]
        share = versions.count(3) / len(versions)
        assert 0.07 < share < 0.13 and set(versions) == {1, 3}
    assert len(logged(registry, 3)) == versions.count(3)


def test_deploy_and_rollback_take_effect_without_a_restart(sqlite_registry: Registry) -> None:
    registry = sqlite_registry
    v1, v2, _ = registry.versions
    deploy(registry.store, registry.project_id, v1)
    with app_for(registry, watch_interval_s=0.05) as client:
        assert client.post("/predict", json={"row": ROW}).json()["model"] == "bank@1"
        deploy(registry.store, registry.project_id, v2)
        wait_for_model(client, "bank@2")
        rollback(registry.store, registry.project_id)
        wait_for_model(client, "bank@1")
        metrics = client.get("/metrics").text
    assert 'loopml_predictions_total{model="bank",role="served",version="2"}' in metrics
    assert not logged(registry, 2).empty and len(logged(registry, 1)) >= 2


def wait_for_model(client: TestClient, ref: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if client.post("/predict", json={"row": ROW}).json()["model"] == ref:
            return
        time.sleep(0.02)
    raise AssertionError(f"the server never switched to {ref}")


def test_feedback_is_stored_and_malformed_feedback_is_422(sqlite_registry: Registry) -> None:
    registry = sqlite_registry
    with app_for(registry) as client:
        ids = client.post("/predict", json={"rows": [ROW, ROW]}).json()["prediction_ids"]
        items = [{"prediction_id": ids[0], "value": "yes"}, {"prediction_id": ids[1], "value": 0}]
        assert client.post("/feedback", json={"items": items}).json() == {"accepted": 2}
        single = client.post("/feedback", json={"prediction_id": "unknown-id", "value": True})
        assert single.status_code == 200  # accepted: the label may come before the log
        bad = client.post("/feedback", json={"items": [{"prediction_id": 3}, "x"]})
        assert bad.status_code == 422
        problems = {(e["item"], e["field"]) for e in bad.json()["errors"]}
        assert problems == {(0, "prediction_id"), (0, "value"), (1, None)}
        assert client.post("/feedback", content=b"{").status_code == 400
    stored = registry.store.list_feedback(registry.project_id)
    assert [(f.prediction_id, f.value) for f in stored] == [
        (ids[0], "yes"),
        (ids[1], 0),
        ("unknown-id", True),
    ]


def test_a_token_guards_prediction_feedback_and_admin(sqlite_registry: Registry) -> None:
    with app_for(sqlite_registry, token="s3cret") as client:
        for method, path in [
            ("post", "/predict"),
            ("post", "/feedback"),
            ("post", "/admin/reload"),
        ]:
            assert getattr(client, method)(path, json={"row": ROW}).status_code == 401
        assert client.get("/admin/deployment").status_code == 401
        wrong = client.post("/predict", json={"row": ROW}, headers={"authorization": "Bearer x"})
        assert wrong.status_code == 401
        good = client.post(
            "/predict", json={"row": ROW}, headers={"authorization": "Bearer s3cret"}
        )
        assert good.status_code == 200
        other = client.post("/predict", json={"row": ROW}, headers={"x-loopml-token": "s3cret"})
        assert other.status_code == 200
        assert client.get("/health").status_code == 200  # probes need no token
        assert client.get("/ready").status_code == 200
        metrics = client.get("/metrics").text
    assert 'loopml_requests_total{endpoint="predict",status="401"} 2.0' in metrics
    assert 'loopml_requests_total{endpoint="predict",status="200"} 2.0' in metrics


def test_metrics_count_requests_errors_and_latency_per_version(classifier) -> None:
    frames: list[pd.DataFrame] = []
    app = create_app(classifier, model_name="bank", version=4, sink=frames.append)
    with TestClient(app) as client:
        for _ in range(3):
            client.post("/predict", json={"rows": [ROW, ROW]})
        client.post("/predict", content=b"not json")
        client.post("/predict", json={"row": {**ROW, "age": "old"}})
        text = client.get("/metrics").text
    assert 'loopml_requests_total{endpoint="predict",status="200"} 3.0' in text
    assert 'loopml_request_errors_total{endpoint="predict",status="400"} 1.0' in text
    assert 'loopml_request_errors_total{endpoint="predict",status="422"} 1.0' in text
    assert 'loopml_predictions_total{model="bank",role="served",version="4"} 6.0' in text
    assert 'loopml_predict_latency_seconds_count{model="bank",version="4"} 3.0' in text
    buffer = io.StringIO(text)
    assert any(line.startswith("loopml_predict_latency_seconds_bucket") for line in buffer)


def test_a_deployment_that_follows_the_champion_moves_with_it(sqlite_registry: Registry) -> None:
    registry = sqlite_registry
    store, project_id = registry.store, registry.project_id
    v1, v2, _ = registry.versions
    store.set_alias("bank", "champion", 1)
    followed = deploy(store, project_id, v1, alias="champion")
    pinned_before = store.list_deployments(project_id)[0]
    with app_for(registry, watch_interval_s=0.05) as client:
        assert client.post("/predict", json={"row": ROW}).json()["model"] == "bank@1"
        store.set_alias("bank", "champion", 2)  # a promotion, no `loopml deploy`
        wait_for_model(client, "bank@2")
        assert client.get("/admin/deployment").json()["model"] == "bank@2"
    assert followed.alias == "champion" and pinned_before.version == 1
    assert describe(active_deployment(store, project_id)) == "bank@2 single (follows @champion)"


def test_a_pinned_deployment_stays_when_the_champion_moves(sqlite_registry: Registry) -> None:
    registry = sqlite_registry
    store, project_id = registry.store, registry.project_id
    store.set_alias("bank", "champion", 1)
    deploy(store, project_id, registry.versions[0])
    store.set_alias("bank", "champion", 2)
    assert active_deployment(store, project_id).version == 1
