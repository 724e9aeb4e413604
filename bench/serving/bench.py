"""Start each server in a fresh process, time its cold start, drive it with the load
generator (its own process), stop it; print figures and ratios, write JSON.

    python bench.py CACHE_DIR [--skip-mlflow] [--requests N]

Servers: loopml (the ``loopml package`` folder's server, prediction log on), MLflow
(``mlflow models serve`` of the same Pipeline, from bench/.venv-mlflow) and a bare
Starlette endpoint calling the same compiled model (the practical limit).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PY = sys.executable
MLFLOW_BIN = ROOT / "bench" / ".venv-mlflow" / "bin"
BODY_LIMIT = 16_000_000  # the 10,000-row body is about 1.7 MB
# every server gets one second of one-row requests before the first measured run: loopml
# loads its compiled tree kernel in the background in its first half-second
WARMUP_S = 1.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(port: int, path: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def start(command: list[str], port: int, health: str, env: dict, cwd: Path, log: Path):
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - our own commands
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    while not healthy(port, health):
        if process.poll() is not None or time.perf_counter() - started > 120:
            raise SystemExit(f"{command[0]} did not start; see {log}")
        time.sleep(0.01)
    return process, time.perf_counter() - started


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's whole process group (MLflow runs uvicorn as a child)."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    for _ in range(300):  # until the group is gone and the port is free
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def load(
    port: int, path: str, body: Path, clients: int, requests: int, warmup: int = 30,
    warmup_s: float = 0.0,
) -> dict:  # fmt: skip
    command = [PY, str(HERE / "loadgen.py"), "--port", str(port), "--path", path]
    command += ["--body", str(body), "--clients", str(clients), "--requests", str(requests)]
    command += ["--warmup", str(warmup), "--warmup-s", str(warmup_s)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout  # noqa: S603 - our own commands
    return json.loads(out)


def batch_ms(port: int, path: str, body: Path, repeats: int = 15) -> float:
    result = load(port, path, body, clients=1, requests=repeats, warmup=2)
    assert result["errors"] == 0, result
    return result["p50_ms"]


def measure(name: str, command: list[str], env: dict, cwd: Path, cache: Path, args) -> dict:
    port = free_port()
    command = [part.replace("PORT", str(port)) for part in command]
    paths = {"mlflow": ("/invocations", "mlflow"), "loopml": ("/predict", "loopml")}
    path, body_kind = paths.get(name, ("/predict", "loopml"))
    row, batch = cache / f"row_{body_kind}.json", cache / f"batch_{body_kind}.json"
    colds = []
    for _ in range(args.cold_starts):
        process, cold = start(command, port, "/health", env, cwd, cache / f"{name}.log")
        colds.append(cold)
        stop(process)
    process, _ = start(command, port, "/health", env, cwd, cache / f"{name}.log")
    try:
        n1 = args.requests // (4 if name == "mlflow" else 1)
        one = load(port, path, row, 1, n1, warmup_s=WARMUP_S)
        eight = load(port, path, row, 8, n1 * 2)
        big = batch_ms(port, path, batch)
        columns = cache / f"columns_{body_kind}.json"  # the column-wise body form
        big_columns = batch_ms(port, path, columns)
    finally:
        stop(process)
    for result in (one, eight):
        assert result["errors"] == 0, (name, result)
    return {
        "cold_start_s": statistics.median(colds),
        "one": one,
        "eight": eight,
        "batch_ms": big,
        "columns_ms": big_columns,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cache", type=Path)
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--cold-starts", type=int, default=3)
    args = parser.parse_args()
    cache = args.cache.resolve()
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    log_dir = cache / "predictions"
    shutil.rmtree(log_dir, ignore_errors=True)
    servers = {
        "loopml": [PY, "serve.py", "--port", "PORT", "--log-dir", str(log_dir)]
        + ["--max-body-bytes", str(BODY_LIMIT)],
        "bare": [PY, str(HERE / "bare.py"), str(cache / "package"), "PORT"],
    }
    if not args.skip_mlflow:
        mlflow = [str(MLFLOW_BIN / "mlflow"), "models", "serve", "-m", str(cache / "mlflow_model")]
        servers["mlflow"] = [*mlflow, "--env-manager", "local", "-h", "127.0.0.1", "-p", "PORT"]
    results = {}
    for name, command in servers.items():
        cwd = cache / "package" if name == "loopml" else cache
        run_env = env if name != "mlflow" else {**env, "PATH": f"{MLFLOW_BIN}:{env['PATH']}"}
        print(f"{name}...", file=sys.stderr, flush=True)
        results[name] = measure(name, command, run_env, cwd, cache, args)
    (cache / "results.json").write_text(json.dumps(results, indent=2))
    report(results)


def report(results: dict) -> None:
    rows = [
        ("1 client  p50 (ms)", lambda r: r["one"]["p50_ms"], False),
        ("1 client  p99 (ms)", lambda r: r["one"]["p99_ms"], False),
        ("1 client  req/s", lambda r: r["one"]["throughput_rps"], True),
        ("8 clients p50 (ms)", lambda r: r["eight"]["p50_ms"], False),
        ("8 clients p99 (ms)", lambda r: r["eight"]["p99_ms"], False),
        ("8 clients req/s", lambda r: r["eight"]["throughput_rps"], True),
        ("10,000 rows (ms)", lambda r: r["batch_ms"], False),
        ("10,000 rows, columns (ms)", lambda r: r["columns_ms"], False),
        ("cold start (s)", lambda r: r["cold_start_s"], False),
    ]
    names = [n for n in ("loopml", "mlflow", "bare") if n in results]
    head = f"{'':26}" + "".join(f"{n:>10}" for n in names)
    if "mlflow" in results:
        head += f"{'vs mlflow':>12}"
    head += f"{'vs bare':>10}"
    print(head)
    for label, get, higher in rows:
        line = f"{label:26}" + "".join(f"{get(results[n]):>10.2f}" for n in names)
        ours = get(results["loopml"])
        for other in ("mlflow", "bare"):
            if other in results:
                theirs = get(results[other])
                ratio = ours / theirs if higher else theirs / ours
                width = 12 if other == "mlflow" else 10
                line += f"{ratio:>{width - 1}.1f}x"
        print(line)
    print("(ratios: how many times better loopml is; below 1 means worse)")


if __name__ == "__main__":
    main()
