"""One scripted server and one driver per transport, so a behaviour test runs on each.

Drivers: requests (the adapter under `responses`), httpx sync and httpx async (the
transports over an ``httpx.MockTransport``) and aiohttp (the client middleware against a
real loopback server, as aiohttp has no mock transport: tests/transports_aiohttp.py).
A test scripts answers per (method, URL), sends through ``driver``, and checks what the
server saw and what the clock slept.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
import responses

from tiktok_adapter import TikTokAdapter, mount
from tiktok_adapter.httpx import STREAM, AsyncTikTokTransport, TikTokTransport
from tiktok_adapter.testing import FakeClock

KINDS: tuple[str, ...] = ("requests", "httpx", "httpx-async")
if importlib.util.find_spec("aiohttp") is not None:  # an optional extra
    KINDS += ("aiohttp",)


OK_BODY = {"data": {"user": {}}, "error": {"code": "ok", "message": "", "log_id": "y"}}


class Wire:
    """An httpx.MockTransport that answers 200 and counts what reached the server."""

    def __init__(self) -> None:
        self.sent = 0
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return httpx.Response(200, json=OK_BODY)


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    error: str | None = None  # "connect" or "timeout": the call fails on the wire
    delay: float = 0.0  # seconds the answer takes, on the script's clock


class Script:
    """Answers in order per (method, URL); the last one repeats, as in `responses`."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.replies: dict[tuple[str, str], list[Reply]] = {}
        self.calls: list[tuple[str, str]] = []
        self.clock = clock  # moved by a reply's delay; ``arrivals`` read it
        self.arrivals: list[float] = []

    def add(self, method: str, url: str, reply: Reply) -> None:
        self.replies.setdefault((method, url), []).append(reply)

    def replace(self, method: str, url: str, reply: Reply) -> None:
        self.replies[(method, url)] = [reply]

    def next(self, method: str, url: str) -> Reply:
        self.calls.append((method, url))
        queue = self.replies[(method, url.split("?")[0])]
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if self.clock is not None:
            # The worst case for the server's count: the request set off late and arrives
            # at the end of its delay, just before it is answered.
            self.clock.advance(reply.delay)
            self.arrivals.append(self.clock.now())
        return reply

    @staticmethod
    def encode(reply: Reply) -> tuple[dict[str, str], bytes]:
        headers = dict(reply.headers)
        if reply.json is not None:
            headers.setdefault("Content-Type", "application/json")
            return headers, json.dumps(reply.json).encode()
        return headers, reply.body or b""


class Driver:
    """Sends like a caller of one transport; ``limited`` is the adapter or transport."""

    kind: str
    limited: Any
    base_error: type[Exception]
    connect_error: type[Exception]
    timeout_error: type[Exception]

    def get(self, url: str, *, headers: dict[str, str] | None = None,
            stream: bool = False) -> Any: ...  # fmt: skip

    def post(self, url: str, payload: Any) -> Any: ...

    def close(self) -> None: ...

    def status(self, response: Any) -> int:
        """The status of a response the transport handed over (in an error, say)."""
        return int(response.status_code)

    def usage(self, url: str, clock: FakeClock) -> dict[str, int]:
        """How much of each of the route's windows is used now."""
        route = self.limited.limiter.resolve(url)
        store = self.limited.limiter.store
        return {w.rate.text: store.usage(w, clock.now()).used for w in route.windows}


class RequestsDriver(Driver):
    kind = "requests"
    base_error = requests.RequestException
    connect_error = requests.ConnectionError
    timeout_error = requests.ReadTimeout

    def __init__(self, script: Script, options: dict[str, Any]) -> None:
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        self.mock.start()

        def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
            reply = script.next(request.method or "GET", request.url or "")
            if reply.error == "connect":
                raise requests.ConnectionError("reset by peer")
            if reply.error == "timeout":
                raise requests.ReadTimeout("lost")
            headers, body = Script.encode(reply)
            return reply.status, headers, body

        for method in ("GET", "POST"):
            self.mock.add_callback(method, re.compile(r"https://.*"),
                                   callback=callback)  # fmt: skip
        self.session = requests.Session()
        try:
            self.limited: TikTokAdapter = mount(self.session, **options)
        except BaseException:
            # Never made, so never closed: the mock must not outlive the test.
            self.mock.stop()
            raise

    def get(self, url: str, *, headers: dict[str, str] | None = None,
            stream: bool = False) -> Any:  # fmt: skip
        return self.session.get(url, headers=headers, stream=stream)

    def post(self, url: str, payload: Any) -> Any:
        return self.session.post(url, json=payload)

    def close(self) -> None:
        self.session.close()
        self.mock.stop()
        self.mock.reset()


