"""Late answers: a request that reached the server late moves its window entries later.

The windows count a request when it is admitted and the server when it arrives; one
request that arrives later than the rest lets the next one in its slot reach the
server less than a period after it. The answer's lateness (beyond the endpoint's usual
time, less the margin) moves the entry, so the server never sees more than the limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from transports import KINDS, Factory, Reply, Script, drivers

from tiktok_adapter import TikTokAdapter
from tiktok_adapter.core.lateness import Lateness
from tiktok_adapter.core.rates import parse_rates
from tiktok_adapter.core.windows import Admission, Window
from tiktok_adapter.engine.steps import ADMISSION
from tiktok_adapter.storage import open_store
from tiktok_adapter.storage import redis as redis_store
from tiktok_adapter.storage.memory import MemoryStore
from tiktok_adapter.testing import FakeClock

INFO = "https://open.tiktokapis.com/v2/user/info/"
CREATE = "https://open.tiktokapis.com/v2/video/comment/create/"
OK = {"data": {"user": {}}, "error": {"code": "ok", "message": "", "log_id": "y"}}


# -- the estimate of an endpoint's usual time ---------------------------------------------


@pytest.mark.parametrize(
    ("elapsed", "excess"),
    [
        # Nothing known yet: the whole first delay is lateness (the cautious side).
        ([0.4], [0.4]),
        # After 0.1 the usual time is 0.1 / 128; a shorter answer (0.0001) sets it at once,
        # and a longer one is late by the rest.
        ([0.1, 0.0001, 0.3], [0.1, 0.0, 0.2999]),
        # After 0.1, the estimate rose by a 128th of it (0.00078125): the next 0.1 is late
        # by 0.1 - 0.00078125.
        ([0.1, 0.1], [0.1, 0.1 - 0.00078125]),
        # Instant answers are never late.
        ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
    ],
)
def test_lateness_is_the_delay_beyond_the_usual(elapsed: list[float], excess: list[float]) -> None:
    lateness = Lateness()
    assert [lateness.excess("/v2/user/info/", e) for e in elapsed] == pytest.approx(excess)


def test_a_steady_delay_stops_counting_as_late() -> None:
    lateness = Lateness()
    seen = [lateness.excess("/v2/video/query/", 0.2) for _ in range(800)]
    # (1 - 1/128) ** 600 is below 1%: a steady 0.2 s is then usual, not late.
    assert seen[0] == pytest.approx(0.2)
    assert seen[127] > 0.2 * 0.3  # (1 - 1/128) ** 127 is about 0.37: still mostly late
    assert seen[-1] < 0.2 * 0.01


def test_endpoints_learn_apart() -> None:
    lateness = Lateness()
    for _ in range(1500):
        lateness.excess("/slow/", 2.0)  # a query the server takes two seconds over
    assert lateness.usual("/slow/") == pytest.approx(2.0, abs=0.001)
    assert lateness.excess("/fast/", 0.01) == pytest.approx(0.01)
    assert lateness.excess("/slow/", 2.0) < 0.001


# -- the stores move the entry --------------------------------------------------------------


def _windows(text: str, key: str = "w") -> tuple[Window, ...]:
    return tuple(Window(f"{key}{i}", rate) for i, rate in enumerate(parse_rates(text, "limits")))


def test_memory_moves_the_nearest_entry_and_keeps_order() -> None:
    store = MemoryStore()
    windows = _windows("3/second")
    for now in (100.0, 100.5, 101.0):
        assert store.acquire(windows, (), now).admitted
    # The request admitted at 100.5 answered at 101.2: its entry moves 0.6 later, past
    # the one admitted at 101.0.
    store.redate(windows, 101.2, 0.7, 0.6)
    assert list(store._moving["w0"]) == pytest.approx([100.0, 101.0, 101.1])
    # The oldest now leaves at 101.0: a fourth request at 101.05 goes in. The next must
    # wait for the entry at 101.0, not the one that was at 100.5.
    assert store.acquire(windows, (), 101.05).admitted
    refused = store.acquire(windows, (), 101.06)
    assert not refused.admitted and refused.wait == pytest.approx(1.0 - 0.06)


def test_memory_moves_nothing_out_of_reach_and_no_calendar_window() -> None:
    store = MemoryStore()
    windows = _windows("2/second") + _windows("5/day@utc", key="d")
    assert store.acquire(windows, (), 100.0).admitted
    store.redate(windows, 101.0, 0.5, 0.4)  # admitted "at 100.5": no entry near it
    assert list(store._moving["w0"]) == [100.0]
    store.redate(windows, 101.0, 1.0, 0.4)
    assert list(store._moving["w0"]) == pytest.approx([100.4])
    assert "d0" not in store._moving


def _redis_now(client: Any) -> float:
    seconds, micros = client.time()
    return float(seconds) + micros / 1e6


@pytest.mark.redis
@pytest.mark.parametrize("storage_time", [False, True])
def test_redis_moves_the_nearest_entry_and_keeps_order(
    redis_url: str, key_prefix: str, storage_time: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    store: Any = open_store(
        redis_url, key_prefix=key_prefix, margin=0.0, use_storage_time=storage_time,
        on_error="raise", clock=FakeClock(),
    )  # fmt: skip
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    windows = _windows("3/hour")
    key = f"{getattr(store, 'primary', store).tag}:w:w0"
    try:
        if storage_time:
            # Redis's clock: the script reads it some moment after ours, as late as the
            # machine makes it. Entries 100 s apart and a reach of 30 s (the script's
            # argument, 50 ms in use) keep the verdict off that moment, however loaded
            # the machine: only whose clock the script reads is judged.
            monkeypatch.setattr(redis_store, "REDATE_REACH", 30.0)
            base = float(client.time()[0]) - 300.0
            client.rpush(key, *(f"{base + t:.6f}" for t in (200.0, 100.0, 0.0)))
            # The entry at base + 100, told as "this long ago" on Redis's clock; our own
            # clock (``now``) is told as 0, which Redis's clock must stand for.
            store.redate(windows, 0.0, _redis_now(client) - (base + 100.0), 120.0)
        else:
            base = 100.0
            for t in (0.0, 100.0, 200.0):
                assert store.acquire(windows, (), base + t).admitted
            store.redate(windows, base + 210.0, 110.0, 120.0)
        entries = [float(e) - base for e in client.lrange(key, 0, -1)]
        assert entries == pytest.approx([220.0, 200.0, 0.0], abs=1e-5)  # newest first
        assert client.pttl(key) > 0
    finally:
        client.delete(key)
        store.close()


# -- through every transport, on memory and on Redis --------------------------------------


@pytest.fixture(params=KINDS)
def drive(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Factory]:
    yield from drivers(request.param, clock)


def test_a_late_arrival_pushes_the_next_one_in_its_slot(
    drive: Factory, clock: FakeClock, store: dict[str, Any]
) -> None:
    script = Script(clock)
    script.add("GET", INFO, Reply(json=OK, delay=0.4))  # reaches the server 0.4 s late
    script.add("GET", INFO, Reply(json=OK))
    driver = drive(script, limits={"/user/info/": "2/second"}, safety_margin=0.0,
                   default_priority="critical", **store)  # fmt: skip
    start = clock.now()
    for _ in range(3):
        assert driver.get(INFO).status_code == 200
    # The first arrived at +0.4, so the third may arrive no sooner than +1.4 (without
    # the move it went at +1.0, three arrivals within 0.6 s).
    assert [t - start for t in script.arrivals] == pytest.approx([0.4, 0.4, 1.4])
    assert clock.sleeps == [pytest.approx(1.0)]


def test_the_margin_covers_a_little_lateness(drive: Factory, clock: FakeClock) -> None:
    script = Script(clock)
    script.add("GET", INFO, Reply(json=OK, delay=0.02))
    script.add("GET", INFO, Reply(json=OK))
    driver = drive(script, limits={"/user/info/": "2/second"}, safety_margin=0.03,
                   default_priority="critical")  # fmt: skip
    start = clock.now()
    for _ in range(3):
        driver.get(INFO)
    # 0.02 s late is within the 0.03 s margin: nothing moves; the third waits for the
    # first entry (+0) plus the period and the margin.
    assert [t - start for t in script.arrivals] == pytest.approx([0.02, 0.02, 1.03])


def test_a_call_that_failed_late_moves_its_entry_too(
    drive: Factory, clock: FakeClock, store: dict[str, Any]
) -> None:
    script = Script(clock)
    script.add("POST", CREATE, Reply(error="timeout", delay=0.4))  # may have arrived at +0.4
    script.add("POST", CREATE, Reply(json=OK))
    driver = drive(script, limits={"/video/comment/create/": "2/second"}, safety_margin=0.0,
                   default_priority="critical", **store)  # fmt: skip
    start = clock.now()
    with pytest.raises(driver.timeout_error):
        driver.post(CREATE, {"text": "hi"})  # a write: never sent again after an error
    # Moved before the call raised, not at some later answer's turn.
    limiter = driver.limited.limiter
    window = next(w for w in limiter.resolve(CREATE).windows if w.rate.period == 1)
    assert limiter.store.usage(window, clock.now()).resets_at - start == pytest.approx(1.4)
    shadow = getattr(limiter.store, "fallback", None)  # Redis's in-process copy moves too
    if shadow is not None:
        assert shadow.usage(window, clock.now()).resets_at - start == pytest.approx(1.4)
    for _ in range(2):
        assert driver.post(CREATE, {"text": "hi"}).status_code == 200
    assert [t - start for t in script.arrivals] == pytest.approx([0.4, 0.4, 1.4])
    assert clock.sleeps == [pytest.approx(1.0)]


@pytest.mark.parametrize(("answered", "usual_after"), [(True, 0.4 / 128), (False, 0.0)])
def test_only_an_answer_teaches_the_usual_time(
    clock: FakeClock, answered: bool, usual_after: float
) -> None:
    limiter = TikTokAdapter(clock=clock, safety_margin=0.0).limiter
    route = limiter.resolve(INFO)
    ADMISSION.set((limiter.store, route.windows, clock.now(), Admission(True)))
    clock.advance(0.4)
    move = limiter.late.after(route, clock.now(), answered=answered)
    assert move is not None and move.shift == pytest.approx(0.4)  # late either way
    assert limiter.late.lateness.usual(route.name) == pytest.approx(usual_after)
    assert limiter.late.after(route, clock.now()) is None  # moved once
