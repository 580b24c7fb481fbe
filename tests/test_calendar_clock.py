"""Calendar windows (``@utc``) on Redis follow the API's calendar: UTC as the adapter's
wall clock tells it, never Redis's own clock (#27).

TikTok counts a daily quota per UTC day on its clock. A Redis whose clock runs ahead
would start the next period early, and the fleet would spend two periods' quota in one
of TikTok's. The admission script takes the calendar time from the caller instead (the
wall clock, which the memory store's calendar windows and the record refunds read too).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests
import responses

from tiktok_adapter import RateLimitExceeded, mount
from tiktok_adapter.testing import FakeClock

pytestmark = pytest.mark.redis

INFO = "https://open.tiktokapis.com/v2/user/info/"
OK = {"data": {"user": {}}, "error": {"code": "ok", "message": "", "log_id": "y"}}


@pytest.fixture
def api(clock: FakeClock) -> Iterator[list[float]]:
    """The API: the calendar time (the test's wall clock) of each arrival."""
    arrivals: list[float] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        arrivals.append(clock.wall())
        return 200, {"Content-Type": "application/json"}, '{"data": {}, "error": {"code": "ok"}}'

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, INFO, callback=answer)
        yield arrivals


def _worker(
    redis_url: str, prefix: str, clock: FakeClock, limit: str, **kw: Any
) -> requests.Session:
    session = requests.Session()
    mount(session, storage_uri=redis_url, key_prefix=prefix, clock=clock, app_limit=None,
          limits={"/user/info/": limit}, default_priority="critical", on_limit="raise",
          **kw)  # fmt: skip
    return session


def _sent(session: requests.Session, calls: int) -> int:
    sent = 0
    for _ in range(calls):
        try:
            session.get(INFO)
        except RateLimitExceeded:  # QuotaExhausted: the period's quota is spent
            continue
        sent += 1
    return sent


def _periods(arrivals: list[float], period: float) -> dict[int, int]:
    counts: dict[int, int] = {}
    for t in arrivals:
        counts[int(t // period)] = counts.get(int(t // period), 0) + 1
    return counts


def _redis_seconds(client: redis.Redis) -> float:
    seconds, micros = client.time()
    return seconds + micros / 1e6


def _redis_late_in_period(redis_url: str, period: int) -> None:
    """Wait (real time) until Redis's clock is in the last half second of one of its
    periods, so that its next period starts within half a second."""
    client = redis.Redis.from_url(redis_url)
    while _redis_seconds(client) % period < period - 0.5:
        time.sleep(0.01)


def _redis_period_turns(redis_url: str, period: int) -> None:
    """Wait (real time) until Redis's clock enters its next period."""
    client = redis.Redis.from_url(redis_url)
    first = _redis_seconds(client) // period
    while _redis_seconds(client) // period == first:
        time.sleep(0.01)


@pytest.mark.beside  # waits on real time: run beside the others (tests/beside.py)
def test_redis_clock_ahead_does_not_open_the_next_period_early(
    redis_url: str, key_prefix: str, clock: FakeClock, api: list[float]
) -> None:
    """Redis's own clock (the default, ``storage_time``) is years ahead of the adapters'
    and the API's (the fake clock), and turns its periods as it will: two workers spend
    ``6/4second@utc`` once per period of the API's calendar, whatever Redis's period.

    The window's key lives in real time for what is left of the API's period (3.95 s
    here) and a minute more (``now.lua``'s ``ttl_ms``), while the fake calendar stands
    still: the first calls go late in one of Redis's periods, so that its next one begins
    within half a second, and the second calls come then. Before the minute's slack, a
    stall of the period's length between the two let the key go (a loaded CI machine once
    took 1.5 s), hence periods of 4 s, not 2."""
    clock.advance(4 - clock.now() % 4 + 0.05)  # the API 0.05 s into a period
    one, two = (_worker(redis_url, key_prefix, clock, "6/4second@utc") for _ in range(2))
    _redis_late_in_period(redis_url, 4)
    assert _sent(one, 3) + _sent(two, 3) == 6
    _redis_period_turns(redis_url, 4)  # Redis's next period; the API's is the same
    # Halfway into the API's period, not at its edge: there, anything that moved the fake
    # time by a tenth of a second (a wait of the margin) crossed into the next period.
    clock.advance(1.9)
    assert _sent(one, 3) + _sent(two, 3) == 0
    clock.advance(2.1)  # the API's next period
    assert _sent(one, 3) + _sent(two, 3) == 6
    assert sorted(_periods(api, 4.0).values()) == [6, 6]


def test_a_store_clock_ahead_of_the_calendar_spends_one_period_once(
    redis_url: str, key_prefix: str, clock: FakeClock, api: list[float]
) -> None:
    """The issue's numbers, on the fake clock: the windows' clock (``storage_time=False``
    passes the adapter's steady reading to Redis) runs 3 s ahead of the calendar, as a
    Redis whose clock is 3 s ahead does. Two workers spend ``6/10second@utc`` once per
    period of the API's calendar, not twice."""
    clock.advance(10 - clock.now() % 10 + 8)  # the steady clock at second 8 of a period
    clock.step_wall(-3)  # the calendar at second 5
    one, two = (_worker(redis_url, key_prefix, clock, "6/10second@utc", storage_time=False)
                for _ in range(2))  # fmt: skip
    assert _sent(one, 3) + _sent(two, 3) == 6
    clock.advance(3)  # the steady clock in its next period, the calendar at second 8
    assert _sent(one, 3) + _sent(two, 3) == 0
    clock.advance(2.5)  # the calendar's next period
    assert _sent(one, 6) + _sent(two, 3) == 6
    assert sorted(_periods(api, 10.0).values()) == [6, 6]


def test_a_worker_whose_clock_lags_counts_in_the_period_begun(
    redis_url: str, key_prefix: str
) -> None:
    """Workers' clocks a little apart at a period's turn: the one behind counts in the
    period the fleet has begun, never back in the last one (which would start the count
    over, and so would every switch back and forth)."""
    lag = 0.4
    ahead, behind = FakeClock(), FakeClock()
    turn = (ahead.now() // 10 + 1) * 10
    ahead.advance(turn + lag / 2 - ahead.now())  # just after the turn
    behind.advance(turn - lag / 2 - behind.now())  # just before it
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, INFO, json=OK)
        first = _worker(redis_url, key_prefix, ahead, "6/10second@utc", storage_time=False)
        second = _worker(redis_url, key_prefix, behind, "6/10second@utc", storage_time=False)
        assert _sent(first, 3) == 3  # the new period: 3 of 6
        assert _sent(second, 3) == 3  # counted there too: 6 of 6
        assert _sent(first, 3) + _sent(second, 3) == 0
