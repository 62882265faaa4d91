"""Limits on what reaches the endpoints: a body-size cap (BentoML has none, and a 1 GB JSON
body would be parsed whole) and JSON only (a multipart body made BentoML answer 500)."""

from __future__ import annotations

import json
from typing import Any

Scope = dict[str, Any]


async def send_json(send: Any, status: int, payload: dict, headers: tuple = ()) -> None:
    """An answer straight from a middleware, before the app (and its body parsing) runs."""
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


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
        await send_json(
            send,
            413,
            {
                "error": f"request body of {size} bytes exceeds the limit of {self.max_bytes}; "
                "send fewer records per request (or raise MAX_BODY_BYTES)",
                "problems": [{"index": None, "field": None, "problem": "body too large"}],
            },
        )


class JsonOnly:
    """ASGI middleware: 415 with a JSON body for a POST whose content type is not JSON.

    BentoML would hand a multipart or form body to Starlette's form parser, whose errors it
    turns into a 500; the endpoints take JSON only, so anything else is refused up front.
    """

    def __init__(self, app: Any, paths: tuple[str, ...]) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in self.paths:
            kind = dict(scope.get("headers") or []).get(b"content-type", b"application/json")
            if kind.split(b";")[0].strip().lower() != b"application/json":
                await send_json(
                    send,
                    415,
                    {
                        "error": f"content type {kind.decode(errors='replace')[:80]!r} "
                        "is not accepted: send a JSON body (application/json)"
                    },
                )
                return
        await self.app(scope, receive, send)
