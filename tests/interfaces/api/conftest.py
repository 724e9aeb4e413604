"""A project with users of every role, a few runs and registered versions (no training:
the versions are recorded straight in the store), and the team server over it; a keyed
project with rows to label; a really trained project with logged traffic."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from tests.helpers import edit_spec
from tests.registry.conftest import bank_sample, write_project

from loopml.data.ingest import clean_column_names
from loopml.domain import Metric, RunStatus, Schema
from loopml.domain.users import ROLES
from loopml.interfaces.api import build_app
from loopml.serve.sink import store_sink
from loopml.service import ProjectService

BASE = "http://127.0.0.1"
VERSIONS = 16
START = pd.Timestamp("2026-02-01", tz="UTC")


@dataclass
class Server:
    service: ProjectService
    client: TestClient
    tokens: dict[str, str]  # role -> API token of the user named after the role

    @property
    def project(self) -> str:
        return self.service.spec.name

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def password(role: str) -> str:
    return f"{role}-password"


@pytest.fixture
def server(tmp_path: Path, bank_csv: Path) -> Iterator[Server]:
    project = write_project(tmp_path, bank_sample(bank_csv, rows=200), "subscribed ", ["duration"])
    with open_server(project) as opened:
        yield opened


@pytest.fixture
def keyed_server(tmp_path: Path, bank_csv: Path) -> Iterator[Server]:
    """The same server over data with a key (``customer_id``) whose first ``UNLABELLED``
    rows have no label yet: the labelling queue."""
    with open_server(keyed_project(tmp_path, bank_csv)) as opened:
        yield opened


UNLABELLED = 20


def keyed_project(tmp_path: Path, bank_csv: Path, rows: int = 200) -> Path:
    """A bank project keyed by ``customer_id`` (c1, c2, ...), its first ``UNLABELLED``
    rows unlabelled."""
    frame = bank_sample(bank_csv, rows=rows).reset_index(drop=True)
    frame.insert(0, "customer_id", [f"c{i + 1}" for i in range(len(frame))])
    frame["subscribed "] = frame["subscribed "].astype("Int64")
    frame.loc[: UNLABELLED - 1, "subscribed "] = pd.NA
    project = write_project(tmp_path, frame, "subscribed ", ["duration", "customer_id"])
    edit_spec(project, lambda spec: spec["data"].update(key=["customer_id"]))
    return project


@contextmanager
def open_server(project: Path, *, fake_versions: int = VERSIONS) -> Iterator[Server]:
    """The team server over ``project``: a user per role (named after it) with a token,
    five runs and ``fake_versions`` versions recorded straight in the store."""
    service = ProjectService.open(project)
    tokens = {}
    for role in ROLES:
        service.add_user(role, role, password(role))
        tokens[role] = service.issue_token(role)
    store, project_id = service.store, service.project.project_id
    for n in range(5 if fake_versions else 0):
        run = store.create_run(project_id, "train", params={"n": n})
        store.log_metrics(run.run_id, [Metric("roc_auc", 0.5 + n / 10)])
        store.finish_run(run.run_id, RunStatus.SUCCEEDED)
    for _ in range(fake_versions):
        store.create_model_version(
            project_id,
            "bank",
            run_id=run.run_id,
            artifact_digest="0" * 64,
            signature=Schema(columns=()),
            metrics={"roc_auc": 0.9},
            lineage={"gate": "go"},
        )
    try:
        with TestClient(build_app(service), base_url=BASE) as client:
            yield Server(service, client, tokens)
    finally:
        service.close()


LOGGED = 600  # requests logged for bank@1 by trained_server, one every 5 minutes


@pytest.fixture(scope="module")
def trained_server(tmp_path_factory: pytest.TempPathFactory, bank_csv: Path) -> Iterator[Server]:
    """The team server over a really trained project (once per test module): bank@1 the
    champion, bank@2 a loadable copy of it (same artifact and lineage), and ``LOGGED``
    requests of later calls logged for bank@1 through the real sink, with feedback."""
    root = tmp_path_factory.mktemp("trained")
    project = write_project(root, bank_sample(bank_csv, rows=600), "subscribed ", ["duration"])
    service = ProjectService.open(project)
    service.run()
    first = service.store.get_model_version("bank", 1)
    service.store.create_model_version(
        service.project.project_id,
        "bank",
        run_id=first.run_id,
        artifact_digest=first.artifact_digest,
        signature=first.signature,
        metrics=dict(first.metrics),
        lineage=dict(first.lineage),
    )
    _log_traffic(service, bank_csv)
    service.close()
    with open_server(project, fake_versions=0) as opened:
        yield opened


def _log_traffic(service: ProjectService, bank_csv: Path) -> None:
    _, bundle = service.load_model("bank@1")
    frame, _ = clean_column_names(pd.read_csv(bank_csv, skiprows=range(1, 20_001), nrows=LOGGED))
    prediction = bundle.predict(frame)
    log = frame[bundle.feature_names].copy()
    log.insert(0, "prediction_id", [uuid.uuid4().hex for _ in range(len(log))])
    log.insert(1, "predicted_at", START + pd.to_timedelta(np.arange(len(log)) * 5, unit="min"))
    log.insert(2, "latency_ms", np.random.default_rng(0).gamma(2.0, 3.0, len(log)))
    log["prediction"] = prediction.predictions
    log["probability"] = prediction.probabilities
    project_id = service.project.project_id
    sink = store_sink(service.store, service.artifacts, project_id, "bank", 1)
    for start in range(0, len(log), 300):
        sink(log.iloc[start : start + 300])
    pairs = zip(log["prediction_id"], frame["subscribed"], strict=True)
    service.store.add_feedback(project_id, list(pairs))
