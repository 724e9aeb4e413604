"""A small, fast HTTP/1.1 load generator: N keep-alive clients on raw asyncio sockets.

Each client sends the same pre-built POST as soon as its previous answer is in (a closed
loop), so throughput is what the server sustains at that concurrency. Parsing is the
bare minimum (status line, Content-Length), so one process drives thousands of requests
a second on one core and is not the bottleneck. Prints one JSON object.

    python loadgen.py --port 8000 --path /predict --body body.json --clients 8 --requests 4000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path


def request_bytes(host: str, port: int, path: str, body: bytes, headers: list[str]) -> bytes:
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: keep-alive",
        *headers,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, server closes the connection) of one response, its body read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, close, chunked = 0, False, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            close = value.strip().lower() == b"close"
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, close


async def client(
    host: str,
    port: int,
    payload: bytes,
    count: int,
    latencies: list[float],
    errors: list[int],
    until: float = 0.0,
) -> None:
    """``count`` requests, and more until ``until`` (a ``perf_counter`` time) has passed."""
    reader, writer = await asyncio.open_connection(host, port)
    sent = 0
    while sent < count or time.perf_counter() < until:
        sent += 1
        started = time.perf_counter()
        writer.write(payload)
        status, close = await read_response(reader)
        latencies.append(time.perf_counter() - started)
        if status != 200:
            errors.append(status)
        if close:
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
    writer.close()


async def run(args: argparse.Namespace) -> dict[str, float]:
    body = Path(args.body).read_bytes()
    headers = [f"Authorization: Bearer {args.token}"] if args.token else []
    payload = request_bytes(args.host, args.port, args.path, body, headers)
    per_client = max(1, args.requests // args.clients)
    warm: list[float] = []
    until = time.perf_counter() + args.warmup_s
    await asyncio.gather(
        *(
            client(args.host, args.port, payload, args.warmup, warm, [], until)
            for _ in range(args.clients)
        )
    )
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(
        *(
            client(args.host, args.port, payload, per_client, latencies, errors)
            for _ in range(args.clients)
        )
    )
    elapsed = time.perf_counter() - started
    ms = sorted(x * 1000.0 for x in latencies)
    return {
        "clients": args.clients,
        "requests": len(ms),
        "errors": len(errors),
        "seconds": elapsed,
        "throughput_rps": len(ms) / elapsed,
        "p50_ms": statistics.median(ms),
        "p99_ms": ms[min(len(ms) - 1, int(len(ms) * 0.99))],
        "mean_ms": statistics.fmean(ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/predict")
    parser.add_argument("--body", required=True, help="file holding the JSON body")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--requests", type=int, default=2000, help="in all, after warm-up")
    parser.add_argument("--warmup", type=int, default=50, help="per client")
    parser.add_argument("--warmup-s", type=float, default=0.0, help="and at least this long")
    parser.add_argument("--token", default="")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
