"""Priorities: reserved headroom per level, and who goes first."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
import requests
import responses

from tiktok_adapter import ConfigurationError, Priority, RateLimitExceeded, mount
from tiktok_adapter.engine.gate import Gate
from tiktok_adapter.priority import PRIORITY_HEADER, current_priority, priority
from tiktok_adapter.testing import FakeClock, ThreadedFakeClock

URL = "https://open.tiktokapis.com/v2/video/query/"


def test_priority_coercion() -> None:
    assert Priority.coerce("critical") is Priority.CRITICAL
    assert Priority.coerce(" Low ") is Priority.LOW
    assert Priority.coerce(3) is Priority.HIGH
    with pytest.raises(ConfigurationError, match=r"'urgent'.*low, medium, high, critical"):
        Priority.coerce("urgent")


def test_context_priority_is_per_task() -> None:
    async def task(level: Priority) -> Priority | None:
        with priority(level):
            await asyncio.sleep(0)
            return current_priority()

    async def main() -> list[Priority | None]:
        return list(await asyncio.gather(task(Priority.LOW), task(Priority.CRITICAL)))

    assert asyncio.run(main()) == [Priority.LOW, Priority.CRITICAL]
    assert current_priority() is None


@pytest.mark.parametrize(
    ("level", "allowed"),
    [("low", 5), ("medium", 10), ("high", 10), ("critical", 10)],
)
def test_each_level_uses_only_its_share(
    clock: FakeClock, mocked: responses.RequestsMock, level: str, allowed: int
) -> None:
    mocked.post(URL, json={})
    session = requests.Session()
    mount(session, clock=clock, on_limit="raise", limits={"/video/query/": "10/minute"})
    sent = 0
    with priority(level), pytest.raises(RateLimitExceeded):
        for _ in range(11):
            session.post(URL)
            sent += 1
    assert sent == allowed
    # The reserve above a level stays free for more urgent work.
    with priority(Priority.CRITICAL):
        for _ in range(10 - allowed):
            session.post(URL)


def test_untagged_traffic_uses_the_whole_limit(
    clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    # "2/minute admits 1" was the old default's headroom tax; a limit is the limit.
    mocked.post(URL, json={})
    session = requests.Session()
    mount(session, clock=clock, on_limit="raise", limits={"/video/query/": "2/minute"})
    session.post(URL)
    session.post(URL)
    with pytest.raises(RateLimitExceeded, match="limit 2/minute reached"):
        session.post(URL)


def test_a_share_refusal_names_the_share_not_the_limit(
    clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.post(URL, json={})
    session = requests.Session()
    mount(session, clock=clock, on_limit="raise", limits={"/video/query/": "10/minute"})
    with priority("low"):
        for _ in range(5):
            session.post(URL)
        with pytest.raises(RateLimitExceeded, match="LOW may use 5 of 10/minute") as info:
            session.post(URL)
    assert "reached" not in str(info.value)


def test_shares_reserve_headroom_when_asked(
    clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.post(URL, json={})
    session = requests.Session()
    mount(session, clock=clock, on_limit="raise", limits={"/video/query/": "10/minute"},
          priority_shares={"medium": 0.8})  # fmt: skip
    for _ in range(8):
        session.post(URL)
    with pytest.raises(RateLimitExceeded, match="MEDIUM may use 8 of 10/minute"):
        session.post(URL)
    with priority("high"):
        session.post(URL)
        session.post(URL)


def test_header_sets_priority_and_is_removed(
    clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.post(URL, json={})
    session = requests.Session()
    mount(session, clock=clock, on_limit="raise", limits={"/video/query/": "2/minute"})
    session.post(URL, headers={PRIORITY_HEADER: "low"})  # LOW may use 1 of 2
    with pytest.raises(RateLimitExceeded, match="LOW may use 1 of 2/minute"):
        session.post(URL, headers={PRIORITY_HEADER: "low"})
    session.post(URL, headers={PRIORITY_HEADER: "critical"})
    assert all(PRIORITY_HEADER not in c.request.headers for c in mocked.calls)
    with pytest.raises(RateLimitExceeded):
        session.post(URL, headers={PRIORITY_HEADER: "critical"})


def test_adapter_default_priority(clock: FakeClock, mocked: responses.RequestsMock) -> None:
    mocked.post(URL, json={})
    session = requests.Session()
    adapter = mount(session, clock=clock, on_limit="raise", default_priority="low",
                    limits={"/video/query/": "4/minute"})  # fmt: skip
    assert adapter.default_priority is Priority.LOW
    session.post(URL)
    session.post(URL)
    with pytest.raises(RateLimitExceeded):
        session.post(URL)


def test_gate_orders_by_priority_then_arrival() -> None:
    gate = Gate()
    low1 = gate.join(Priority.LOW)
    low2 = gate.join(Priority.LOW)
    crit = gate.join(Priority.CRITICAL)
    high = gate.join(Priority.HIGH)
    order = []
    for ticket in (crit, high, low1, low2):
        gate.wait_turn(ticket)  # returns at once only for the head
        order.append(ticket)
        gate.leave(ticket)
    assert order == [crit, high, low1, low2]
    assert not gate.busy


def test_critical_goes_at_once_while_low_saturates() -> None:
    # Eight LOW threads saturate LOW's share (2 of 4/second), and a CRITICAL call comes
    # half a second in, while LOW waiters queue. The threads share a fake clock that
    # moves only while none of them is on its way to the server (a ThreadedFakeClock).
    clock = ThreadedFakeClock()
    start = clock.now()
    arrivals: list[tuple[float, str]] = []
    lock = threading.Lock()

    def record(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        with lock:
            arrivals.append((clock.now() - start, json.loads(request.body or "{}")["who"]))
        return 200, {}, "{}"

    session = requests.Session()
    mount(session, clock=clock, limits={"/video/query/": "4/second"}, app_limit=None)
    statuses: list[int] = []

    def low() -> None:
        with priority(Priority.LOW):
            statuses.append(session.post(URL, json={"who": "low"}).status_code)

    def critical() -> None:
        clock.sleep(0.5)
        with priority(Priority.CRITICAL):
            statuses.append(session.post(URL, json={"who": "critical"}).status_code)

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, URL, callback=record)
        clock.run([low] * 8 + [critical])
    assert statuses == [200] * 9
    # LOW had used its share at 0 and waits till 1.03: CRITICAL went when it came.
    assert [t for t, who in arrivals if who == "critical"] == [pytest.approx(0.5)]
    low_times = sorted(t for t, who in arrivals if who == "low")
    assert low_times[:2] == [0.0, 0.0]
    for i, t in enumerate(low_times):  # LOW never had more than half of any window
        assert sum(1 for u in low_times[i:] if u - t < 1.0) <= 2
