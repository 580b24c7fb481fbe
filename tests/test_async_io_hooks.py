"""The async recipe's two hooks for a refused response (engine/async_recipe.py, AsyncIO):

- ``refused``: httpx async reads the refusal's body (``await response.aread()``) before
  raising, so the error's response is readable. Only a refusal inside a small JSON 200
  needs it: the transport hands that body on as an unread stream. A 429's body is read
  into the response it rebuilds, so that one is readable either way.
- ``let_go``: httpx async closes (``aclose()``), aiohttp releases (``release()``) a refused
  response before it is sent again, else the retry waits for the connection that response
  still holds. Against a pool of one connection the call then never ends.

With the default TikTokRefusals every refusal's body is read by the transport (a 429's
up to the cap, a 200's whole), and that read already frees the connection; the hook
matters for an answer the transport does not read, such as a 503 that an app's own
RefusalPolicy counts as a refusal. The server here answers that 503 with only part of its
body and holds the rest back, so the connection stays busy until the client lets it go
(aiohttp would free one whose body had fully arrived by itself).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tiktok_adapter import TikTokRefusals
from tiktok_adapter.httpx import AsyncTikTokTransport, RateLimitExceeded
from tiktok_adapter.testing import FakeClock

PATH = "/v2/user/info/"
INFO = f"https://open.tiktokapis.com{PATH}"
OK = {"data": {"user": {}}, "error": {"code": "ok", "message": "", "log_id": "y"}}
REFUSAL = {"data": {}, "error": {"code": "rate_limit_exceeded", "message": "slow down",
                                 "log_id": "z"}}  # fmt: skip
# A real hang guard, not a verdict about speed: the passing path waits on the fake clock.
HANG_GUARD = 10.0


# -- refused: the error's response is readable ---------------------------------------------


class Streamed(httpx.AsyncByteStream):
    """A body that arrives as a stream, as from the network: nothing read beforehand."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.reads = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.reads += 1
        yield self.body


@pytest.mark.parametrize("status", [200, 429], ids=["envelope-in-a-200", "429"])
def test_a_raised_refusal_carries_a_readable_body(status: int) -> None:
    """``on_limit="raise"``: the RateLimitExceeded's response reads as the server's body.
    The 200 (TikTok's rate_limit_exceeded envelope) is the case the ``refused`` hook reads;
    the 429 is read by the transport itself and stands beside it for the contract."""
    raw = json.dumps(REFUSAL).encode()
    streams: list[Streamed] = []

    def answer(request: httpx.Request) -> httpx.Response:
        streams.append(Streamed(raw))
        return httpx.Response(
            status, stream=streams[-1],
            headers={"Content-Type": "application/json", "Content-Length": str(len(raw))},
        )  # fmt: skip

    async def main() -> RateLimitExceeded:
        transport = AsyncTikTokTransport(
            transport=httpx.MockTransport(answer), clock=FakeClock(), on_limit="raise",
            max_retries=0,
        )  # fmt: skip
        async with httpx.AsyncClient(transport=transport) as client:
            with pytest.raises(RateLimitExceeded) as info:
                await client.get(INFO)
        return info.value

    error = asyncio.run(main())
    assert [s.reads for s in streams] == [1]  # one answer, its stream read once
    assert error.response is not None and error.response.status_code == status
    assert error.response.content == raw
    assert error.response.json() == REFUSAL


# -- let_go: a retry gets the pool's one connection ----------------------------------------


class BusyIsRefusal:
    """An app's RefusalPolicy: a 503 is refused as a 429 is; the rest as TikTok's."""

    tiktok = TikTokRefusals()

    def classify(self, answer: Any, info: Any) -> Any:
        if answer.status == 503:
            answer = answer._replace(status=429)  # Answer is a NamedTuple
        return self.tiktok.classify(answer, info)


class Loopback:
    """A loopback HTTP/1.1 server with keep-alive: its first ``refusals`` answers are a 503
    (Retry-After: 0) that sends half its declared body and holds the rest back until the
    server stops; every later answer is a 200 with ``OK``."""

    BUSY = json.dumps(REFUSAL).encode()

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.requests = 0
        self.connections = 0
        self.stopping = asyncio.Event()
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: list[asyncio.Task[Any]] = []

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        task = asyncio.current_task()
        assert task is not None
        self.tasks.append(task)
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")  # a GET: no request body
                self.requests += 1
                if self.refusals > 0:
                    self.refusals -= 1
                    writer.write(self._head(503, len(self.BUSY), "Retry-After: 0\r\n"))
                    writer.write(self.BUSY[: len(self.BUSY) // 2])
                    await writer.drain()
                    await self.stopping.wait()  # the rest never comes
                    return
                body = json.dumps(OK).encode()
                writer.write(self._head(200, len(body)) + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return  # the client hung up
        finally:
            writer.close()

    @staticmethod
    def _head(status: int, length: int, extra: str = "") -> bytes:
        return (f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                f"Content-Length: {length}\r\n{extra}\r\n").encode()  # fmt: skip

    async def __aenter__(self) -> Loopback:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *args: object) -> None:
        self.stopping.set()
        self.server.close()
        for writer in self.writers:
            writer.close()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.server.wait_closed()


async def _guarded(call: Any) -> Any:
    try:
        return await asyncio.wait_for(call, HANG_GUARD)
    except asyncio.TimeoutError:
        pytest.fail("the retry waited for the pool's one connection: a refused response "
                    "was sent again without being let go")  # fmt: skip


def test_httpx_async_lets_a_refused_response_go_before_sending_again() -> None:
    clock = FakeClock()

    async def main() -> tuple[httpx.Response, Loopback]:
        async with Loopback(refusals=2) as server:
            pool = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=1))
            transport = AsyncTikTokTransport(transport=pool, clock=clock,
                                             refusal_policy=BusyIsRefusal())  # fmt: skip
            async with httpx.AsyncClient(transport=transport) as client:
                response = await _guarded(client.get(server.url + PATH))
                await response.aread()
        return response, server

    response, server = asyncio.run(main())
    assert response.status_code == 200 and response.json() == OK
    assert server.requests == 3  # two refusals, each sent again
    assert server.connections == 3  # a half-read refusal's connection is closed, not reused


def test_aiohttp_releases_a_refused_response_before_sending_again() -> None:
    aiohttp = pytest.importorskip("aiohttp")
    from tiktok_adapter.aiohttp import TikTokMiddleware

    clock = FakeClock()

    async def main() -> tuple[int, Any, Loopback]:
        async with Loopback(refusals=2) as server:
            limits = TikTokMiddleware(base_url=server.url + "/", clock=clock,
                                      refusal_policy=BusyIsRefusal())  # fmt: skip
            session = aiohttp.ClientSession(
                middlewares=[limits], connector=aiohttp.TCPConnector(limit=1)
            )

            async def get() -> tuple[int, Any]:
                async with session.get(server.url + PATH) as response:
                    return response.status, await response.json()

            async with session, limits:
                status, body = await _guarded(get())
        return status, body, server

    status, body, server = asyncio.run(main())
    assert status == 200 and body == OK
    assert server.requests == 3
    assert server.connections == 3
