"""serving/limits.py: the body-size cap and JSON-only middlewares, driven as ASGI calls."""

from __future__ import annotations

import asyncio
import json

from serving.limits import BodyLimit, JsonOnly


class App:
    """The app behind the middleware: records that it ran and the body it read."""

    def __init__(self) -> None:
        self.called = False
        self.body = b""

    async def __call__(self, scope, receive, send) -> None:
        self.called = True
        if scope["type"] == "http":
            while True:
                message = await receive()
                self.body += message.get("body", b"")
                if not message.get("more_body"):
                    break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def call(middleware, scope, messages):
    """Run one request through `middleware`: (status, decoded JSON body or raw body)."""
    queue = list(messages)
    sent = []

    async def receive():
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    headers = dict(sent[0]["headers"])
    if headers.get(b"content-type") == b"application/json":
        assert headers[b"content-length"] == str(len(body)).encode()
        return status, json.loads(body)
    return status, body


def http(path="/predict", method="POST", **headers) -> dict:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }


def chunks(*parts: bytes) -> list[dict]:
    return [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]


def test_a_declared_length_over_the_cap_is_refused_before_reading():
    app = App()
    status, body = call(BodyLimit(app, max_bytes=10), http(content_length="11"), chunks(b"x" * 11))
    assert status == 413 and not app.called
    assert body["error"] == (
        "request body of 11 bytes exceeds the limit of 10; send fewer records per request "
        "(or raise MAX_BODY_BYTES)"
    )
    assert body["problems"] == [{"index": None, "field": None, "problem": "body too large"}]


def test_a_declared_length_at_the_cap_reaches_the_app_untouched():
    app = App()
    assert call(BodyLimit(app, max_bytes=10), http(content_length="10"), chunks(b"x" * 10)) == (200, b"ok")
    assert app.body == b"x" * 10


def test_a_chunked_body_over_the_cap_is_refused_once_it_passes_it():
    app = App()
    status, body = call(BodyLimit(app, max_bytes=10), http(), chunks(b"x" * 6, b"y" * 6, b"z" * 6))
    assert status == 413 and not app.called
    assert body["error"].startswith("request body of 12 bytes exceeds the limit of 10")


def test_a_chunked_body_under_the_cap_is_replayed_to_the_app_whole():
    app = App()
    assert call(BodyLimit(app, max_bytes=10), http(), chunks(b"ab", b"cd", b"ef")) == (200, b"ok")
    assert app.body == b"abcdef"


def test_what_is_not_http_passes_the_body_limit():
    app = App()
    sent = []

    async def run():
        async def send(message):
            sent.append(message)

        await BodyLimit(app, max_bytes=1)({"type": "lifespan"}, None, send)

    asyncio.run(run())
    assert app.called and sent[0]["status"] == 200


def test_a_post_that_is_not_json_is_refused_with_415():
    app = App()
    scope = http(content_type="multipart/form-data; boundary=x")
    status, body = call(JsonOnly(app, paths=("/predict",)), scope, chunks(b"--x"))
    assert status == 415 and not app.called
    assert body == {
        "error": "content type 'multipart/form-data; boundary=x' is not accepted: send a JSON body "
        "(application/json)"
    }


def test_json_with_parameters_or_no_content_type_is_let_through():
    for scope in (http(content_type="Application/JSON; charset=utf-8"), http()):
        app = App()
        assert call(JsonOnly(app, paths=("/predict",)), scope, chunks(b"{}")) == (200, b"ok")
        assert app.called


def test_json_only_guards_only_posts_to_its_paths():
    for scope in (
        http(method="GET", content_type="text/plain"),
        http(path="/livez", content_type="text/plain"),
    ):
        app = App()
        assert call(JsonOnly(app, paths=("/predict",)), scope, chunks(b"")) == (200, b"ok")
