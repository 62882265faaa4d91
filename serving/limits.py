"""A cap on request bodies: BentoML has none, and a 1 GB JSON body would be parsed whole."""

from __future__ import annotations

import json
from typing import Any

Scope = dict[str, Any]


class BodyLimit:
    """ASGI middleware: 413 with a JSON body for a request body over `max_bytes`.

    A declared Content-Length is checked before anything is read; a body without one
    (chunked) is read up to the limit, then replayed to the app.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            if int(declared) > self.max_bytes:
                await self._refuse(send, int(declared))
                return
            await self.app(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            chunks.append(message)
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(send, size)
                return
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        replay = iter(chunks)

        async def replayed() -> dict:
            return next(replay, None) or await receive()

        await self.app(scope, replayed, send)

    async def _refuse(self, send: Any, size: int) -> None:
        body = json.dumps({
            "error": f"request body of {size} bytes exceeds the limit of {self.max_bytes}; "
                     "send fewer records per request (or raise MAX_BODY_BYTES)",
            "problems": [{"index": None, "field": None, "problem": "body too large"}],
        }).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
