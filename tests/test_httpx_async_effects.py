"""The async transport's work after an answer: record refunds reach the budget, and the
learner's and the refunds' Redis round trips run off the event loop."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tiktok_adapter.httpx import AsyncTikTokTransport, async_client, transport_of
from tiktok_adapter.testing import FakeClock, FakeTikTok
from tiktok_adapter.testing.httpx_fake import httpx_options

QUERY = "/v2/research/video/query/?fields=id"
BODY: dict[str, Any] = {
    "query": {"and": [{"operation": "IN", "field_name": "region_code", "field_values": ["US"]}]},
    # Three days of the Research corpus (120 videos a day): fewer US videos than a page.
    "start_date": "20220101",
    "end_date": "20220103",
    "max_count": 100,
}
RECORDS = "100000/day@utc records"
INFO = "https://open.tiktokapis.com/v2/user/info/"
OK = {"data": {"user": {}}, "error": {"code": "ok", "message": "", "log_id": "y"}}
REFUSED = {"error": {"code": "rate_limit_exceeded", "message": "slow down", "log_id": "z"}}
# The thread in which a shared store tells the fleet it is alive, every few real seconds:
# its commands are neither held nor taken for the request's.
HEARTBEAT = "tiktok-adapter-heartbeat"
# How long a held Redis call waits to be let go at most: a bound on a broken test, never
# a verdict (the tests let it go as soon as they have seen it under way).
HOLD = 10.0


def _records_used(transport: AsyncTikTokTransport) -> int:
    windows = transport.budget().endpoints["/research/video/query/"].windows
    return {w.limit: w.used for w in windows}[RECORDS]


def test_records_that_did_not_come_back_are_refunded_under_async(
    clock: FakeClock, store: dict[str, Any]
) -> None:
    fake = FakeTikTok(preset="research", clock=clock, videos=60)

    async def main() -> tuple[AsyncTikTokTransport, list[int]]:
        used = []
        async with async_client(**httpx_options(fake), **store) as client:
            transport = transport_of(client)
            assert isinstance(transport, AsyncTikTokTransport)
            page = (await client.post(QUERY, json=BODY)).json()["data"]["videos"]
            assert 20 < len(page) < 100  # 100 reserved, fewer came back
            used.append(len(page))
            used.append(_records_used(transport))
            # Without max_count TikTok's default (20) is reserved, and 20 come back.
            await client.post(QUERY, json={k: v for k, v in BODY.items() if k != "max_count"})
            used.append(_records_used(transport))
        return transport, used

    transport, (came, *used) = asyncio.run(main())
    assert used == [came, came + 20]
    # The in-process shadow of a shared store was refunded too.
    shadow = getattr(transport.store, "fallback", None)
    if shadow is not None:
        route = transport.limiter.resolve("https://open.tiktokapis.com" + QUERY)
        (records,) = route.cost_windows
        assert shadow.usage(records, clock.now()).used == came + 20


def test_a_refused_query_gives_every_reserved_record_back_under_async(
    clock: FakeClock, store: dict[str, Any]
) -> None:
    answers = iter([httpx.Response(429, json=REFUSED)])

    def handle(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(500, json={}))

    async def main() -> int:
        transport = AsyncTikTokTransport(
            transport=httpx.MockTransport(handle), preset="research", clock=clock,
            max_retries=0, **store,
        )  # fmt: skip
        async with httpx.AsyncClient(
            base_url="https://open.tiktokapis.com", transport=transport
        ) as client:
            assert (await client.post(QUERY, json=BODY)).status_code == 429
            return _records_used(transport)

    assert asyncio.run(main()) == 0


class HeldRedis:
    """Every command of a sync Redis client (the async one is another class) is held
    until ``release()``, and the thread that sent it is recorded.

    A command sent from the event loop's own thread is recorded and not held: such a
    command blocks the loop, which is the verdict (``on_loop``), so the test fails at
    once rather than hang. Nothing here measures time.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import redis

        self.loop_thread = threading.get_ident()  # asyncio.run runs the loop here
        self.entered = threading.Event()
        self.released = threading.Event()
        self.threads: list[int] = []
        real: Callable[..., Any] = redis.Redis.execute_command

        def held(client: Any, *args: Any, **kwargs: Any) -> Any:
            me = threading.current_thread()
            if me.name == HEARTBEAT:  # the fleet's own beat, on its own clock
                return real(client, *args, **kwargs)
            self.threads.append(me.ident or 0)
            self.entered.set()
            if me.ident != self.loop_thread:
                self.released.wait(HOLD)
            return real(client, *args, **kwargs)

        monkeypatch.setattr(redis.Redis, "execute_command", held)

    @property
    def on_loop(self) -> bool:
        return self.loop_thread in self.threads

    def release(self) -> None:
        self.released.set()

    async def under_way(self, request: asyncio.Future[Any]) -> None:
        """Until a held command was sent (or ``request`` ended without one); while the
        command is held this loop goes on, which a command on the loop would stop."""
        for _ in range(int(HOLD / 0.005)):
            if self.entered.is_set() or request.done():
                return
            await asyncio.sleep(0.005)


