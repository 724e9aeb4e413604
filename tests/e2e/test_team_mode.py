"""Team mode end to end: a PostgreSQL store, artifacts and the source on S3 (moto's real
server on loopback) and a Dask cluster of two workers started as a team starts one
(``dask scheduler``, ``dask worker``). ``loopml run`` trains from one folder, searching on
the cluster; ``loopml serve`` and ``loopml monitor`` run from another folder that holds
only the configuration (``loopml.yaml`` and ``loopml.toml``: no data, no ``.loopml``)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from distributed import Client
from tests.helpers import edit_spec, free_port, set_criteria, start_serving, wait_ready
from tests.s3 import S3

from loopml.service import ProjectService

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
DASK = Path(sys.executable).with_name("dask")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    """A scheduler and one `dask worker` with two worker processes of one thread each."""
    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    log = (tmp_path / "dask.log").open("w")
    common = ["--no-dashboard"]
    scheduler = subprocess.Popen(  # noqa: S603 - dask's own CLI
        [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", port, *common],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    workers = subprocess.Popen(  # noqa: S603
        [str(DASK), "worker", address, "--nworkers", "2", "--nthreads", "1", *common],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its worker processes go with it (killpg)
    )
    try:
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in (workers, scheduler):
            process.send_signal(signal.SIGINT)  # dask's CLI closes at once on Ctrl-C
        for process in (workers, scheduler):
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def _config(postgres_url: str, s3: S3, cluster: str) -> str:
    return (
        f'store = "{postgres_url}"\n'
        f'artifacts = "{s3.url("loopml")}"\n'
        f'cluster = "{cluster}"\n'
        "[storage_options]\n"
        'endpoint_url = "${AWS_ENDPOINT_URL}"\n'
    )


def _loopml(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "loopml", *args, "-C", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_run_on_the_cluster_then_serve_and_monitor_from_a_folder_with_only_the_config(
    postgres_url: str, s3: S3, cluster: str, tmp_path: Path, bank_csv: Path
) -> None:
    rows = pd.read_csv(bank_csv, nrows=2000)
    source = s3.put("exports/calls.csv", rows.iloc[:1500].to_csv(index=False).encode())
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "200", **s3.env}
    trainer = tmp_path / "bank"  # the project takes its name from the folder
    trainer.mkdir()
    (trainer / "loopml.toml").write_text(_config(postgres_url, s3, cluster))
    init = _loopml(trainer, env, "init", source, "-t", "subscribed ", "-x", "duration")
    assert init.returncode == 0, init.stdout + init.stderr

    def lean(spec: dict) -> None:
        spec["models"]["candidates"] = ["linear"]
        spec["models"]["search"].update(trials=4, folds=2, workers=2)

    edit_spec(trainer, lean)
    set_criteria(trainer, [])
    run = _loopml(trainer, env, "run")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "bank@1 (champion)" in run.stdout
    assert s3.fs.find(f"{s3.bucket}/loopml/sha256")  # the artifacts went to the bucket
    assert not (trainer / ".loopml" / "artifacts").exists()

    server_side = tmp_path / "server"
    server_side.mkdir()
    for name in ("loopml.yaml", "loopml.toml"):
        shutil.copy2(trainer / name, server_side / name)
    service = ProjectService.open(server_side)  # this process has the AWS variables too
    try:
        trials = service.list_runs(name="trial", limit=100)
    finally:
        service.close()
    assert len(trials) == 4  # every trial, tracked in the shared store by the workers
    with Client(cluster, timeout=30) as client:
        names = {str(w["name"]) for w in client.scheduler_info()["workers"].values()}
    assert {t.tags["worker"] for t in trials} <= names  # run by the cluster's workers

    log = tmp_path / "serve.log"
    server, url = start_serving(server_side, log, env)
    try:
        wait_ready(server, url, log)
        batch = rows.iloc[1500:].drop(columns=["subscribed ", "duration"])
        response = httpx.post(f"{url}/predict", json={"rows": batch.to_dict("records")}, timeout=30)
        assert response.status_code == 200, response.text
        assert len(response.json()["predictions"]) == len(batch)
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, log.read_text()
    time.sleep(0.2)
    monitor = _loopml(server_side, env, "monitor", "bank@1")
    assert monitor.returncode in (0, 1), monitor.stdout + monitor.stderr
    assert f"latest window: {len(batch)} rows" in monitor.stdout, monitor.stdout
    assert not (server_side / ".loopml" / "artifacts").exists()
