"""``POST /predict`` as a bare ASGI middleware, ahead of FastAPI's routing.

FastAPI's request objects, dependency solving and exception layers cost more than the
model's own predict on one row. This middleware answers ``POST /predict`` itself (the
FastAPI route stays, for the OpenAPI schema and for servers built without it) and passes
every other request on untouched. Statuses are those of ``loopml.serve.validate``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# (headers, body or None when over the limit) -> (status, JSON bytes)
Handler = Callable[[dict[bytes, bytes], bytes | None], Awaitable[tuple[int, bytes]]]

_HEADERS = [(b"content-type", b"application/json")]


class PredictFastPath:
    """ASGI middleware: ``POST /predict`` goes to ``handler``, the rest to ``app``."""

    def __init__(self, app: Any, handler: Handler, max_body_bytes: int) -> None:
        self.app = app
        self.handler = handler
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/predict" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        body = await self._body(headers, receive)
        status, payload = await self.handler(headers, body)
        length = (b"content-length", str(len(payload)).encode())
        await send(
            {"type": "http.response.start", "status": status, "headers": [*_HEADERS, length]}
        )
        await send({"type": "http.response.body", "body": payload})

    async def _body(self, headers: dict[bytes, bytes], receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it is known to pass the limit."""
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
