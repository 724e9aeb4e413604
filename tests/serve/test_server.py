"""A real uvicorn server in a subprocess: every answered prediction survives SIGTERM."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
import pytest
from tests.helpers import wait_ready

from loopml.model.bundle import ModelBundle

HELPER = Path(__file__).with_name("server_helper.py")
JOBS = ["admin", "blue-collar", "student"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_bare_server(
    tmp_path: Path, bundle: ModelBundle
) -> tuple[subprocess.Popen, str, Path, Path]:
    """``server_helper.py`` serving ``bundle`` (no store) on a free port: (process, URL,
    prediction folder, server log); not yet healthy."""
    bundle_path = tmp_path / "bundle.pkl"
    bundle_path.write_bytes(bundle.to_bytes())
    out, port, log = tmp_path / "predictions", free_port(), tmp_path / "server.log"
    out.mkdir()
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, str(HELPER), str(bundle_path), str(out), str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return process, f"http://127.0.0.1:{port}", out, log


@pytest.fixture
def server(tmp_path: Path, classifier: ModelBundle):
    process, url, out, log = start_bare_server(tmp_path, classifier)
    try:
        wait_ready(process, url, log)
        yield process, url, out, log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_sigterm_loses_no_logged_prediction(server) -> None:
    process, url, out, log = server
    rng = random.Random(0)

    def one_request(client: httpx.Client) -> list[str]:
        n = rng.randint(1, 5)
        rows = [
            {
                "age": rng.uniform(18, 90),
                "balance": rng.choice([None, 10.0]),
                "job": rng.choice(JOBS),
            }
            for _ in range(n)
        ]
        response = client.post(f"{url}/predict", json={"rows": rows})
        assert response.status_code == 200, response.text
        return response.json()["prediction_ids"]

    with httpx.Client(timeout=30.0) as client, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: one_request(client), range(200)))
    returned = {pid for ids in answers for pid in ids}
    assert len(returned) == sum(len(ids) for ids in answers)  # ids are unique

    process.send_signal(signal.SIGTERM)
    # a graceful stop: run_server returns, the process exits 0
    assert process.wait(timeout=30) == 0
    assert "Traceback" not in log.read_text()
    assert (out / "stopped").exists()  # the caller's finally ran

    files = sorted(out.glob("*.parquet"))
    assert len(files) > 1  # batches by size while serving, the rest on shutdown
    logged = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    assert set(logged["prediction_id"]) == returned
    assert len(logged) == len(returned)
    assert logged["probability"].between(0, 1).all()
    assert not list(out.glob(".*.partial"))


def test_sigterm_during_traffic_keeps_every_answered_prediction(server) -> None:
    process, url, out, log = server
    row = {"age": 40.0, "balance": 5.0, "job": "admin"}
    answered: list[str] = []
    finished: list[int] = []  # list.append is atomic: a thread-safe counter

    def one_request(client: httpx.Client) -> None:
        try:
            response = client.post(f"{url}/predict", json={"rows": [row, row]})
        except httpx.TransportError:
            return  # refused or cut while shutting down: nothing was answered
        finally:
            finished.append(1)
        if response.status_code == 200:
            answered.extend(response.json()["prediction_ids"])

    with httpx.Client(timeout=30.0) as client, ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(one_request, client) for _ in range(400)]
        deadline = time.monotonic() + 60
        while len(finished) < 100 and time.monotonic() < deadline:
            time.sleep(0.005)
        process.send_signal(signal.SIGTERM)
        for future in futures:
            future.result()
    assert process.wait(timeout=30) == 0

    logged = pd.concat([pd.read_parquet(f) for f in out.glob("*.parquet")], ignore_index=True)
    assert len(answered) >= 200
    assert set(answered) <= set(logged["prediction_id"])
    assert "Traceback" not in log.read_text()


def test_bad_requests_and_a_burst_of_1000_lose_nothing_after_sigterm(server) -> None:
    """Malformed, oversized and mistyped requests, then 1,000 concurrent ones mixed with
    more bad ones: every answered prediction is in the log after SIGTERM, and only those."""
    import asyncio

    process, url, out, log = server
    good = {"age": 40.0, "balance": 5.0, "job": "admin"}
    bad = [
        (400, {"content": b'{"row": {"age": 4'}),
        (413, {"content": b'{"rows": [' + b" " * 1_100_000 + b"]}"}),
        (422, {"json": {"row": {**good, "age": "forty"}}}),
        (422, {"json": {"row": {"age": 40.0, "job": "admin", "color": "red"}}}),
    ]

    async def burst() -> tuple[list[str], dict[int, int]]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
            for status, kwargs in bad:  # each refused, the server keeps serving
                response = await client.post("/predict", **kwargs)
                assert response.status_code == status, response.text
            detail = (await client.post("/predict", **bad[3][1])).json()["errors"]
            assert {(e["field"], e["message"]) for e in detail} == {
                ("balance", "field is missing"),
                ("color", "unknown field"),
            }
            calls = [
                client.post("/predict", json={"rows": [{**good, "age": 18.0 + i % 70}]})
                for i in range(1000)
            ]
            calls += [client.post("/predict", **bad[i % 4][1]) for i in range(20)]
            responses = await asyncio.gather(*calls)
        counts: dict[int, int] = {}
        ids: list[str] = []
        for response in responses:
            counts[response.status_code] = counts.get(response.status_code, 0) + 1
            if response.status_code == 200:
                ids += response.json()["prediction_ids"]
        return ids, counts

    ids, counts = asyncio.run(burst())
    assert counts == {200: 1000, 400: 5, 413: 5, 422: 10}
    metrics = httpx.get(f"{url}/metrics").text
    assert 'loopml_requests_total{endpoint="predict",status="200"} 1000.0' in metrics
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert "Traceback" not in log.read_text()
    logged = pd.concat([pd.read_parquet(f) for f in out.glob("*.parquet")], ignore_index=True)
    assert len(logged) == len(set(logged["prediction_id"])) == 1000
    assert set(logged["prediction_id"]) == set(ids)
    assert set(logged["age"]) == {18.0 + i for i in range(70)}
