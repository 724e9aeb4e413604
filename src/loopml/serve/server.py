"""Run a model app under uvicorn, in the foreground, with a graceful shutdown on SIGTERM."""

from __future__ import annotations

from typing import Any

import uvicorn


def run_server(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "warning",
    *,
    graceful_timeout_s: float | None = 30.0,
) -> None:
    """Serve ``app`` on ``host:port`` until SIGINT or SIGTERM, then shut down cleanly.

    uvicorn's own signal handlers stop accepting connections, let in-flight requests
    finish (for at most ``graceful_timeout_s`` seconds), then run the app's lifespan
    shutdown, which flushes the prediction log. Only loopback is served by default:
    pass ``host="0.0.0.0"`` to accept connections from other machines.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=(
            None if graceful_timeout_s is None else max(1, round(graceful_timeout_s))
        ),
    )
    uvicorn.Server(config).run()
