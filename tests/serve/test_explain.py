"""POST /explain on real servers: `loopml serve` on a project (the served version's
training rows as the background, like `loopml explain`) and a bare model server."""

from __future__ import annotations

import io
import math
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.helpers import start_serving, wait_ready

from loopml.model.bundle import ModelBundle
from loopml.service import ProjectService, init_project

from .conftest import make_frame, register_bundle
from .test_server import start_bare_server

TOKEN = "s3cret-explain"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROWS = [{"age": 30.0, "job": "admin"}, {"age": 71.5, "job": "student"}]


@pytest.fixture
def project(tmp_path: Path, regressor: ModelBundle) -> Path:
    """Project ``spend`` with spend@1, a linear model whose lineage has training rows."""
    folder = tmp_path / "spend"
    (folder / "data").mkdir(parents=True)
    frame = make_frame(200).drop(columns=["subscribed", "balance"])
    frame.to_csv(folder / "data" / "data.csv", index=False)
    init_project("data/data.csv", "spend", folder, name="spend")
    service = ProjectService.open(folder)
    store, project_id = service.store, service.project.project_id
    buffer = io.BytesIO()
    make_frame(300, seed=1).drop(columns=["subscribed", "balance"]).to_parquet(buffer)
    train = service.artifacts.put_bytes(buffer.getvalue())
    store.record_artifact(train, media_type="parquet", run_id=None)
    lineage = {"train_digest": train.digest}
    register_bundle(store, service.artifacts, project_id, "spend", regressor, lineage)
    store.set_alias("spend", "champion", 1)
    service.close()
    return folder


@pytest.fixture
def served(project: Path, tmp_path: Path) -> Iterator[str]:
    """`loopml serve` of the project with an API token; yields its URL."""
    log = tmp_path / "serve.log"
    process, url = start_serving(project, log, {**os.environ, "LOOPML_TOKEN": TOKEN})
    try:
        wait_ready(process, url, log)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()


def test_explain_matches_loopml_explain_and_needs_the_token(served: str, project: Path) -> None:
    assert httpx.post(f"{served}/explain", json={"rows": ROWS}).status_code == 401
    response = httpx.post(f"{served}/explain", json={"rows": ROWS}, headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "spend@1"
    predicted = httpx.post(f"{served}/predict", json={"rows": ROWS}, headers=AUTH).json()
    service = ProjectService.open(project)
    try:
        for row, item, prediction in zip(
            ROWS, body["explanations"], predicted["predictions"], strict=True
        ):
            assert set(item["contributions"]) == {"age", "job"}
            total = item["base_value"] + sum(item["contributions"].values())
            assert total == pytest.approx(item["output"])
            assert item["prediction"] == pytest.approx(prediction)
            # the background is the training sample: the same numbers as `loopml explain`
            _, expected = service.explain("spend@1", row=row)
            assert item["base_value"] == pytest.approx(expected["base_value"])
            assert item["contributions"] == pytest.approx(expected["contributions"])
    finally:
        service.close()
    # measured from the training rows, a row's own contributions are not all zero
    assert any(abs(v) > 1e-6 for v in body["explanations"][0]["contributions"].values())
    columns = {"age": [r["age"] for r in ROWS], "job": [r["job"] for r in ROWS]}
    by_columns = httpx.post(f"{served}/explain", json={"columns": columns}, headers=AUTH).json()
    assert by_columns["explanations"] == body["explanations"]


def test_explain_refuses_bad_requests_like_predict(served: str) -> None:
    def post(**kwargs: object) -> httpx.Response:
        return httpx.post(f"{served}/explain", headers=AUTH, **kwargs)  # type: ignore[arg-type]

    mistyped = post(json={"rows": [ROWS[0], {"age": "old", "job": "admin"}]})
    assert mistyped.status_code == 422
    assert [(e["row"], e["field"]) for e in mistyped.json()["errors"]] == [(1, "age")]
    assert post(content=b'{"rows": [').status_code == 400
    too_many = post(json={"columns": {"age": [40.0] * 1001, "job": ["admin"] * 1001}})
    assert too_many.status_code == 422
    assert "at most 1000 rows" in too_many.json()["detail"]
    assert post(json={"rows": ROWS}).status_code == 200  # still serving
    metrics = httpx.get(f"{served}/metrics").text
    assert 'loopml_requests_total{endpoint="explain",status="422"} 2.0' in metrics


def test_tree_explanations_add_up_to_the_served_probability(
    tmp_path: Path, classifier: ModelBundle
) -> None:
    """A bare model server (no store, no background): TreeSHAP in log-odds, whose sum is
    the logit of the probability /predict answers."""
    process, url, _, log = start_bare_server(tmp_path, classifier)
    rows = [{"age": 25.0 + 20 * i, "balance": None, "job": "student"} for i in range(3)]
    try:
        wait_ready(process, url, log)
        body = httpx.post(f"{url}/explain", json={"rows": rows}).json()
        predicted = httpx.post(f"{url}/predict", json={"rows": rows}).json()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    for item, label, probability in zip(
        body["explanations"], predicted["predictions"], predicted["probabilities"], strict=True
    ):
        assert item["method"] == "shap" and set(item["contributions"]) == {"age", "balance", "job"}
        assert item["base_value"] + sum(item["contributions"].values()) == pytest.approx(
            item["output"]
        )
        assert item["output"] == pytest.approx(math.log(probability / (1 - probability)))
        assert (item["prediction"], item["probability"]) == (label, pytest.approx(probability))
