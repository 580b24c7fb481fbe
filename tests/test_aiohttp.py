"""The aiohttp middleware against a real loopback aiohttp server: admission waits or
raises, refusals block and are re-sent only when the server did not process them, a
hostile 429 body is read no further than the cap, other hosts pass through, and Redis
counts one quota with the httpx async transport."""

from __future__ import annotations

import asyncio
import functools
import gzip
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from conftest import RedisServer, settled_clients

aiohttp = pytest.importorskip("aiohttp")
from aiohttp import web  # noqa: E402

import tiktok_adapter  # noqa: E402
from tiktok_adapter.aiohttp import (  # noqa: E402
    QuotaExhausted,
    RateLimitExceeded,
    TikTokMiddleware,
    client_session,
    middleware,
)
from tiktok_adapter.testing import FakeClock  # noqa: E402

INFO = "/v2/user/info/"
PUBLISH = "/v2/post/publish/video/init/"
OK = {"data": {}, "error": {"code": "ok", "message": "", "log_id": "x"}}
QUOTA = b'{"error": {"code": "daily_quota_limit_exceeded", "message": "", "log_id": "x"}}'

Handle = Callable[[web.Request], Awaitable[web.StreamResponse]]


def ok(request: web.Request) -> web.Response:
    return web.json_response(OK)


class Server:
    """A loopback aiohttp server; ``answer`` scripts its replies, ``seen`` counts arrivals."""

    def __init__(self, answer: Handle | None = None, clock: FakeClock | None = None) -> None:
        self.answer = answer
        self.clock = clock
        self.seen: list[tuple[str, str, bytes]] = []
        self.times: list[float] = []
        self.port = 0

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.method, request.path, await request.read()))
        if self.clock is not None:
            self.times.append(self.clock.now())
        if self.answer is None:
            return ok(request)
        return await self.answer(request)

    async def __aenter__(self) -> Server:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def count(self, path: str = INFO) -> int:
        return sum(1 for _, p, _ in self.seen if p == path)


