"""The shared quota on a real Redis: windows and blocks shared by every worker."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis
import requests
import responses
from conftest import RedisServer

from tiktok_adapter import (
    QuotaExhausted,
    RateLimitExceeded,
    StorageUnavailable,
    TikTokAdapter,
    mount,
)
from tiktok_adapter.testing import FakeClock

pytestmark = pytest.mark.redis

INFO = "https://open.tiktokapis.com/v2/user/info/"
TOKEN = "act.VERY-SECRET-TOKEN-42"


def adapter_for(redis_url: str, prefix: str, clock: FakeClock, **kw: object) -> TikTokAdapter:
    return TikTokAdapter(
        storage_uri=redis_url,
        key_prefix=prefix,
        clock=clock,
        storage_time=False,  # the fake clock drives the windows
        safety_margin=0.0,
        default_priority="critical",  # the whole window; priorities are tested apart
        **kw,  # type: ignore[arg-type]
    )


def our_keys(redis_url: str, prefix: str) -> dict[str, list[str]]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    found = {}
    for key in client.scan_iter(match="{" + prefix + "}*"):
        read = {
            "list": lambda k: client.lrange(k, 0, -1),
            "string": lambda k: [client.get(k) or ""],
            "zset": lambda k: client.zrange(k, 0, -1),  # the fleet's heartbeats
            "hash": lambda k: [f"{f}={v}" for f, v in client.hgetall(k).items()],
        }[client.type(key)]
        found[key] = read(key)
    return found


def test_two_workers_share_every_window(
    redis_url: str, key_prefix: str, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, json={"data": {}})
    first, second = requests.Session(), requests.Session()
    mount(first, adapter_for(redis_url, key_prefix, clock, on_limit="raise"))
    mount(second, adapter_for(redis_url, key_prefix, clock, on_limit="raise"))
    for i in range(10):
        (first if i % 2 else second).get(INFO, headers={"Authorization": f"Bearer {TOKEN}"})
    for s in (first, second):
        with pytest.raises(RateLimitExceeded, match="10/minute"):
            s.get(INFO)
    clock.advance(60)
    assert second.get(INFO).status_code == 200
    # Nothing secret in Redis: neither keys nor values carry the token.
    dump = json.dumps(our_keys(redis_url, key_prefix))
    assert TOKEN not in dump and "Bearer" not in dump
    assert any("/user/info/" in k for k in our_keys(redis_url, key_prefix))


def test_redis_admission_is_all_or_nothing(
    redis_url: str, key_prefix: str, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, json={"data": {}})
    session = requests.Session()
    adapter = mount(
        session, adapter_for(redis_url, key_prefix, clock, on_limit="raise", app_limit="3/hour")
    )
    for _ in range(3):
        session.get(INFO)
    for _ in range(4):
        with pytest.raises(RateLimitExceeded, match="3/hour"):
            session.get(INFO)
    route = adapter.resolve(requests.Request("GET", INFO).prepare())
    used = {w.rate.text: adapter.store.usage(w, clock.now()).used for w in route.windows}
    assert used == {"3/hour": 3, "10/minute": 3, "100/hour": 3}


def test_a_429_seen_by_one_worker_pauses_all(
    redis_url: str, key_prefix: str, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, status=429, headers={"Retry-After": "30"})
    one, two = requests.Session(), requests.Session()
    mount(one, adapter_for(redis_url, key_prefix, clock, on_limit="raise"))
    mount(two, adapter_for(redis_url, key_prefix, clock, on_limit="raise"))
    with pytest.raises(RateLimitExceeded):
        one.get(INFO)
    with pytest.raises(RateLimitExceeded) as info:
        two.get(INFO)
    assert info.value.response is None and info.value.limit == "server"
    assert info.value.retry_after == pytest.approx(30)
    assert len(mocked.calls) == 1


def test_redis_is_exact_under_thread_contention(redis_url: str, key_prefix: str) -> None:
    adapters = [
        TikTokAdapter(
            storage_uri=redis_url,
            key_prefix=key_prefix,
            app_limit=None,
            limits={"/video/query/": "40/minute"},
        )
        for _ in range(2)
    ]
    url = "https://open.tiktokapis.com/v2/video/query/"
    admitted: list[int] = []
    barrier = threading.Barrier(16)

    def hammer(adapter: TikTokAdapter) -> None:
        route = adapter.resolve(requests.Request("POST", url).prepare())
        barrier.wait()
        for _ in range(10):
            if adapter.store.acquire(route.windows, route.blocks, None).admitted:
                admitted.append(1)

    workers = [threading.Thread(target=hammer, args=(adapters[i % 2],)) for i in range(16)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(admitted) == 40


# -- several processes against one loopback server ------------------------------------------


class CountingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    arrivals: list[float] = []
    lock = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            self.arrivals.append(time.monotonic())
        body = b'{"data": {}, "error": {"code": "ok"}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback() -> Iterator[tuple[str, type[CountingHandler]]]:
    handler = type("Handler", (CountingHandler,), {"arrivals": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", handler
    server.shutdown()
    server.server_close()


WORKER = textwrap.dedent(
    """
    import sys, requests
    from concurrent.futures import ThreadPoolExecutor
    from tiktok_adapter import mount
    base, uri, prefix, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    session = requests.Session()
    # 1000/hour never binds here: its entries are every admission's stamp on Redis's
    # clock, which the test reads back.
    mount(session, base_url=base, storage_uri=uri, key_prefix=prefix, app_limit=None,
          limits={"/bench/": "20/second;1000/hour"}, default_priority="critical")
    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda _: session.get(base + "v2/bench/").status_code,
                              range(count)))
    assert codes == [200] * count, codes
    """
)


@pytest.mark.beside  # waits on real time: run beside the others (tests/beside.py)
def test_four_processes_share_one_quota(
    redis_url: str, key_prefix: str, loopback: tuple[str, type[CountingHandler]]
) -> None:
    base, handler = loopback
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, base, redis_url, key_prefix, "10"])
        for _ in range(4)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    assert len(handler.arrivals) == 40  # each request reached the server once
    # The verdict reads what the shared store admitted, by its own stamps (Redis's
    # clock, in one script per admission), not arrival times at the server, which
    # would also judge how late a loaded machine delivers a request. Every admission
    # is there: none was made by a process alone.
    hourly = max(our_keys(redis_url, key_prefix).values(), key=len)
    assert len(hourly) == 40
    stamps = sorted(float(s) for s in hourly)
    lo = 0
    for hi, t in enumerate(stamps):
        while t - stamps[lo] >= 1.0:
            lo += 1
        assert hi - lo + 1 <= 20, "the store admitted more than 20 requests in one second"


# -- Redis down ---------------------------------------------------------------------------------


@pytest.fixture
def private_redis(redis_server: RedisServer) -> Iterator[RedisServer]:
    """Our own redis-server, which these tests stop; it is running again afterwards."""
    yield redis_server
    if redis_server.process is None:
        redis_server.start()


def test_fallback_when_redis_goes_down_and_back(
    private_redis: RedisServer,
    key_prefix: str,
    clock: FakeClock,
    mocked: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = private_redis
    mocked.get(INFO, json={"data": {}})
    session = requests.Session()
    adapter = mount(
        session,
        adapter_for(server.url, key_prefix, clock, on_limit="raise"),
    )
    for _ in range(4):
        session.get(INFO)
    server.stop()
    caplog.set_level(logging.WARNING, logger="tiktok_adapter")
    started = time.monotonic()
    for _ in range(6):  # the in-process fallback remembers the 4 sent through Redis
        session.get(INFO)
    with pytest.raises(RateLimitExceeded, match="10/minute"):
        session.get(INFO)
    assert time.monotonic() - started < 5, "an outage must not hang requests"
    warnings = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(warnings) == 1
    server.start()
    clock.advance(61)
    assert session.get(INFO).status_code == 200
    assert not adapter.store.degraded
    assert any("back" in r.getMessage() for r in caplog.records)


def test_raise_mode_when_redis_is_down(
    private_redis: RedisServer, key_prefix: str, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    server = private_redis
    mocked.get(INFO, json={"data": {}})
    session = requests.Session()
    mount(
        session,
        adapter_for(server.url, key_prefix, clock, on_storage_error="raise"),
    )
    server.stop()
    with pytest.raises(StorageUnavailable) as info:
        session.get(INFO, headers={"Authorization": f"Bearer {TOKEN}"})
    assert isinstance(info.value, RateLimitExceeded)
    assert TOKEN not in str(info.value)
    assert len(mocked.calls) == 0
    server.start()
    assert session.get(INFO).status_code == 200


def test_a_spent_quota_seen_by_one_worker_is_a_quota_for_all(
    redis_url: str, key_prefix: str, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    url = "https://open.tiktokapis.com/v2/research/video/query/"
    body = {"data": {}, "error": {"code": "daily_quota_limit_exceeded", "message": "spent"}}
    mocked.post(url, json=body, status=429)
    one, two = requests.Session(), requests.Session()
    mount(one, adapter_for(redis_url, key_prefix, clock, preset="research", max_wait=60))
    mount(two, adapter_for(redis_url, key_prefix, clock, preset="research", max_wait=60))
    with pytest.raises(QuotaExhausted):
        one.post(url)  # with max_wait, a quota is not slept off for hours
    with pytest.raises(QuotaExhausted, match="quota is spent") as info:
        two.post(url)
    assert info.value.response is None and len(mocked.calls) == 1
    assert clock.sleeps == []
