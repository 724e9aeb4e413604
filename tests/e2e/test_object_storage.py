"""A team on object storage: `loopml init` from an object, a whole `loopml run` whose
source is a glob of Parquet objects and whose artifacts go to a bucket, then `loopml
serve` of that model loading it from the bucket, all on a real S3 server on loopback
(moto's, see tests/s3.py): reached through the standard AWS variables, then through the
project's storage_options."""

from __future__ import annotations

import io
import json
import signal
from pathlib import Path

import httpx
import pandas as pd
import pytest
from tests.helpers import edit_spec, set_criteria, start_serving, wait_ready
from tests.s3 import S3
from typer.testing import CliRunner

from loopml.interfaces.cli.main import app

pytestmark = pytest.mark.slow


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def test_run_and_serve_with_the_source_and_artifacts_on_s3(
    s3: S3, tmp_path: Path, bank_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = pd.read_csv(bank_csv, nrows=1200)
    s3.put("exports/calls.csv", rows.to_csv(index=False).encode())
    for part in range(2):
        s3.put(f"exports/calls-{part}.parquet", _parquet(rows.iloc[part * 600 : part * 600 + 600]))
    artifacts = s3.url("loopml/artifacts")
    monkeypatch.setenv("LOOPML_ARTIFACTS", artifacts)
    project = tmp_path / "bank"
    runner = CliRunner(env={"COLUMNS": "200"})

    def loopml(*args: str) -> str:
        result = runner.invoke(app, [*args, "-C", str(project)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    loopml("init", s3.url("exports/calls.csv"), "-t", "subscribed ", "-x", "duration")
    glob = s3.url("exports/calls-*.parquet")

    def lean(spec: dict) -> None:
        spec["data"]["sources"] = [{"path": glob}]
        spec["data"].pop("source", None)
        spec["models"]["candidates"] = ["linear"]
        spec["models"]["search"].update(trials=0, folds=2)

    edit_spec(project, lean)
    set_criteria(project, [])
    output = loopml("run")
    assert "bank@1 (champion)" in output
    stored = s3.fs.find(f"{s3.bucket}/loopml/artifacts/sha256")
    assert len(stored) >= 3  # the snapshot, the model, the reports' data ...
    assert not (project / ".loopml" / "artifacts").exists()  # nothing kept locally
    shown = json.loads(loopml("config", "--json"))
    assert shown["artifacts"] == {"value": artifacts, "from": "env LOOPML_ARTIFACTS"}
    assert "9 steps, 9 reused" in loopml("run")  # the same ETags: ingest is reused too

    # the server finds the endpoint in the project's storage_options, not AWS_ENDPOINT_URL
    (project / "loopml.toml").write_text('[storage_options]\nendpoint_url = "${S3_URL}"\n')
    env = {"PATH": "/usr/bin:/bin", "LOOPML_ARTIFACTS": artifacts, **s3.env}
    env["S3_URL"] = env.pop("AWS_ENDPOINT_URL")
    log = tmp_path / "serve.log"
    server, url = start_serving(project, log, env)
    try:
        wait_ready(server, url, log)
        row = rows.drop(columns=["subscribed ", "duration"]).iloc[0].to_dict()
        response = httpx.post(f"{url}/predict", json={"row": row}, timeout=10)
        assert response.status_code == 200, response.text
        assert response.json()["model"] == "bank@1"
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, log.read_text()
