"""Threads that share a ThreadedFakeClock draw no refusal that the real clock would not.

On a plain FakeClock one thread's sleep moves time at once, even while another thread's
admitted request is on its way to the simulator; the simulator then counts it late and
refuses now and then. A ThreadedFakeClock moves only when every registered thread waits.
"""

from __future__ import annotations

import logging
import pickle
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tiktok_adapter import ConfigurationError, TikTokAdapter, mount
from tiktok_adapter.testing import FakeClock, FakeTikTok, ThreadedFakeClock

QUERY = "https://open.tiktokapis.com/v2/video/query/?fields=id"
START = 1_700_000_000.0


def most_in_one_second(stamps: list[float]) -> int:
    """The most arrivals in any moving one-second window, written out by hand."""
    stamps = sorted(stamps)
    best, lo = 0, 0
    for hi, t in enumerate(stamps):
        while t - stamps[lo] >= 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def one_session(fake: FakeTikTok) -> Callable[[], requests.Session]:
    session = requests.Session()
    mount(session, **fake.adapter_options(), default_priority="critical")
    return lambda: session


def a_session_each(fake: FakeTikTok) -> Callable[[], requests.Session]:
    options = fake.adapter_options()
    base_url = options.pop("base_url")
    adapter = TikTokAdapter(**options, default_priority="critical")  # one set of windows

    def session() -> requests.Session:
        own = requests.Session()
        mount(own, adapter, base_url=base_url)
        return own

    return session


@pytest.mark.parametrize(
    ("sessions", "threads", "each"),
    [(one_session, 8, 150), (a_session_each, 8, 150)],
    ids=["one-session", "a-session-each"],
)
def test_threads_at_a_binding_limit_draw_no_429(
    sessions: Callable[[FakeTikTok], Callable[[], requests.Session]], threads: int, each: int
) -> None:
    # 5 a second binds hard: a plain FakeClock drew 1 to 19 refusals in 1,200 requests
    # here, depending on how the threads were scheduled.
    clock = ThreadedFakeClock()
    with FakeTikTok(clock=clock, limits={"/video/query/": "5/second"}, app_limit=None) as fake:
        session_for = sessions(fake)
        body = {"filters": {"video_ids": [fake.videos[0]["id"]]}}

        def worker() -> list[int]:
            session = session_for()
            return [session.post(QUERY, json=body).status_code for _ in range(each)]

        statuses = [s for one in clock.run([worker] * threads) for s in one]
    total = threads * each
    assert statuses == [200] * total
    assert fake.rate_limited == 0 and len(fake.requests) == total
    arrivals = [r.time for r in fake.requests]
    assert most_in_one_second(arrivals) <= 5
    # The limit bound: the first 5 go at once, every later 5 a second after.
    assert max(arrivals) - START >= (total - 5) / 5
    assert clock.stalls == []


def test_threads_of_a_pool_register_with_worker() -> None:
    clock = ThreadedFakeClock()
    with FakeTikTok(clock=clock, limits={"/video/query/": "5/second"}, app_limit=None) as fake:
        session = one_session(fake)()
        body = {"filters": {"video_ids": [fake.videos[0]["id"]]}}

        @clock.worker()
        def task(_: int) -> int:
            return session.post(QUERY, json=body).status_code

        with ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(task, range(400)))
    assert statuses == [200] * 400
    assert fake.rate_limited == 0
    assert most_in_one_second([r.time for r in fake.requests]) <= 5
    assert clock.stalls == []


# -- how time moves -----------------------------------------------------------------------


def test_time_stands_still_while_a_registered_thread_runs() -> None:
    clock = ThreadedFakeClock()
    seen: list[tuple[str, float]] = []

    def running() -> None:
        while not clock.sleeps:  # until the other thread sleeps
            time.sleep(0.001)
        time.sleep(0.05)  # a plain FakeClock has moved by now
        seen.append(("running", clock.now()))

    def sleeping() -> None:
        clock.sleep(10.0)
        seen.append(("sleeping", clock.now()))

    clock.run([running, sleeping])
    assert seen == [("running", START), ("sleeping", START + 10.0)]


