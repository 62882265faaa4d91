"""Optional bearer-token auth for chosen paths (BentoML has no server-side auth of its own)."""

from __future__ import annotations

import hmac
from typing import Any

from serving.limits import send_json


class BearerAuth:
    """ASGI middleware: 401 unless `Authorization: Bearer <token>` on a protected path.

    Checked before the body is read, in constant time; the token is never logged or echoed.
    """

    def __init__(self, app: Any, token: str, paths: tuple[str, ...]) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()
        self.paths = paths

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths:
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                await send_json(
                    send, 401, {"error": "missing or wrong bearer token"}, ((b"www-authenticate", b"Bearer"),)
                )
                return
        await self.app(scope, receive, send)