def _handler(script: Script) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        reply = script.next(request.method, str(request.url))
        if reply.error == "connect":
            raise httpx.ConnectError("reset by peer", request=request)
        if reply.error == "timeout":
            raise httpx.ReadTimeout("lost", request=request)
        headers, body = Script.encode(reply)
        return httpx.Response(reply.status, headers=headers, content=body)

    return handle


class HttpxDriver(Driver):
    kind = "httpx"
    base_error = httpx.HTTPError
    connect_error = httpx.ConnectError
    timeout_error = httpx.ReadTimeout

    def __init__(self, script: Script, options: dict[str, Any]) -> None:
        self.limited = TikTokTransport(transport=httpx.MockTransport(_handler(script)), **options)
        self.client = httpx.Client(transport=self.limited)

    def get(self, url: str, *, headers: dict[str, str] | None = None,
            stream: bool = False) -> Any:  # fmt: skip
        if stream:
            request = self.client.build_request("GET", url, headers=headers,
                                                extensions={STREAM: True})  # fmt: skip
            return self.client.send(request, stream=True)
        return self.client.get(url, headers=headers)

    def post(self, url: str, payload: Any) -> Any:
        return self.client.post(url, json=payload)

    def close(self) -> None:
        self.client.close()


class AsyncHttpxDriver(Driver):
    """The async transport, each call run to completion on one event loop of its own."""

    kind = "httpx-async"
    base_error = httpx.HTTPError
    connect_error = httpx.ConnectError
    timeout_error = httpx.ReadTimeout

    def __init__(self, script: Script, options: dict[str, Any]) -> None:
        self.loop = asyncio.new_event_loop()
        self.limited = AsyncTikTokTransport(
            transport=httpx.MockTransport(_handler(script)), **options
        )
        self.client = httpx.AsyncClient(transport=self.limited)

    def get(self, url: str, *, headers: dict[str, str] | None = None,
            stream: bool = False) -> Any:  # fmt: skip
        if stream:
            request = self.client.build_request("GET", url, headers=headers,
                                                extensions={STREAM: True})  # fmt: skip
            return self.loop.run_until_complete(self.client.send(request, stream=True))
        return self.loop.run_until_complete(self.client.get(url, headers=headers))

    def post(self, url: str, payload: Any) -> Any:
        return self.loop.run_until_complete(self.client.post(url, json=payload))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


Factory = Callable[..., Driver]


def drivers(
    kind: str, clock: FakeClock, defaults: dict[str, Any] | None = None
) -> Iterator[Factory]:
    """For a fixture: ``make(script, **settings)`` builds a driver of ``kind`` on
    ``clock`` (``defaults`` under the settings: the store, say); every driver made is
    closed when the fixture ends."""
    made: list[Driver] = []
    kinds: dict[str, Callable[[Script, dict[str, Any]], Driver]] = {
        "requests": RequestsDriver, "httpx": HttpxDriver, "httpx-async": AsyncHttpxDriver,
    }  # fmt: skip
    if kind == "aiohttp":
        from transports_aiohttp import AiohttpDriver

        kinds[kind] = AiohttpDriver

    def make(script: Script, **options: Any) -> Driver:
        options = {"clock": clock, **(defaults or {}), **options}
        driver = kinds[kind](script, options)
        made.append(driver)
        return driver

    yield make
    # Newest first: each requests driver patches requests' send over the last one's, and
    # patches undone out of order would leave a mock in place for the tests after.
    for driver in reversed(made):
        driver.close()
