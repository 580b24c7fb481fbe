"""The async transport: the event loop never waits on us, cancellation leaks nothing,
priorities stay with their task, and Redis counts one quota with sync workers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from transports import Wire

from tiktok_adapter import Priority, RateLimitExceeded, priority
from tiktok_adapter.httpx import AsyncTikTokTransport, TikTokTransport
from tiktok_adapter.testing import FakeClock

BASE = "https://open.tiktokapis.com"
INFO = f"{BASE}/v2/user/info/"


class SteppedClock(FakeClock):
    """A fake clock whose sleepers stay asleep until the test lets them go."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.sleeping = 0

    async def asleep(self, seconds: float) -> None:
        self.sleeping += 1
        try:
            await self.release.wait()
        finally:
            self.sleeping -= 1


def _used(transport: AsyncTikTokTransport, url: str, now: float) -> dict[str, int]:
    route = transport.limiter.resolve(url)
    return {w.rate.text: transport.store.usage(w, now).used for w in route.windows}


class LoopClock(SteppedClock):
    """A SteppedClock that records each blocking ``sleep`` (which on the loop's thread
    would stop every task) instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.blocking: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.blocking.append(seconds)


def test_waiting_tasks_never_block_the_event_loop() -> None:
    """While 200 tasks wait on a spent window, the head awaits its sleep and the rest
    await their turn: no blocking sleep, and the loop runs other work meanwhile;
    cancelled, they leave nothing."""

    async def main() -> tuple[AsyncTikTokTransport, Wire, LoopClock]:
        clock = LoopClock()
        wire = Wire()
        transport = AsyncTikTokTransport(
            transport=wire.transport, clock=clock, limits={"/user/info/": "1/minute"},
            default_priority="critical", safety_margin=0.0,
        )  # fmt: skip
        async with httpx.AsyncClient(transport=transport) as client:
            await client.get(INFO)
            waiters = [asyncio.create_task(client.get(INFO)) for _ in range(200)]
            for _ in range(1000):  # the loop goes on: every waiter gets to its wait
                await asyncio.sleep(0)
            assert clock.sleeping == 1  # the head; the others queue behind it
            assert not any(task.done() for task in waiters)
            for task in waiters:
                task.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
        return transport, wire, clock

    transport, wire, clock = asyncio.run(main())
    assert clock.blocking == []
    assert wire.sent == 1
    assert transport.recipe.admitter.queues == {}
    assert _used(transport, INFO, clock.now())["1/minute"] == 1


def test_a_cancelled_waiter_leaves_nothing_admitted_and_nothing_queued() -> None:
    async def main() -> tuple[AsyncTikTokTransport, Wire, SteppedClock]:
        clock = SteppedClock()
        wire = Wire()
        transport = AsyncTikTokTransport(
            transport=wire.transport, clock=clock, limits={"/user/info/": "1/minute"},
            default_priority="critical", safety_margin=0.0,
        )  # fmt: skip
        async with httpx.AsyncClient(transport=transport) as client:
            await client.get(INFO)
            head, second, third = (asyncio.create_task(client.get(INFO)) for _ in range(3))
            await asyncio.sleep(0.01)
            assert clock.sleeping == 1  # the head sleeps; the others queue behind it
            head.cancel()
            await asyncio.sleep(0.01)
            assert clock.sleeping == 1  # the second took the head and sleeps in turn
            third.cancel()
            await asyncio.gather(head, third, return_exceptions=True)
            queue = next(iter(transport.recipe.admitter.queues.values()))
            assert queue.waiting() == 1
            clock.advance(60)
            clock.release.set()
            assert (await second).status_code == 200
        return transport, wire, clock

    transport, wire, clock = asyncio.run(main())
    assert wire.sent == 2
    assert transport.recipe.admitter.queues == {}
    used = _used(transport, INFO, clock.now() - 1)
    # The app's hourly window saw the first call and the second, nothing of the cancelled.
    assert used == {"1/minute": 1, "1000/hour": 2}
    assert transport.stats().total.refusals == 0


def test_a_priority_belongs_to_its_task() -> None:
    async def main() -> None:
        transport = AsyncTikTokTransport(
            transport=Wire().transport, clock=FakeClock(), on_limit="raise", safety_margin=0.0
        )
        gate = asyncio.Event()
        async with httpx.AsyncClient(transport=transport) as client:

            async def low() -> None:
                with priority(Priority.LOW):
                    await gate.wait()
                    with pytest.raises(RateLimitExceeded, match="LOW may use 5"):
                        await client.get(INFO)

            async def medium() -> None:
                for _ in range(6):  # more than LOW's half of 10/minute
                    await client.get(INFO)
                gate.set()

            await asyncio.gather(low(), medium())

    asyncio.run(main())


@pytest.fixture
def shared(redis_url: str, key_prefix: str) -> Iterator[dict[str, object]]:
    yield {
        "storage_uri": redis_url, "key_prefix": key_prefix, "on_limit": "raise",
        "on_storage_error": "raise", "default_priority": "critical",
        "limits": {"/user/info/": "10/minute"},
    }  # fmt: skip


def test_sync_and_async_workers_share_one_quota_on_redis(shared: dict[str, object]) -> None:
    sync_wire, async_wire = Wire(), Wire()
    with httpx.Client(transport=TikTokTransport(transport=sync_wire.transport, **shared)) as c:
        for _ in range(6):
            c.get(INFO)

    async def main() -> None:
        transport = AsyncTikTokTransport(transport=async_wire.transport, **shared)
        async with httpx.AsyncClient(transport=transport) as client:
            for _ in range(4):
                await client.get(INFO)
            with pytest.raises(RateLimitExceeded, match="10/minute") as info:
                await client.get(INFO)
            assert isinstance(info.value, httpx.HTTPError)

    asyncio.run(main())
    assert (sync_wire.sent, async_wire.sent) == (6, 4)
    again = TikTokTransport(transport=sync_wire.transport, **shared)
    with httpx.Client(transport=again) as c, pytest.raises(RateLimitExceeded, match="10/minute"):
        c.get(INFO)


def test_a_server_block_from_an_async_worker_holds_sync_workers(
    shared: dict[str, object],
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "30"}, json={"error": {}})

    def blocking(*args: object) -> None:
        raise AssertionError("the async transport used the sync Redis client")

    async def main() -> None:
        transport = AsyncTikTokTransport(transport=httpx.MockTransport(refuse), **shared)
        # Every Redis call of the async path is awaited: the sync store is never asked.
        transport.limiter.store.primary.block = blocking
        transport.limiter.store.primary.acquire = blocking
        async with httpx.AsyncClient(transport=transport) as client:
            with pytest.raises(RateLimitExceeded) as info:
                await client.get(INFO)
            assert info.value.response is not None

    asyncio.run(main())
    sync = TikTokTransport(transport=Wire().transport, **shared)
    with httpx.Client(transport=sync) as c, pytest.raises(RateLimitExceeded) as info:
        c.get(INFO)
    assert info.value.response is None and info.value.limit == "server"
    assert 25 < info.value.retry_after <= 30


def test_redis_down_with_raise_sends_nothing_and_says_so() -> None:
    wire = Wire()

    async def main() -> None:
        transport = AsyncTikTokTransport(
            transport=wire.transport, storage_uri="redis://127.0.0.1:1/0",
            on_storage_error="raise",
        )  # fmt: skip
        async with httpx.AsyncClient(transport=transport) as client:
            from tiktok_adapter import StorageUnavailable

            with pytest.raises(StorageUnavailable) as info:
                await client.get(INFO)
            assert isinstance(info.value, httpx.HTTPError)

    asyncio.run(main())
    assert wire.sent == 0
