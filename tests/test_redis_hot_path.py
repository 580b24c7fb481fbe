"""What one admission asks of Redis: one EVALSHA, one read per key, blocks in one hash.

Counted by the server itself (INFO commandstats) on a redis-server of the test's own.
"""

from __future__ import annotations

import pytest
import redis
import requests
from conftest import RedisServer

from tiktok_adapter import TikTokAdapter
from tiktok_adapter.testing import FakeClock

pytestmark = pytest.mark.redis

URL = "https://open.tiktokapis.com/v2/user/info/"


def _adapter(url: str, clock: FakeClock, limits: str) -> TikTokAdapter:
    return TikTokAdapter(storage_uri=url, key_prefix="hot", clock=clock, storage_time=False,
                         limits={"/user/info/": limits}, app_limit="1000/minute",
                         default_priority="critical")  # fmt: skip


def _calls(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}


@pytest.mark.parametrize("limits", ["500/second", "500/day@utc"])
def test_an_admission_is_one_evalsha_reading_each_key_once(
    private_redis: RedisServer, clock: FakeClock, limits: str
) -> None:
    adapter = _adapter(private_redis.url, clock, limits)
    request = requests.Request("GET", URL).prepare()
    route = adapter.resolve(request)
    adapter.admit(request, route)  # the first one loads the script
    client = redis.Redis.from_url(private_redis.url, decode_responses=True)
    client.config_resetstat()
    for _ in range(20):
        clock.advance(0.01)
        adapter.admit(request, route)
    calls = _calls(client)
    calls.pop("config|resetstat", None)
    assert calls.pop("evalsha") == 20 and calls.pop("info", 0) <= 1
    # Both blocks of the endpoint (the server's pause and a spent quota): one HMGET.
    assert calls.pop("hmget") == 20
    # Two windows (the app's moving window and the endpoint's): one read of each, and for
    # a moving window the bisection that counts what it holds (for the fallback): at most
    # log2 of its length more (21 entries at most here: 5 reads).
    reads = calls.pop("lindex", 0) + calls.pop("get", 0)
    moving = 2 if "@utc" not in limits else 1
    assert 2 * 20 <= reads <= 2 * 20 + moving * 5 * 20
    assert not {k for k in calls if k in {"hget", "hgetall", "exists", "lrange", "eval"}}, calls


def test_both_blocks_of_an_endpoint_live_in_one_hash(
    private_redis: RedisServer, clock: FakeClock
) -> None:
    adapter = _adapter(private_redis.url, clock, "500/second")
    request = requests.Request("GET", URL).prepare()
    route = adapter.resolve(request)
    now = clock.now()
    adapter.store.block(route.blocks[0], now + 5, now)  # the server's pause
    adapter.store.block(route.blocks[1], now + 50, now)  # a spent quota
    client = redis.Redis.from_url(private_redis.url, decode_responses=True)
    keys = list(client.scan_iter(match="{hot}:b:*"))
    assert keys == ["{hot}:b:/user/info/"] and client.type(keys[0]) == "hash"
    assert set(client.hgetall(keys[0])) == {"ep", "q"}
    # It lives as long as its longest block, and a minute more (lua/now.lua's ttl_ms).
    assert 109 < client.pttl(keys[0]) / 1000 <= 110
    assert adapter.store.blocked_until(route.blocks[0], now) == pytest.approx(now + 5, abs=0.01)
    assert adapter.store.blocked_until(route.blocks[1], now) == pytest.approx(now + 50, abs=0.01)
    verdict = adapter.store.acquire(route.windows, route.blocks, now)
    assert not verdict.admitted and verdict.limit == "server" and verdict.calendar  # the quota
    assert verdict.wait == pytest.approx(50, abs=0.01)
    clock.advance(51)
    assert adapter.store.acquire(route.windows, route.blocks, clock.now()).admitted


def test_a_server_that_lost_its_scripts_still_admits(
    private_redis: RedisServer, clock: FakeClock
) -> None:
    # A promoted replica or a restarted server has none of the scripts loaded. The counts
    # below are the server's, for every client: no fleet heartbeat beside them (a
    # real-time thread that evaluates a script of its own each second).
    adapter = _adapter(private_redis.url, clock, "500/second")
    adapter.store.stop_heartbeat()
    request = requests.Request("GET", URL).prepare()
    route = adapter.resolve(request)
    adapter.admit(request, route)
    client = redis.Redis.from_url(private_redis.url)
    client.script_flush()
    client.config_resetstat()
    adapter.admit(request, route)
    adapter.store.block(route.blocks[0], clock.now() + 1, clock.now())
    calls = _calls(client)
    assert calls.get("eval") == 2  # once for each script, which loads it there
    client.config_resetstat()
    clock.advance(2)
    adapter.admit(request, route)
    assert "eval" not in _calls(client) and _calls(client).get("evalsha") == 1


def test_every_key_outlives_what_it_holds_by_a_minute(
    private_redis: RedisServer, clock: FakeClock
) -> None:
    """Redis expires keys on its host's wall clock: a step forward of that clock (a VM
    resumed, NTP stepping it; 15 s was seen on a CI machine) by up to a minute must end no
    window and no block early, for the whole fleet."""
    adapter = _adapter(private_redis.url, clock, "5/second; 100/day@utc")
    route = adapter.resolve(requests.Request("GET", URL).prepare())
    now = clock.now()
    assert adapter.store.acquire(route.windows, route.blocks, now).admitted
    adapter.store.block(route.blocks[0], now + 5, now)
    client = redis.Redis.from_url(private_redis.url, decode_responses=True)
    ttl = {key: client.pttl(key) / 1000 for key in client.scan_iter(match="{hot}:*")}
    by_kind = {
        "second": [t for k, t in ttl.items() if "5/1" in k],
        "minute": [t for k, t in ttl.items() if "1000/60" in k],
        "day": [t for k, t in ttl.items() if "@utc" in k],
        "block": [t for k, t in ttl.items() if ":b:" in k],
    }
    assert all(len(found) == 1 for found in by_kind.values()), ttl
    # What each holds needs, by hand: a period (and the margin) for a moving window, the
    # rest of the UTC day for the calendar window, 5 s for the block; then a minute more.
    rest_of_day = 86400 - clock.wall() % 86400
    assert by_kind["second"][0] > 1 + 60 - 0.1
    assert by_kind["minute"][0] > 60 + 60 - 0.1
    assert by_kind["day"][0] > rest_of_day + 60 - 0.1
    assert by_kind["block"][0] > 5 + 60 - 0.1