def run(main: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(main())


def test_admission_raises_the_aiohttp_flavour(store: dict[str, Any]) -> None:
    async def main() -> None:
        async with Server() as server:
            limits = middleware(base_url=server.url, on_limit="raise", safety_margin=0.0,
                                limits={"/user/info/": "2/minute"}, **store)  # fmt: skip
            async with aiohttp.ClientSession(server.url, middlewares=[limits]) as s, limits:
                for _ in range(2):
                    async with s.get(INFO) as r:
                        assert r.status == 200 and (await r.json()) == OK
                with pytest.raises(RateLimitExceeded) as info:
                    await s.get(INFO)
            assert isinstance(info.value, aiohttp.ClientError)
            assert isinstance(info.value, tiktok_adapter.RateLimitExceeded)
            assert info.value.response is None and info.value.limit == "2/minute"
            assert server.count() == 2

    run(main)


def test_admission_waits_on_the_clock(store: dict[str, Any]) -> None:
    clock = FakeClock()

    async def main() -> None:
        async with Server(clock=clock) as server:
            settings = {"limits": {"/user/info/": "2/minute"}, "safety_margin": 0.0, **store}
            async with client_session(base_url=server.url, clock=clock, **settings) as s:
                statuses = [(await s.get(INFO)).status for _ in range(3)]
            assert statuses == [200, 200, 200] and server.count() == 3
            assert server.times[2] - server.times[0] >= 60  # the third waited out the minute

    run(main)


def _refuse_first(status: int = 429, **headers: str) -> Handle:
    calls = 0

    async def answer(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return web.json_response({"error": {"code": "rate_limit_exceeded"}}, status=status,
                                     headers=headers)  # fmt: skip
        return ok(request)

    return answer


def test_a_429_with_retry_after_blocks_then_sends_the_get_again() -> None:
    clock = FakeClock()

    async def main() -> None:
        async with Server(_refuse_first(**{"Retry-After": "30"}), clock) as server:
            async with (
                client_session(base_url=server.url, clock=clock) as s,
                s.get(INFO) as r,
            ):
                assert r.status == 200 and (await r.json()) == OK
            assert server.count() == 2
            assert server.times[1] - server.times[0] >= 30

    run(main)


def test_a_post_refused_with_429_is_sent_again_as_it_was() -> None:
    """A 429 means the server did not process the write, so it goes again, same body."""
    clock = FakeClock()

    async def main() -> None:
        async with Server(_refuse_first(**{"Retry-After": "5"}), clock) as server:
            async with (
                client_session(base_url=server.url, clock=clock) as s,
                s.post(PUBLISH, json={"title": "once"}) as r,
            ):
                assert r.status == 200
            assert [m for m, _, _ in server.seen] == ["POST", "POST"]
            assert server.seen[0][2] == server.seen[1][2] == b'{"title": "once"}'

    run(main)


def _hang_up_first() -> Handle:
    calls = 0

    async def answer(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            assert request.transport is not None
            request.transport.close()  # the request arrived; no answer comes back
        return ok(request)

    return answer


@pytest.mark.parametrize(("method", "path", "sent"), [("POST", PUBLISH, 1), ("GET", INFO, 2)])
def test_after_a_connection_error_only_a_safe_request_goes_again(
    method: str, path: str, sent: int
) -> None:
    clock = FakeClock()

    async def main() -> None:
        async with Server(_hang_up_first(), clock) as server:
            # A fresh connection per request: aiohttp itself re-sends an idempotent request
            # that met a closed keep-alive connection; this is the middleware's own choice.
            options = {"connector": aiohttp.TCPConnector(force_close=True)}
            async with client_session(base_url=server.url, clock=clock,
                                      session_options=options) as s:  # fmt: skip
                if sent == 1:
                    with pytest.raises(aiohttp.ClientConnectionError):
                        await s.request(method, path, data=b"{}")
                else:
                    assert (await s.request(method, path)).status == 200
                    assert server.times[1] > server.times[0]  # after a backoff
            assert server.count(path) == sent

    run(main)


# -- a 429's body ------------------------------------------------------------------------
# Each body starts with the quota code and goes on with blanks (still valid JSON): read
# whole, it would raise QuotaExhausted; read no further than the cap, it cannot be judged.

PAD = b" " * (1024 * 1024)
FINISHED: list[str] = []  # the hostile answers the server sent to the end
# Before 3.14, aiohttp's parser inflates each network read whole as it arrives, read or
# not (with or without the middleware); from 3.14 it inflates as the reader asks.
DECODES_BOUNDED = tuple(int(p) for p in aiohttp.__version__.split(".")[:2]) >= (3, 14)


async def _small(request: web.Request) -> web.StreamResponse:
    return web.Response(status=429, body=QUOTA, content_type="application/json")


async def _huge(request: web.Request) -> web.StreamResponse:
    reply = web.StreamResponse(status=429, headers={"Content-Type": "application/json"})
    await reply.prepare(request)
    await reply.write(QUOTA)
    for _ in range(200):  # 200 MiB, chunked: the client hangs up long before
        await reply.write(PAD)
    FINISHED.append("huge")
    return reply


async def _trickle(request: web.Request) -> web.StreamResponse:
    reply = web.StreamResponse(status=429, headers={"Content-Type": "application/json"})
    await reply.prepare(request)
    await reply.write(QUOTA)
    for _ in range(600):  # a byte every 50 ms: half a minute
        await asyncio.sleep(0.05)
        await reply.write(b" ")
    return reply


@functools.cache
def _bomb_body() -> bytes:
    return gzip.compress(QUOTA + PAD * 64, 9)  # 64 MiB in about 64 KiB


async def _bomb(request: web.Request) -> web.StreamResponse:
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    return web.Response(status=429, body=_bomb_body(), headers=headers)


@pytest.mark.parametrize(
    ("answer", "deadline", "judged"),
    [(_small, 60, QuotaExhausted), (_huge, 60, RateLimitExceeded),
     (_trickle, 0.1, RateLimitExceeded), (_bomb, 60, RateLimitExceeded)],
    ids=["small", "huge", "trickle", "gzip-bomb"],
)  # fmt: skip
def test_a_429_body_is_read_no_further_than_the_cap(
    answer: Handle, deadline: float, judged: type
) -> None:
    """Size is bounded by the cap (a deadline of a minute never ends these reads), time
    by the deadline (the trickle would last half a minute)."""

    FINISHED.clear()

    async def main() -> None:
        async with Server(answer) as server:
            limits = middleware(base_url=server.url, on_limit="raise")
            limits.body_deadline = deadline
            async with aiohttp.ClientSession(server.url, middlewares=[limits]) as s:
                started = asyncio.get_running_loop().time()
                with pytest.raises(RateLimitExceeded) as info:
                    await s.get(INFO)
                took = asyncio.get_running_loop().time() - started
        assert type(info.value) is judged
        assert took < 10  # the trickle alone lasts 30 s

    _bomb_body()  # built before the count starts
    tracemalloc.start()
    try:
        run(main)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert FINISHED == []  # the huge one was cut, never drained
    if answer is not _bomb or DECODES_BOUNDED:
        assert peak < 16 * 1024 * 1024  # the bomb inflates to 64 MiB, the huge one is 200 MiB


def test_a_small_429_body_stays_readable_when_it_is_handed_back() -> None:
    """With no re-send left, the caller gets the refusal itself and can read it."""

    async def main() -> None:
        async with (
            Server(_small) as server,
            client_session(base_url=server.url, max_retries=0, max_wait=None) as s,
            s.post(PUBLISH, data=b"x") as r,
        ):
            assert r.status == 429 and (await r.read()) == QUOTA

    run(main)


def test_other_hosts_pass_through() -> None:
    async def main() -> None:
        async with Server() as server:
            limits = middleware(base_url=server.url, on_limit="raise",
                                limits={"/user/info/": "1/minute"})  # fmt: skip
            other = f"http://localhost:{server.port}{INFO}"
            async with aiohttp.ClientSession(middlewares=[limits]) as s:
                for _ in range(5):
                    assert (await s.get(other)).status == 200
                assert (await s.get(server.url + INFO[1:])).status == 200
                with pytest.raises(RateLimitExceeded):
                    await s.get(server.url + INFO[1:])
            assert server.count() == 6
            assert limits.stats().total.sent == 1

    run(main)


def test_the_middleware_is_a_client_middleware() -> None:
    assert isinstance(middleware(), TikTokMiddleware)
    assert middleware().host == "open.tiktokapis.com"
    assert middleware(preset="business").host == "business-api.tiktok.com"


@pytest.mark.redis
def test_aiohttp_and_httpx_async_share_one_quota_on_redis(redis_url: str, key_prefix: str) -> None:
    import httpx

    from tiktok_adapter.httpx import AsyncTikTokTransport

    shared: dict[str, Any] = {
        "storage_uri": redis_url, "key_prefix": key_prefix, "on_limit": "raise",
        "limits": {"/user/info/": "10/minute"}, "default_priority": "critical",
    }  # fmt: skip

    async def main() -> None:
        async with Server() as server:
            limits = middleware(base_url=server.url, **shared)
            async with aiohttp.ClientSession(server.url, middlewares=[limits]) as s, limits:
                for _ in range(6):
                    assert (await s.get(INFO)).status == 200
            transport = AsyncTikTokTransport(**shared)
            async with httpx.AsyncClient(base_url=server.url, transport=transport) as client:
                for _ in range(4):
                    assert (await client.get(INFO)).status_code == 200
                with pytest.raises(tiktok_adapter.RateLimitExceeded):
                    await client.get(INFO)
            again = middleware(base_url=server.url, **shared)
            async with aiohttp.ClientSession(server.url, middlewares=[again]) as s, again:
                with pytest.raises(RateLimitExceeded, match="10/minute"):
                    await s.get(INFO)
            assert server.count() == 10

    run(main)


@pytest.mark.redis
def test_closing_a_client_session_closes_its_redis_clients(private_redis: RedisServer) -> None:
    # aiohttp tells no middleware that its session closed: client_session() closes the
    # middleware it made with the session, so no Redis connection outlives it.
    import redis

    watcher = redis.Redis.from_url(private_redis.url)

    async def main() -> tuple[int, int, int]:
        async with Server() as server:
            before = settled_clients(watcher)
            async with client_session(
                base_url=server.url, storage_uri=private_redis.url
            ) as session:
                assert (await session.get(INFO)).status == 200
                during = settled_clients(watcher)
            return before, during, settled_clients(watcher)

    try:
        before, during, after = run(main)
    finally:
        watcher.close()
    assert during > before  # the middleware's async client, and the limiter's own
    assert after == before
