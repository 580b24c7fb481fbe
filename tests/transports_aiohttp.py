"""The aiohttp driver of tests/transports.py: the client middleware in a ``ClientSession``
against a real loopback aiohttp server (aiohttp has no mock transport)."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from transports import Driver, Script

from tiktok_adapter.aiohttp import TikTokMiddleware

# Whether the script set the answer's Date (aiohttp 3.14 types a response's own keys).
SCRIPTED_DATE: Any = getattr(web, "ResponseKey", lambda name, kind: name)("scripted_date", bool)


class Answered:
    """An aiohttp answer read whole, with the ``status_code`` and ``json()`` of the others."""

    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self.content = body

    def json(self) -> Any:
        return json.loads(self.content)


class AiohttpDriver(Driver):
    """The middleware in a ``ClientSession`` against a loopback aiohttp server, both on
    one event loop of the driver's own; each call runs to completion on it.

    The driver sends https://<host>/<path> to the loopback server with ``Host: <host>``;
    the server rebuilds the URL the test used and answers from the script. A "connect"
    reply hangs up without an answer; a "timeout" reply holds the answer back (until the
    driver closes, 10 s at most) past the client's read timeout of 0.25 s.
    """

    kind = "aiohttp"
    base_error = aiohttp.ClientError
    connect_error = aiohttp.ServerDisconnectedError
    timeout_error = aiohttp.SocketTimeoutError
    READ_TIMEOUT = 0.25  # a forced timeout: the server holds a "timeout" reply for 10 s
    HOLD = 10.0

    def __init__(self, script: Script, options: dict[str, Any]) -> None:
        self.script = script
        self.loop = asyncio.new_event_loop()
        self.released = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        app.on_response_prepare.append(self._undated)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.base = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        self.limited = TikTokMiddleware(base_url=self.base + "/", **options)

        async def open_session() -> aiohttp.ClientSession:
            # A fresh connection per request: what a scripted reply does to its
            # connection (hangs up, holds back) never touches the next request.
            return aiohttp.ClientSession(
                middlewares=[self.limited],
                connector=aiohttp.TCPConnector(force_close=True),
                timeout=aiohttp.ClientTimeout(sock_read=self.READ_TIMEOUT),
            )

        self.session = self.loop.run_until_complete(open_session())

    async def _answer(self, request: web.Request) -> web.Response:
        reply = self.script.next(request.method, f"https://{request.host}{request.path_qs}")
        if reply.error == "connect":
            assert request.transport is not None
            request.transport.close()  # the request arrived; no answer comes back
        elif reply.error == "timeout":
            try:
                await asyncio.wait_for(self.released.wait(), self.HOLD)
            except asyncio.TimeoutError:
                pass
        headers, body = Script.encode(reply)
        response = web.Response(status=reply.status, headers=headers, body=body)
        response[SCRIPTED_DATE] = "Date" in headers
        return response

    @staticmethod
    async def _undated(request: web.Request, response: web.StreamResponse) -> None:
        """No Date header unless the script sets one, as for the other drivers: aiohttp
        dates answers by the wall clock, which the test's clock is not."""
        if not response.get(SCRIPTED_DATE):
            response.headers.popall("Date", None)

    def _send(self, method: str, url: str, **kwargs: Any) -> Answered:
        split = urlsplit(url)
        target = self.base + split.path + (f"?{split.query}" if split.query else "")
        headers = {**(kwargs.pop("headers", None) or {}), "Host": split.netloc}

        async def send() -> Answered:
            async with self.session.request(method, target, headers=headers, **kwargs) as r:
                return Answered(r.status, r.headers, await r.read())

        return self.loop.run_until_complete(send())

    def get(self, url: str, *, headers: dict[str, str] | None = None,
            stream: bool = False) -> Any:  # fmt: skip
        return self._send("GET", url, headers=headers)

    def post(self, url: str, payload: Any) -> Any:
        return self._send("POST", url, json=payload)

    def status(self, response: Any) -> int:
        return int(response.status)

    def close(self) -> None:
        self.released.set()
        self.loop.run_until_complete(self.session.close())
        self.loop.run_until_complete(self.limited.aclose())
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()
