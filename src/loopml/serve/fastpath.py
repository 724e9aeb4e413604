"""``POST /predict`` as a bare ASGI handler, ahead of FastAPI's middleware and routing.

FastAPI's middleware layers, request objects, dependency solving and exception handlers
cost more than the model's own predict on one row. ``loopml.serve.app.ServingApp`` hands
``POST /predict`` to this handler before any of them (the FastAPI route stays, for the
OpenAPI schema); every other request goes through FastAPI. Statuses are those of
``loopml.serve.validate``.
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
    """The ASGI answer to ``POST /predict``: the body read under the limit, then ``handler``."""

    def __init__(self, handler: Handler, max_body_bytes: int) -> None:
        self.handler = handler
        self.max_body_bytes = max_body_bytes

    @staticmethod
    def handles(scope: Scope) -> bool:
        return scope["type"] == "http" and scope["path"] == "/predict" and scope["method"] == "POST"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
