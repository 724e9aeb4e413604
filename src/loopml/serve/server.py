"""Run a model app under uvicorn, in the foreground, with a graceful shutdown on SIGTERM."""

from __future__ import annotations

import gc
import signal
import threading
from types import FrameType
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

    After a SIGTERM and its graceful shutdown, the function returns normally (uvicorn
    would re-raise the signal and kill the process before the caller's ``finally`` blocks
    ran), so a CLI exits 0 and can record the stop; this holds unless the caller installed
    its own SIGTERM handler, which then receives the re-raised signal. After SIGINT the
    caller gets ``KeyboardInterrupt``, as uvicorn intends.
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
    server = _Server(config)
    in_main_thread = threading.current_thread() is threading.main_thread()
    if not in_main_thread or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        server.run()
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        # Before uvicorn installs its handlers (startup) and after it restores this one
        # (its re-raise once shut down): ask the server to exit; never kill the process.
        server.should_exit = True

    signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


class _Server(uvicorn.Server):
    """uvicorn's server, with every object loaded at startup (modules, the model) frozen
    out of the garbage collector's full passes: they never become garbage, and scanning
    them made each pass stall the serving thread for about 100 ms."""

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        gc.freeze()
