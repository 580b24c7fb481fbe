"""Faults and hostile input: wait caps, bounded bodies and tables, URL spellings, clocks, fork."""

from __future__ import annotations

import copy
import gc
import http.server
import os
import pickle
import re
import signal
import socketserver
import threading
import time
import tracemalloc
from collections.abc import Iterator

import pytest
import requests
import responses

import tiktok_adapter.core.clock as clock_module
from tiktok_adapter import Event, Priority, RateLimitExceeded, TikTokAdapter, mount
from tiktok_adapter.core.events import EventKind
from tiktok_adapter.priority import PRIORITY_HEADER
from tiktok_adapter.testing import FakeClock

BASE = "https://open.tiktokapis.com"
INFO = f"{BASE}/v2/user/info/"
ANY = re.compile(r"https?://.*")


# -- a refused body is read at most up to the cap ---------------------------------------


class _Huge(http.server.BaseHTTPRequestHandler):
    """Answers 429 with a 64 MiB body, or a chunked body that never ends."""

    sent = 0

    def do_GET(self) -> None:
        endless = self.path.startswith("/endless")
        self.send_response(429)
        self.send_header("Content-Type", "application/json")
        if endless:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(64 * 1024 * 1024))
        self.end_headers()
        chunk = b"x" * 65536
        try:
            for _ in range(1024):
                data = b"%x\r\n%s\r\n" % (len(chunk), chunk) if endless else chunk
                self.wfile.write(data)
                type(self).sent += len(chunk)
        except OSError:
            pass  # the client closed the connection: what we want

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def huge_server() -> Iterator[str]:
    _Huge.sent = 0
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Huge)
    server.daemon_threads = True
    # A short poll: shutdown() waits for the loop's next look, 0.5 s by default.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path", ["/v2/user/info/", "/endless/v2/user/info/"])
@pytest.mark.parametrize("stream", [True, False])
def test_a_huge_or_endless_429_body_is_read_up_to_the_cap(
    huge_server: str, path: str, stream: bool
) -> None:
    with requests.Session() as session:
        mount(session, base_url=huge_server, max_retries=1, backoff_base=0.0,
              clock=FakeClock())  # fmt: skip
        tracemalloc.start()
        try:
            response = session.get(huge_server + path, stream=stream, timeout=5)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert response.status_code == 429
    assert len(response.content) <= 64 * 1024
    assert peak < 8 * 1024 * 1024  # far from 64 MiB read once, let alone twice
    # The connection was closed, never drained: the server could not send it all.
    assert _Huge.sent < 2 * 16 * 1024 * 1024


# -- max_wait bounds the whole wait of a call, queue included ---------------------------


def test_max_wait_counts_time_spent_queued_behind_others(mocked: responses.RequestsMock) -> None:
    mocked.get(INFO, json={})
    clock = FakeClock()
    all_queued = threading.Event()
    sleep = clock.sleep

    def held_sleep(seconds: float) -> None:
        all_queued.wait(10)  # no time passes until every thread has started its call
        sleep(seconds)

    clock.sleep = held_sleep  # type: ignore[method-assign]
    adapter = TikTokAdapter(clock=clock, max_wait=1.5, safety_margin=0.0,
                            limits={"/user/info/": "1/second"})  # fmt: skip
    session = requests.Session()
    mount(session, adapter)
    session.get(INFO)  # the window is full until t0 + 1
    outcomes: list[str] = []

    def call() -> None:
        try:
            session.get(INFO)
            outcomes.append("sent")
        except RateLimitExceeded:
            outcomes.append("raised")

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        gate = adapter.limiter.admitter.gates.get("/user/info/")
        if gate is not None and gate.waiting() == 8:
            break
        time.sleep(0.005)
    all_queued.set()
    for thread in threads:
        thread.join(10)
    # One slot opens at t0 + 1 <= t0 + 1.5; the next at t0 + 2 is past every deadline.
    assert sorted(outcomes) == ["raised"] * 7 + ["sent"]
    assert len(mocked.calls) == 2


# -- tables stay bounded however many paths and tokens come by -------------------------


def test_unknown_paths_are_reported_under_one_row(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(ANY, json={}, headers={"X-RateLimit-Remaining": "5"})
    adapter = mount(session, clock=clock, app_limit=None)
    for i in range(3000):
        session.get(f"{BASE}/v2/unknown/{i}/")
    session.get(INFO)
    stats = adapter.stats()
    assert set(stats.endpoints) == {"(other)", "/user/info/"}
    assert stats.endpoints["(other)"].sent == 3000
    assert len(adapter.limiter.server_info) <= 2
    assert len(stats.format().splitlines()) == 6


# -- every spelling of the host is limited, and no look-alike ---------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://open.tiktokapis.com:443/v2/user/info/",
        "https://open.tiktokapis.com./v2/user/info/",
        "https://user@open.tiktokapis.com/v2/user/info/",
        "https://user:pw@open.tiktokapis.com:443/v2/user/info/",
        "HTTPS://OPEN.TIKTOKAPIS.COM/v2/user/info/",
        "http://open.tiktokapis.com/v2/user/info/",
    ],
)
def test_every_spelling_of_the_host_reaches_the_adapter(
    clock: FakeClock, mocked: responses.RequestsMock, url: str
) -> None:
    mocked.get(ANY, json={})
    with requests.Session() as session:
        mount(session, clock=clock, on_limit="raise", limits={"/user/info/": "2/minute"})
        session.get(INFO)
        session.get(url)
        with pytest.raises(RateLimitExceeded):
            session.get(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://open.tiktokapis.com.evil.example/v2/user/info/",
        "https://evil-open.tiktokapis.com/v2/user/info/",
        "https://open.tiktokapis.com@evil.example/v2/user/info/",
        "https://example.com/open.tiktokapis.com/v2/user/info/",
    ],
)
def test_look_alike_hosts_never_reach_the_adapter(
    clock: FakeClock, mocked: responses.RequestsMock, url: str
) -> None:
    mocked.get(ANY, json={})
    with requests.Session() as session:
        mount(session, clock=clock, on_limit="raise", limits={"/user/info/": "1/minute"})
        for _ in range(3):
            assert not isinstance(session.get_adapter(url), TikTokAdapter)
            session.get(url)


