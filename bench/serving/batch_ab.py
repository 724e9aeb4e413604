"""The 10,000-row request, interleaved: every server runs at once and each round sends one
request to each in turn, so a busy moment on a shared machine hits all of them alike.

    python batch_ab.py CACHE_DIR [--rounds 25] [--gap-ms 0] [--threads 1] [--skip-mlflow]

The order is loopml, bare, MLflow with rows, then the same with columns, so a server's
request never directly follows its own previous one: loopml's prediction log of the
previous request is written (on its background thread) while the other servers answer.
``run.sh``'s figure is the back-to-back one (the log competes with the next request).
``--gap-ms`` waits between requests. ``--threads N`` pins every
server the same way: ``OMP_NUM_THREADS=N`` for all three, and ``--batch-threads N`` for
loopml (its big requests get N OpenMP threads; its small batches keep one).

Run after ``run.sh`` (it needs the package, the bodies and the MLflow model it writes).
Prints the median and quartiles per server and body form, and writes ``batch_ab.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import time
from pathlib import Path

from bench import BODY_LIMIT, HERE, MLFLOW_BIN, PY, free_port, start, stop


def post(port: int, path: str, body: bytes) -> float:
    """Milliseconds from sending ``body`` to the last byte of a 200 answer."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.perf_counter()
        sock.sendall(head + body)
        chunks = []
        while chunk := sock.recv(1 << 20):
            chunks.append(chunk)
        elapsed = time.perf_counter() - started
    status = b"".join(chunks[:1]).split(b" ", 2)[1]
    assert status == b"200", b"".join(chunks)[:300]
    return elapsed * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cache", type=Path)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--gap-ms", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-mlflow", action="store_true")
    args = parser.parse_args()
    cache = args.cache.resolve()
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    log_dir = cache / "predictions"
    shutil.rmtree(log_dir, ignore_errors=True)
    loopml = [PY, "serve.py", "--port", "PORT", "--log-dir", str(log_dir)]
    loopml += ["--batch-threads", str(args.threads)]
    servers = {
        "loopml": (loopml + ["--max-body-bytes", str(BODY_LIMIT)], cache / "package", env),
        "bare": ([PY, str(HERE / "bare.py"), str(cache / "package"), "PORT"], cache, env),
    }
    if not args.skip_mlflow:
        mlflow = [str(MLFLOW_BIN / "mlflow"), "models", "serve", "-m", str(cache / "mlflow_model")]
        mlflow += ["--env-manager", "local", "-h", "127.0.0.1", "-p", "PORT"]
        servers["mlflow"] = (mlflow, cache, {**env, "PATH": f"{MLFLOW_BIN}:{env['PATH']}"})
    running = {}
    try:
        for name, (command, cwd, run_env) in servers.items():
            port = free_port()
            command = [part.replace("PORT", str(port)) for part in command]
            process, _ = start(command, port, "/health", run_env, cwd, cache / f"{name}-ab.log")
            running[name] = (process, port)
        results = measure(running, cache, args.rounds, args.gap_ms / 1000.0)
    finally:
        for process, _ in running.values():
            stop(process)
    (cache / "batch_ab.json").write_text(json.dumps(results, indent=2))
    for key, times in results.items():
        q1, q2, q3 = statistics.quantiles(times, n=4)
        print(f"{key:20} median {q2:7.1f} ms   quartiles {q1:7.1f} .. {q3:7.1f} ms")


def measure(running: dict, cache: Path, rounds: int, gap_s: float) -> dict[str, list[float]]:
    kinds = {"mlflow": "mlflow"}
    jobs = []  # rows for every server, then columns: a server's requests never follow
    for form, stem in (("rows", "batch"), ("columns", "columns")):
        for name, (_, port) in running.items():
            kind = kinds.get(name, "loopml")
            path = "/invocations" if name == "mlflow" else "/predict"
            body = (cache / f"{stem}_{kind}.json").read_bytes()
            jobs.append((f"{name} {form}", port, path, body))
    for _, port, path, body in jobs:  # warm-up
        post(port, path, body)
    results: dict[str, list[float]] = {key: [] for key, *_ in jobs}
    for _ in range(rounds):
        for key, port, path, body in jobs:
            results[key].append(post(port, path, body))
            time.sleep(gap_s)
    return results


if __name__ == "__main__":
    main()
