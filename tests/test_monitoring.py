"""stats(), budget() and hooks."""

from __future__ import annotations

import logging
import threading

import pytest
import requests
import responses

from tiktok_adapter import Event, RateLimitExceeded, mount
from tiktok_adapter.core.stats import Counter, StatsRecorder
from tiktok_adapter.testing import FakeClock

INFO = "https://open.tiktokapis.com/v2/user/info/"
QUERY = "https://open.tiktokapis.com/v2/video/query/"


def test_stats_count_every_outcome(clock: FakeClock, mocked: responses.RequestsMock) -> None:
    mocked.get(INFO, status=429, headers={"Retry-After": "5"})
    mocked.get(INFO, json={})
    session = requests.Session()
    adapter = mount(session, clock=clock, default_priority="critical", safety_margin=0)
    for _ in range(10):
        session.get(INFO)  # the first is refused, retried after 5 s
    clock.advance(3600)
    mocked.post(QUERY, json={})
    session.post(QUERY)
    stats = adapter.stats()
    info = stats.endpoints["/user/info/"]
    assert info.sent == 11 and info.rate_limited == 1 and info.retries == 1
    # The refused attempt took a slot too, so the tenth call waits for the minute window.
    assert info.waited == 2 and info.wait_seconds == pytest.approx(60.0)
    assert info.admitted_at_once == 9
    assert stats.total.sent == 12
    assert stats.elapsed == pytest.approx(3660.0)
    assert stats.requests_per_hour == pytest.approx(12 * 3600 / 3660.0)
    table = stats.format()
    assert "/user/info/" in table and "total" in table and "requests/hour" in table
    with pytest.raises(AttributeError):
        stats.total.sent = 0  # type: ignore[misc]


def test_refusals_are_counted(clock: FakeClock, mocked: responses.RequestsMock) -> None:
    mocked.get(INFO, json={})
    session = requests.Session()
    adapter = mount(session, clock=clock, on_limit="raise", default_priority="critical")
    for _ in range(10):
        session.get(INFO)
    with pytest.raises(RateLimitExceeded):
        session.get(INFO)
    assert adapter.stats().endpoints["/user/info/"].refusals == 1


def test_budget_reports_every_window(clock: FakeClock, mocked: responses.RequestsMock) -> None:
    reset = int(clock.now()) + 30
    mocked.get(
        INFO,
        json={},
        headers={"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "97",
                 "X-RateLimit-Reset": str(reset)},
    )  # fmt: skip
    session = requests.Session()
    adapter = mount(session, clock=clock, safety_margin=0)
    for _ in range(3):
        session.get(INFO)
    budget = adapter.budget()
    assert [(w.limit, w.remaining) for w in budget.app] == [("1000/hour", 997)]
    info = budget.endpoints["/user/info/"]
    assert [(w.limit, w.used, w.remaining) for w in info.windows] == [
        ("10/minute", 3, 7),
        ("100/hour", 3, 97),
    ]
    assert info.windows[0].resets_at == pytest.approx(clock.now() + 60)
    assert info.server is not None and info.server.remaining == 97
    assert info.server.reset_at == reset
    assert budget.endpoints["/video/query/"].windows[0].used == 0
    assert budget.as_dict()["endpoints"]["/user/info/"]["windows"][0]["remaining"] == 7


def test_hooks_receive_events(clock: FakeClock, mocked: responses.RequestsMock) -> None:
    mocked.get(INFO, status=429)
    mocked.get(INFO, json={})
    events: list[Event] = []
    session = requests.Session()
    adapter = mount(
        session, clock=clock, on_wait=events.append, on_rate_limited=events.append,
        on_retry=events.append,
    )  # fmt: skip
    session.get(INFO)
    kinds = [e.kind for e in events]
    assert kinds[:2] == ["rate_limited", "retry"]
    assert events[0].endpoint == "/user/info/" and events[0].limit == "http_429"
    for _ in range(9):
        session.get(INFO)
    assert events[-1].kind == "wait" and events[-1].limit == "10/minute"
    adapter.close()


def test_a_raising_hook_never_breaks_the_request(
    clock: FakeClock, mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    mocked.get(INFO, status=429)
    mocked.get(INFO, json={})

    def broken(event: Event) -> None:
        raise RuntimeError("hook bug")

    session = requests.Session()
    adapter = mount(session, clock=clock)
    adapter.add_hook("on_rate_limited", broken)
    with pytest.raises(ValueError, match="unknown hook"):
        adapter.add_hook("on_send", broken)
    caplog.set_level(logging.ERROR)
    assert session.get(INFO).status_code == 200
    assert any("hook bug" in (r.exc_text or "") or r.exc_info for r in caplog.records)


def test_counters_are_exact_under_threads_and_add_counts_to_sums() -> None:
    recorder = StatsRecorder(0.0)
    per_thread = 20_000

    def bump() -> None:
        for _ in range(per_thread):
            recorder.add("/v2/user/info/", Counter.SENT)
        recorder.add("/v2/user/info/", Counter.WAIT_SECONDS, 0.25)
        recorder.add("/v2/user/info/", Counter.WAIT_SECONDS, 1)  # a whole second, counted too

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    recorder.add("/v2/video/list/", Counter.RETRIES)
    stats = recorder.snapshot(10.0)
    info = stats.endpoints["/v2/user/info/"]
    assert info.sent == 8 * per_thread
    assert info.wait_seconds == pytest.approx(8 * 1.25)
    assert stats.endpoints["/v2/video/list/"].retries == 1
    assert stats.total.sent == 8 * per_thread and stats.total.retries == 1