def test_sleepers_wake_in_the_order_of_their_wake_up_times() -> None:
    clock = ThreadedFakeClock()
    woke: list[float] = []

    def sleeper(seconds: float) -> Callable[[], None]:
        def run() -> None:
            clock.sleep(seconds)
            woke.append(clock.now() - START)

        return run

    clock.run([sleeper(3.0), sleeper(1.0), sleeper(2.0)])
    assert woke == [1.0, 2.0, 3.0]  # a plain FakeClock: the sleeps add up, to 6
    assert sorted(clock.sleeps) == [1.0, 2.0, 3.0]


def test_waiting_on_an_event_or_a_join_counts_as_waiting() -> None:
    # Neither waiter may hold the clock back; were either seen as running, the sleep
    # would return only after the stall timeout, and say so in clock.stalls.
    clock = ThreadedFakeClock(stall_timeout=10.0)
    event = threading.Event()
    seen: dict[str, float] = {}

    def on_event() -> None:
        event.wait()
        seen["event"] = clock.now()

    def on_join() -> None:
        helper = threading.Thread(target=event.wait)
        helper.start()
        helper.join()
        seen["join"] = clock.now()

    def setter() -> None:
        clock.sleep(5.0)
        event.set()

    clock.run([on_event, on_join, setter])
    assert seen == {"event": START + 5.0, "join": START + 5.0}
    assert clock.stalls == []


def test_a_finished_or_failing_thread_does_not_hold_the_clock() -> None:
    clock = ThreadedFakeClock(stall_timeout=10.0)

    def sleeper() -> float:
        clock.sleep(10.0)
        return clock.now()

    def failing() -> float:
        raise LookupError("boom")

    assert clock.run([lambda: 0.0, sleeper]) == [0.0, START + 10.0]
    with pytest.raises(LookupError, match="boom"):
        clock.run([failing, sleeper])  # raised once the sleeper is done, too
    assert clock.now() == START + 20.0
    assert clock.stalls == []


def test_a_thread_blocked_out_of_the_clocks_sight_cannot_deadlock_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The sleeper holds a plain lock that the other thread waits for: the clock sees
    # that thread running, so only the stall timeout lets the sleeper wake.
    clock = ThreadedFakeClock(stall_timeout=0.2)
    held = threading.Lock()
    held.acquire()
    woke: list[float] = []

    def sleeper() -> None:
        clock.sleep(1.0)
        woke.append(clock.now())
        held.release()

    def blocked() -> None:
        with held:
            pass

    with caplog.at_level(logging.WARNING, logger="tiktok_adapter"):
        clock.run([blocked, sleeper])
    assert woke == [START + 1.0]
    assert clock.stalls == ["fake-clock-0"]
    [record] = caplog.records
    assert "fake-clock-0" in record.getMessage() and "ThreadedFakeClock" in record.getMessage()


# -- the rest of a FakeClock ----------------------------------------------------------------


def test_with_no_registered_thread_it_is_a_fake_clock() -> None:
    clock = ThreadedFakeClock(start=100.0)
    clock.sleep(5.0)
    clock.sleep(-1.0)
    clock.advance(2.0)
    clock.set(50.0)  # never backwards
    assert clock.now() == 107.0 and clock.sleeps == [5.0, -1.0]
    copied = pickle.loads(pickle.dumps(clock))
    assert isinstance(copied, ThreadedFakeClock)
    assert copied.now() == 107.0 and copied.stall_timeout == 5.0
    copied.sleep(1.0)
    assert copied.now() == 108.0


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), float("nan")])
def test_a_bad_stall_timeout_is_a_configuration_error(bad: float) -> None:
    with pytest.raises(ConfigurationError, match="stall_timeout"):
        ThreadedFakeClock(stall_timeout=bad)


def test_a_plain_fake_clock_slept_on_by_two_threads_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def sleep_in_a_thread(clock: FakeClock) -> None:
        other = threading.Thread(target=clock.sleep, args=(1.0,))
        other.start()
        other.join()

    with caplog.at_level(logging.WARNING, logger="tiktok_adapter"):
        one_after_another = FakeClock()
        for _ in range(3):  # each thread has finished when the next one sleeps
            sleep_in_a_thread(one_after_another)
        clock = FakeClock()
        clock.sleep(1.0)
        clock.sleep(1.0)
        assert caplog.records == []
        for _ in range(2):  # while this thread, which slept first, lives on
            sleep_in_a_thread(clock)
    [record] = caplog.records
    assert "ThreadedFakeClock" in record.getMessage()
    assert clock.now() == START + 4.0