def test_a_session_with_routers_pickles(clock: FakeClock) -> None:
    with requests.Session() as session:
        mount(session, clock=clock)
        copied = pickle.loads(pickle.dumps(session))
    assert isinstance(copied.get_adapter(INFO), TikTokAdapter)
    assert isinstance(copied.adapters["https://"], type(session.adapters["https://"]))


# -- moving windows do not follow the wall clock ------------------------------------------


def test_a_wall_clock_step_neither_opens_nor_parks_a_moving_window(
    session: requests.Session, mocked: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    mocked.get(INFO, json={})
    mount(session, on_limit="raise", limits={"/user/info/": "5/10 seconds"})
    for _ in range(5):
        session.get(INFO)
    real = time.time
    monkeypatch.setattr(clock_module.time, "time", lambda: real() + 3600)
    with pytest.raises(RateLimitExceeded) as ahead:
        session.get(INFO)  # an hour "later" by the wall clock: the window is still full
    monkeypatch.setattr(clock_module.time, "time", lambda: real() - 3600)
    with pytest.raises(RateLimitExceeded) as behind:
        session.get(INFO)
    assert ahead.value.retry_after <= 10.1 and behind.value.retry_after <= 10.1


def test_calendar_windows_follow_the_calendar(
    session: requests.Session, mocked: responses.RequestsMock
) -> None:
    mocked.post(ANY, json={})
    clock = FakeClock(1_700_006_400.0 - 10)  # 10 s before 00:00 UTC
    url = f"{BASE}/v2/research/video/query/"
    mount(session, preset="research", clock=clock, on_limit="raise", app_limit=None,
          limits={"/research/video/query/": "1/day@utc"})  # fmt: skip
    session.post(url)
    with pytest.raises(RateLimitExceeded):
        session.post(url)
    clock.step_wall(20)  # the calendar crosses midnight; the steady clock does not move
    session.post(url)


# -- hooks: the request's priority, and they survive pickling ---------------------------


events: list[Event] = []


def record(event: Event) -> None:
    events.append(event)


def test_hooks_report_the_priority_of_the_request(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, status=429)
    mocked.get(INFO, json={})
    seen: list[Event] = []
    mount(session, clock=clock, on_wait=seen.append, on_rate_limited=seen.append,
          on_retry=seen.append)  # fmt: skip
    session.get(INFO, headers={PRIORITY_HEADER: "critical"})
    assert {e.kind for e in seen} == {"rate_limited", "retry", "wait"}
    assert {e.priority for e in seen} == {Priority.CRITICAL}


def test_an_unpickled_adapter_keeps_its_hooks_and_windows(
    clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, json={})
    events.clear()
    adapter = TikTokAdapter(clock=clock, on_wait=record, limits={"/user/info/": "1/minute"})
    session = requests.Session()
    mount(session, adapter)
    session.get(INFO)
    twin = copy.deepcopy(session)  # in this process: the same windows and hooks
    twin.get(INFO)
    assert len(events) == 1 and len(clock.sleeps) == 1
    data = pickle.dumps(adapter)
    del adapter, session, twin
    gc.collect()
    revived = pickle.loads(data)  # the original is gone: hooks that pickle come along
    revived.hooks.emit(Event(EventKind.WAIT, "/user/info/", Priority.MEDIUM, 1.0, "x"))
    assert len(events) == 2


def test_prometheus_wait_histogram_survives_a_pickle_round_trip(
    clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    from tiktok_adapter.metrics import instrument

    mocked.get(INFO, json={})
    registry = prometheus_client.CollectorRegistry()
    adapter = TikTokAdapter(clock=clock, limits={"/user/info/": "1/minute"})
    instrument(adapter, registry)
    copied = pickle.loads(pickle.dumps(adapter))
    with requests.Session() as session:
        mount(session, copied)
        session.get(INFO)
        session.get(INFO)
    count = registry.get_sample_value(
        "tiktok_adapter_wait_seconds_count", {"endpoint": "/user/info/"}
    )
    assert count == 1


# -- fork ----------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_child_forked_during_admission_does_not_deadlock(clock: FakeClock) -> None:
    adapter = TikTokAdapter(clock=clock)
    route = adapter.resolve(requests.Request("GET", INFO).prepare())
    inside = threading.Event()
    leave = threading.Event()

    def busy() -> None:  # a thread caught inside admission at the moment of the fork
        with adapter.store._lock:  # type: ignore[attr-defined]
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=busy)
    thread.start()
    inside.wait(10)
    pid = os.fork()
    if pid == 0:  # the child: admit once and leave at once
        signal.alarm(10)
        ok = adapter.store.acquire(route.windows, route.blocks, clock.now()).admitted
        os._exit(0 if ok else 1)
    leave.set()
    thread.join()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.01)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child deadlocked on the store's lock")
    assert os.waitstatus_to_exitcode(status) == 0
