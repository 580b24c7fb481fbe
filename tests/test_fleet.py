"""The fleet during an outage: shares that add up to the limit, a start from what the fleet
held, a replay when the store is back, and a store that never answered said at ERROR.

The table tests write their expectations by hand. The Redis tests run two adapters (two
processes' worth of stores) on one private redis-server with the fake clock; the server
is stopped for the outage, so every request then goes through the fallback.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
from typing import Any

import httpx
import pytest
import redis
import requests
import responses
from conftest import RedisServer
from test_redis_faults import INFO, adapter_on, record_arrivals
from transports import Wire

from tiktok_adapter import RateLimitExceeded, StorageUnavailable, TikTokAdapter
from tiktok_adapter.httpx import AsyncTikTokTransport
from tiktok_adapter.storage.fleet import FleetView, Heartbeat, read_view
from tiktok_adapter.testing import FakeClock

pytestmark = pytest.mark.redis


@pytest.mark.parametrize(
    ("size", "amount", "shares"),
    [
        (1, 10, [10]),
        (4, 10, [3, 3, 2, 2]),  # the remainder to the lowest ranks: 10 in all
        (3, 2, [1, 1, 0]),  # more members than the limit: some get none
        (2, 0, [0, 0]),
    ],
)
def test_the_shares_add_up_to_the_limit(size: int, amount: int, shares: list[int]) -> None:
    assert [FleetView(size, rank).cap(amount) for rank in range(size)] == shares


def test_the_view_counts_live_members_and_sees_a_late_one() -> None:
    now = 1000.0
    reply: list[Any] = [repr(now), b"aa", repr(now - 0.5), b"ok", b"me", repr(now), b"ok"]
    reply += [b"zz", repr(now - 29.0), b"ok", b"gone", repr(now - 31.0), b"ok"]
    view = read_view(reply, "me")
    assert (view.size, view.rank) == (3, 1)  # aa, me, zz; "gone" was silent for 31 s
    assert not view.settled  # zz was silent for 29 s: it may be counting alone
    assert read_view([repr(now), b"me", repr(now), b"ok"], "me") == FleetView(1, 0, True)
    out = read_view([repr(now), b"me", repr(now), b"ok", b"b", repr(now), b"out"], "me")
    assert not out.settled


def test_a_member_that_said_it_left_counts_no_more() -> None:
    known: dict[str, float] = {}
    now = 1000.0
    three = [repr(now), b"a", repr(now), b"ok", b"b", repr(now - 0.5), b"ok"]
    three += [b"c", repr(now), b"ok"]
    assert read_view(three, "a", known, 50.0) == FleetView(3, 0, True)
    # "b" closed: its last beat says so. It counts neither in the roster nor in this
    # process's memory of the fleet; gone silent instead, it would unsettle the fleet
    # (after 2.5 s) and count until forgotten (30 s).
    left = [repr(now + 1.0), b"a", repr(now + 1.0), b"ok", b"b", repr(now + 0.9), b"left"]
    left += [b"c", repr(now + 1.0), b"ok"]
    assert read_view(left, "a", known, 51.0) == FleetView(2, 0, True)
    assert "b" not in known
    # A roster that has lost "b" altogether (a promoted replica) is no member short.
    gone = [repr(now + 2.0), b"a", repr(now + 2.0), b"ok", b"c", repr(now + 2.0), b"ok"]
    assert read_view(gone, "a", known, 52.0) == FleetView(2, 0, True)
    # Its own "left" does not take a member out of its own view.
    assert read_view([repr(now), b"a", repr(now), b"left"], "a") == FleetView(1, 0, True)


def test_a_paused_heartbeat_starts_again_on_use_and_a_stopped_one_never() -> None:
    beats = [threading.Event(), threading.Event()]
    count = iter(range(2))

    def beat() -> None:
        beats[next(count, 1)].set()

    heart = Heartbeat(beat, interval=3600.0)  # one beat per thread, then it waits
    heart.ensure()
    assert beats[0].wait(10)
    heart.pause()
    heart.ensure()  # a closed store used again: a new thread, which beats at once
    assert beats[1].wait(10)
    heart.stop()
    before = set(threading.enumerate())
    heart.ensure()  # a thread started here would be alive, waiting its hour
    assert set(threading.enumerate()) - before == set()


@pytest.fixture
def server(private_redis: RedisServer) -> RedisServer:
    return private_redis


def _pair(server: RedisServer, clock: FakeClock, **kw: Any) -> list[TikTokAdapter]:
    adapters = [adapter_on(server.url, "fleet", clock, on_limit="raise", **kw) for _ in range(2)]
    for adapter in adapters:
        adapter.store.stop_heartbeat()  # the test beats on the fake clock, not real time
        adapter.store.beat()  # what the heartbeat thread does every second
    for adapter in adapters:
        adapter.store.beat()  # now each has seen the other
    return adapters


def _send(session: requests.Session) -> bool:
    try:
        session.get(INFO)
    except RateLimitExceeded:
        return False
    return True


def test_a_closed_member_leaves_the_fleet_at_once_and_rejoins_when_used(
    server: RedisServer, clock: FakeClock
) -> None:
    adapters = _pair(server, clock)
    assert [(a.store.view.size, a.store.view.settled) for a in adapters] == [(2, True)] * 2
    adapters[1].close()  # a worker that finished
    adapters[0].store.beat()
    # Settled, a fleet of one: this process may take every window in an outage, and is
    # not held to half of each while the other's silence ages (2.5 s, then 30 s).
    assert adapters[0].store.view == FleetView(1, 0, True)
    adapters[1].store.beat()  # used again: its heartbeat starts again, and says so
    adapters[0].store.beat()
    assert adapters[0].store.view.size == 2


@pytest.mark.parametrize("down", [False, True], ids=["answering", "down"])
def test_closing_says_left_only_to_a_store_that_answers(
    server: RedisServer, clock: FakeClock, mocked: responses.RequestsMock, down: bool
) -> None:
    # A last beat to a store that does not answer would hold close() (and the exit hook)
    # for the client's timeout, to tell nobody anything: the others age the silence out.
    mocked.get(INFO, json={"data": {}})
    adapters = _pair(server, clock)
    if down:
        server.stop()
        with requests.Session() as session:
            session.mount("https://", adapters[1])
            _send(session)  # the store does not answer: marked down (and held to a share)
        assert adapters[1].store.degraded
    beats: list[str] = []
    primary = adapters[1].store.primary
    beat = primary.heartbeat

    def heartbeat(member: str, state: str, forget: float) -> list[Any]:
        beats.append(state)
        return beat(member, state, forget)

    primary.heartbeat = heartbeat  # type: ignore[method-assign]
    adapters[1].close()
    assert beats == ([] if down else ["left"])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_child_is_a_member_of_its_own(server: RedisServer, clock: FakeClock) -> None:
    # A worker forked with the adapter (a multiprocessing pool, a preloading web server)
    # beats under a name of its own: the fleet counts it, and its close is its own leave.
    parent, other = _pair(server, clock)
    assert other.store.view.size == 2
    pid = os.fork()
    if pid == 0:  # the child: one beat, a close (its leave), and out at once
        signal.alarm(10)
        try:
            parent.store.beat()
            parent.close()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    other.store.beat()  # the child beat and left under its own name: the parent stays
    assert other.store.view.size == 2
    members = redis.Redis.from_url(server.url).zcard("{fleet}:members")
    assert members == 3  # the parent, the other, and the child that came and left


def test_a_process_that_exits_without_closing_leaves_the_fleet(
    server: RedisServer, clock: FakeClock
) -> None:
    other = adapter_on(server.url, "fleet", clock)
    other.store.stop_heartbeat()
    other.store.beat()
    script = (
        "import sys; from tiktok_adapter import TikTokAdapter\n"
        "a = TikTokAdapter(storage_uri=sys.argv[1], key_prefix='fleet', app_limit=None)\n"
        "a.store.beat()\n"  # in the fleet, and out without a close()
    )
    subprocess.run([sys.executable, "-c", script, server.url], check=True, timeout=60)
    assert redis.Redis.from_url(server.url).zcard("{fleet}:members") == 2  # it was there
    other.store.beat()
    assert other.store.view == FleetView(1, 0, True)  # and it said it left, at exit


def test_during_an_outage_the_fleet_stays_within_the_limit(
    server: RedisServer, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    arrivals = record_arrivals(mocked, clock)
    adapters = _pair(server, clock)
    assert [a.store.view.size for a in adapters] == [2, 2]
    sessions = [requests.Session() for _ in adapters]
    for session, adapter in zip(sessions, adapters, strict=True):
        session.mount("https://", adapter)
    # Before the outage the first process takes 8 of the window's 10, the second 1.
    assert sum(_send(sessions[0]) for _ in range(8)) == 8
    assert _send(sessions[1])
    server.stop()
    clock.advance(0.5)
    # The window still holds 9 sent before the outage: the fleet may send 1 more in it,
    # whatever each process does alone (without the fleet's count: 5 + 5).
    sent = sum(_send(s) for s in sessions for _ in range(10))
    assert sent <= 1
    assert len(arrivals) <= 10
    # Once the window has turned over, each may send its share: 5 each, 10 in all.
    clock.advance(10.0)
    shares = [sum(_send(s) for _ in range(10)) for s in sessions]
    assert shares == [5, 5]
    in_window = [t for t in arrivals if t > clock.now() - 10.0]
    assert len(in_window) == 10


def test_without_a_recent_count_the_first_period_of_an_outage_counts_as_full(
    server: RedisServer, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    arrivals = record_arrivals(mocked, clock)
    adapters = _pair(server, clock)
    session = requests.Session()
    session.mount("https://", adapters[0])
    assert _send(session)
    # Its last count of the window is 10.5 s old when the outage begins: the rest of the
    # fleet may have sent the whole window meanwhile, unseen.
    clock.advance(10.5)
    server.stop()
    assert sum(_send(session) for _ in range(10)) == 0
    clock.advance(9.9)
    assert not _send(session)
    clock.advance(0.2)  # the window has turned over since the outage began: its share
    assert sum(_send(session) for _ in range(10)) == 5
    assert len(arrivals) == 6


def test_the_heartbeat_keeps_an_idle_windows_count_fresh_for_an_outage(
    server: RedisServer, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    record_arrivals(mocked, clock)
    adapters = _pair(server, clock, limits={"/user/info/": "10/hour"})
    session = requests.Session()
    session.mount("https://", adapters[0])
    assert _send(session)
    clock.advance(30.0)  # no admission since: only the heartbeat reads the window
    for adapter in adapters:
        adapter.store.beat()
    server.stop()
    clock.advance(0.5)
    # The fleet held 1 (its own) half a second before: its share is 5, 1 of them spent.
    assert sum(_send(session) for _ in range(10)) == 4


def test_a_long_window_taken_as_full_is_asked_again_within_the_retry_interval(
    server: RedisServer, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    arrivals = record_arrivals(mocked, clock)
    adapters = _pair(server, clock, limits={"/user/info/": "10/hour"})
    session = requests.Session()
    session.mount("https://", adapters[0])
    assert _send(session)
    clock.advance(30.0)  # no heartbeat either: the count is 30 s old at the outage
    server.stop()
    with pytest.raises(RateLimitExceeded) as refused:
        session.get(INFO)
    # The hour's window counts as full, but the store may be back long before the hour.
    assert 0 < refused.value.retry_after <= 5.0
    server.start()
    clock.advance(5.0)
    assert _send(session)  # through the store again, which counts the fleet's 2 of 10
    assert len(arrivals) == 2


def test_what_was_sent_alone_counts_when_the_store_is_back(
    server: RedisServer, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    record_arrivals(mocked, clock)
    adapters = _pair(server, clock)
    sessions = [requests.Session() for _ in adapters]
    for session, adapter in zip(sessions, adapters, strict=True):
        session.mount("https://", adapter)
    assert _send(sessions[0])
    server.stop()
    clock.advance(0.5)
    # Its share is 5 of the window's 10; it sent 1 of them before the outage.
    assert sum(_send(sessions[0]) for _ in range(10)) == 4
    server.start()  # restarted empty: it lost every window
    clock.advance(6.0)  # past the retry interval, all 5 still in the window
    # The first process comes back and replays its 5; the second then sees them in Redis.
    for _ in range(2):  # twice: each hears that the other is back
        for adapter in adapters:
            adapter.store.beat()
    assert sum(_send(sessions[1]) for _ in range(10)) == 5
    entries = redis.Redis.from_url(server.url).lrange("{fleet}:w:/user/info/|10/10", 0, -1)
    assert len(entries) == 10


def test_a_calendar_window_is_replayed_into_the_period_of_the_api_calendar(
    server: RedisServer, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    record_arrivals(mocked, clock)
    clock.step_wall(-3.0)  # the calendar 3 s behind the store's clock: one period earlier
    adapters = _pair(server, clock, limits={"/user/info/": "10/10second@utc"})
    sessions = [requests.Session() for _ in adapters]
    for session, adapter in zip(sessions, adapters, strict=True):
        session.mount("https://", adapter)
    assert _send(sessions[0])
    server.stop()
    clock.advance(0.5)
    assert sum(_send(sessions[0]) for _ in range(10)) == 4  # its share of 5, 1 sent before
    server.start()  # restarted empty
    clock.advance(1.0)  # the same period of the calendar
    for _ in range(2):
        for adapter in adapters:
            adapter.store.beat()
    assert sum(_send(sessions[1]) for _ in range(10)) == 5


def test_a_store_that_never_answered_is_an_error_with_the_setting(
    clock: FakeClock, mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    record_arrivals(mocked, clock)
    url = "redis://:hunter2-secret@127.0.0.1:1/0"
    session = requests.Session()
    session.mount("https://", adapter_on(url, "never", clock))
    with caplog.at_level(logging.WARNING, logger="tiktok_adapter"):
        session.get(INFO)
        session.get(INFO)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "storage_uri" in errors[0].getMessage()
    assert "hunter2" not in caplog.text
    raising = requests.Session()
    raising.mount("https://", adapter_on(url, "never", clock, on_storage_error="raise"))
    with pytest.raises(StorageUnavailable, match="storage_uri"):
        raising.get(INFO)


def test_a_read_only_replica_is_an_error_not_an_outage(
    server: RedisServer, clock: FakeClock, mocked: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    arrivals = record_arrivals(mocked, clock)
    replica = RedisServer()
    replica.start()
    try:
        redis.Redis(port=replica.port).replicaof("127.0.0.1", server.port)
        session = requests.Session()
        session.mount("https://", adapter_on(replica.url, "ro", clock, on_storage_error="raise"))
        with pytest.raises(StorageUnavailable, match="read-only"):
            session.get(INFO)
        assert arrivals == []
    finally:
        replica.stop()


def test_an_eviction_policy_that_may_drop_windows_is_reported(
    server: RedisServer, clock: FakeClock, mocked: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    record_arrivals(mocked, clock)
    client = redis.Redis(port=server.port)
    client.config_set("maxmemory", "100mb")
    client.config_set("maxmemory-policy", "volatile-ttl")
    session = requests.Session()
    session.mount("https://", adapter_on(server.url, "evict", clock))
    with caplog.at_level(logging.ERROR, logger="tiktok_adapter"):
        session.get(INFO)
    assert "volatile-ttl" in caplog.text and "noeviction" in caplog.text
    raising = requests.Session()
    raising.mount("https://", adapter_on(server.url, "evict2", clock, on_storage_error="raise"))
    with pytest.raises(StorageUnavailable, match="volatile-ttl"):
        raising.get(INFO)


def test_stats_say_when_the_limiter_counts_alone(
    server: RedisServer, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    record_arrivals(mocked, clock)
    adapters = _pair(server, clock)
    session = requests.Session()
    session.mount("https://", adapters[0])
    assert _send(session)
    health = adapters[0].stats().storage
    assert health is not None
    assert (health.degraded, health.fleet_size, health.outages) == (False, 2, 0)
    server.stop()
    clock.advance(1.0)
    _send(session)
    stats = adapters[0].stats()
    assert stats.storage is not None and stats.storage.degraded and not stats.storage.answering
    assert stats.storage.outages == 1 and "Connection" in stats.storage.problem
    assert "storage degraded" in stats.format()
    memory = TikTokAdapter(clock=clock)
    assert memory.stats().storage is None


def _async_pair(server: RedisServer, clock: FakeClock) -> list[AsyncTikTokTransport]:
    options: dict[str, Any] = {
        "storage_uri": server.url, "key_prefix": "afleet", "clock": clock,
        "storage_time": False, "safety_margin": 0.0, "default_priority": "critical",
        "app_limit": None, "on_limit": "raise", "limits": {"/user/info/": "10/10seconds"},
    }  # fmt: skip
    transports = [AsyncTikTokTransport(transport=Wire().transport, **options) for _ in range(2)]
    for _ in range(2):  # each has seen the other
        for transport in transports:
            transport.limiter.store.stop_heartbeat()
            transport.limiter.store.beat()
    return transports


def test_an_async_transport_closed_leaves_the_fleet(server: RedisServer, clock: FakeClock) -> None:
    transports = _async_pair(server, clock)
    assert [t.limiter.store.view.size for t in transports] == [2, 2]
    asyncio.run(transports[1].aclose())
    transports[0].limiter.store.beat()
    assert transports[0].limiter.store.view == FleetView(1, 0, True)


async def _async_sent(transport: AsyncTikTokTransport, calls: int) -> int:
    sent = 0
    async with httpx.AsyncClient(transport=transport) as http:
        for _ in range(calls):
            try:
                await http.get(INFO)
                sent += 1
            except RateLimitExceeded:
                pass
    return sent


def test_the_async_transport_keeps_its_share_and_replays_it(
    server: RedisServer, clock: FakeClock
) -> None:
    transports = _async_pair(server, clock)
    assert asyncio.run(_async_sent(transports[0], 8)) == 8
    assert asyncio.run(_async_sent(transports[1], 1)) == 1
    server.stop()
    clock.advance(0.5)
    # The window holds 9 from before the outage: 1 more at most, fleet-wide.
    assert sum(asyncio.run(_async_sent(t, 10)) for t in transports) <= 1
    clock.advance(10.0)
    assert [asyncio.run(_async_sent(t, 10)) for t in transports] == [5, 5]
    # Back (restarted empty): on an event loop the heartbeat finds the way, replaying
    # first, so the store counts the outage's 10 before it admits anything more.
    server.start()
    clock.advance(6.0)
    assert asyncio.run(_async_sent(transports[0], 10)) == 0  # still alone until the replay
    for _ in range(2):
        for transport in transports:
            transport.limiter.store.beat()
    assert not any(t.limiter.store.degraded for t in transports)
    assert sum(asyncio.run(_async_sent(t, 10)) for t in transports) == 0
    clock.advance(4.1)  # the outage's window has turned over
    assert sum(asyncio.run(_async_sent(t, 10)) for t in transports) == 10


def test_a_store_that_lost_the_fleet_is_not_read_as_a_fleet_of_one() -> None:
    known: dict[str, float] = {}
    now = 1000.0
    both = [repr(now), b"a", repr(now), b"ok", b"b", repr(now - 0.5), b"ok"]
    assert read_view(both, "a", known, 50.0) == FleetView(2, 0, True)
    # Restarted empty: only this process's own beat is there. "b" was heard 1.5 s ago.
    alone = [repr(now + 1.0), b"a", repr(now + 1.0), b"ok"]
    assert read_view(alone, "a", known, 51.0) == FleetView(2, 0, False)
    # Until it is forgotten, 30 s after it was last heard from.
    assert read_view(alone, "a", known, 80.4) == FleetView(1, 0, True)