@pytest.mark.redis
@pytest.mark.parametrize("first", [429, 200], ids=["refusal", "first-read"])
def test_learning_never_blocks_the_event_loop(
    redis_url: str, key_prefix: str, monkeypatch: pytest.MonkeyPatch, first: int
) -> None:
    """The sync Redis client's round trips run in another thread than the event loop's,
    and the loop goes on while they are held. The first request reads the learned
    limits; after a 429 the learner reads usage, and the block is shared (through the
    async client)."""
    answers = iter([httpx.Response(first, json=REFUSED if first == 429 else OK)])

    def handle(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(200, json=OK))

    held = HeldRedis(monkeypatch)

    async def main() -> None:
        transport = AsyncTikTokTransport(
            transport=httpx.MockTransport(handle), clock=FakeClock(), storage_uri=redis_url,
            key_prefix=key_prefix, storage_time=False,
        )  # fmt: skip
        async with httpx.AsyncClient(transport=transport) as client:
            request = asyncio.ensure_future(client.get(INFO))
            await held.under_way(request)
            assert not request.done()  # it waits for the held command, the loop does not
            held.release()
            assert (await request).status_code == 200

    asyncio.run(main())
    assert held.entered.is_set()  # the learner did reach the sync client
    assert not held.on_loop, "a sync Redis command ran on the event loop's thread"


@pytest.mark.redis
def test_refunds_never_block_the_event_loop_and_survive_cancellation(
    clock: FakeClock, redis_url: str, key_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refund's Redis script runs in another thread than the event loop's, and a
    task cancelled while it runs still has its records given back."""
    fake = FakeTikTok(preset="research", clock=clock, videos=60)
    store: dict[str, Any] = {
        "storage_uri": redis_url,
        "key_prefix": key_prefix,
        "storage_time": False,
    }
    holder: list[HeldRedis] = []

    async def main() -> AsyncTikTokTransport:
        client = async_client(**httpx_options(fake), **store)
        transport = transport_of(client)
        assert isinstance(transport, AsyncTikTokTransport)
        transport.budget()  # reads the learned limits: the first read is not judged here
        held = HeldRedis(monkeypatch)
        holder.append(held)
        request = asyncio.ensure_future(client.post(QUERY, json=BODY))
        await held.under_way(request)  # until the refund is under way
        assert held.entered.is_set(), "no refund reached the shared store"
        request.cancel()
        await asyncio.gather(request, return_exceptions=True)
        held.release()
        await client.aclose()  # waits for the effects still running
        return transport

    transport = asyncio.run(main())
    (held,) = holder
    assert not held.on_loop, "a sync Redis command ran on the event loop's thread"
    monkeypatch.undo()
    # What the page holds, asked of the simulator itself (its own windows, not the adapter's).
    probe = fake.app.handle("POST", "/research" + QUERY.split("/research", 1)[1], {},
                            json.dumps(BODY).encode())  # fmt: skip
    assert _records_used(transport) == len(probe.json()["data"]["videos"]) < 100


@pytest.mark.redis
def test_a_request_cancelled_while_its_refusal_is_learned_still_shares_the_block(
    redis_url: str, key_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled during the first effect (the learner's slow read), the request's later
    effect (the server's block, written through the async client) still reaches Redis."""
    clock = FakeClock()
    limited = {"retry-after": "30"}
    answers = iter([httpx.Response(200, json=OK), httpx.Response(429, json=REFUSED,
                                                                 headers=limited)])  # fmt: skip

    def handle(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(200, json=OK))

    transport = AsyncTikTokTransport(
        transport=httpx.MockTransport(handle), clock=clock, storage_uri=redis_url,
        key_prefix=key_prefix, storage_time=False,
    )  # fmt: skip

    async def main() -> None:
        client = httpx.AsyncClient(transport=transport)
        assert (await client.get(INFO)).status_code == 200
        held = HeldRedis(monkeypatch)
        request = asyncio.ensure_future(client.get(INFO))
        await held.under_way(request)  # until the learner's read is under way
        assert held.entered.is_set() and not request.done()
        request.cancel()
        await asyncio.gather(request, return_exceptions=True)
        held.release()
        await client.aclose()

    asyncio.run(main())
    monkeypatch.undo()
    key = transport.limiter.resolve(INFO).blocks[0]
    assert transport.store.primary.blocked_until(key, clock.now()) > clock.now()


@pytest.mark.redis
def test_effects_run_in_the_transports_own_threads(
    redis_url: str, key_prefix: str, clock: FakeClock
) -> None:
    """A busy default executor (it resolves host names, and user code's to_thread shares
    it) never holds up the work after an answer, and that work never takes a slot of it."""
    release = threading.Event()

    def handle(request: httpx.Request) -> httpx.Response:
        clock.advance(0.5)  # a late answer: its entry moves, a Redis round trip in a thread
        return httpx.Response(200, json=OK)

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(1))
        held = loop.run_in_executor(None, release.wait)  # the loop's only default thread
        ran_in: list[str] = []
        transport = AsyncTikTokTransport(
            transport=httpx.MockTransport(handle), clock=clock, storage_uri=redis_url,
            key_prefix=key_prefix, storage_time=False, default_priority="critical",
        )  # fmt: skip
        store = transport.limiter.store
        real = store.redate

        def spy(*args: Any) -> None:
            ran_in.append(threading.current_thread().name)
            real(*args)

        store.redate = spy  # type: ignore[method-assign]
        try:
            async with httpx.AsyncClient(transport=transport) as client:
                response = await asyncio.wait_for(client.get(INFO), 10)
                assert response.status_code == 200
        finally:
            release.set()
            await held
        return ran_in

    ran_in = asyncio.run(main())
    assert len(ran_in) == 1 and ran_in[0].startswith("tiktok-adapter")
