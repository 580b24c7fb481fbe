"""httpx before 0.28 serves a client's ``app=`` (WSGI or ASGI) in process; under install()
such a client still reaches its app, and its TikTok calls are counted. (install() gives
every client a transport, and httpx ignores ``app=`` beside one: the app's transport is
built as httpx builds it.) On httpx 0.28 and later ``app=`` is gone: these tests skip."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest

from tiktok_adapter import install
from tiktok_adapter.testing import FakeClock

pytestmark = pytest.mark.skipif(
    "app" not in inspect.signature(httpx.Client.__init__).parameters,
    reason=f"httpx {httpx.__version__} has no app= (gone in 0.28)",
)

BASE = "https://open.tiktokapis.com"
INFO = "/v2/user/info/"
BODY = json.dumps({"data": {"user": {}}, "error": {"code": "ok"}}).encode()


def wsgi(calls: list[str]) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        calls.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "application/json")])
        return [BODY]

    return app


def asgi(calls: list[str]) -> Callable[..., Any]:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        calls.append(scope["path"])
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": BODY})

    return app


def test_a_client_with_a_wsgi_app_reaches_it_and_is_counted() -> None:
    calls: list[str] = []
    with install(clock=FakeClock()) as adapter:
        with httpx.Client(app=wsgi(calls), base_url=BASE) as client:
            assert [client.get(INFO).status_code for _ in range(3)] == [200] * 3
        assert adapter.stats().total.sent == 3
    assert calls == [INFO] * 3


def test_a_client_with_an_asgi_app_reaches_it_and_is_counted() -> None:
    calls: list[str] = []

    async def run() -> list[int]:
        async with httpx.AsyncClient(app=asgi(calls), base_url=BASE) as client:
            return [(await client.get(INFO)).status_code for _ in range(3)]

    with install(clock=FakeClock()) as adapter:
        assert asyncio.run(run()) == [200] * 3
        assert adapter.stats().total.sent == 3
    assert calls == [INFO] * 3
