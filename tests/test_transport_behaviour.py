"""The same behaviour through every transport: the requests adapter, httpx sync, httpx
async and the aiohttp middleware.

Each test runs once per transport (the ``drive`` fixture of tests/transports.py), on the
memory store; those marked ``@STORES`` run on a private Redis as well.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from transports import KINDS, Factory, Reply, Script, drivers

from tiktok_adapter import Event, Priority, QuotaExhausted, RateLimitExceeded, priority
from tiktok_adapter.testing import FakeClock

BASE = "https://open.tiktokapis.com"
INFO = f"{BASE}/v2/user/info/"
QUERY = f"{BASE}/v2/video/query/"
CREATE = f"{BASE}/v2/video/comment/create/"
BUSINESS = "https://business-api.tiktok.com/open_api/v1.3/business/get/"
TOKEN = "act.SECRET-TOKEN-123"
OK = {"data": {"user": {}}, "error": {"code": "ok", "message": "", "log_id": "y"}}
RATE_LIMITED = {"data": {}, "error": {"code": "rate_limit_exceeded", "message": "slow down"}}
CRITICAL = {"default_priority": "critical", "safety_margin": 0.0}


# Where aiohttp differs, by its design (documented, not a bug of these tests):
AIOHTTP_READS_SMALL_JSON = (
    "aiohttp has no stream flag: the middleware reads a JSON 200 whose declared length is "
    "within the cap, as the caller's json() would, and judges it (tiktok_adapter.aiohttp._body)"
)
AIOHTTP_RESENDS = (
    "aiohttp's ClientSession sends an idempotent request once more after "
    "ServerDisconnectedError or ClientOSError, outside its middlewares: the middleware runs "
    "again with a fresh budget (max_retries=2 sends a GET 6 times); aiohttp 3.12 to 3.14 "
    "have no public switch for it"
)


@pytest.fixture
def storage(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The store's settings: memory unless a test asks for more with ``@STORES``."""
    if getattr(request, "param", "memory") == "memory":
        return {}
    return {
        "storage_uri": request.getfixturevalue("redis_url"),  # a private redis-server
        "key_prefix": request.getfixturevalue("key_prefix"),
        "storage_time": False,  # the fake clock drives the windows
    }


# A representative part of the file runs on Redis too (every transport): admission,
# sleeping, raising, a 429's block, stats. The rest is the store's business, not the
# transport's, and the store's own tests cover it.
STORES = pytest.mark.parametrize(
    "storage", ["memory", pytest.param("redis", marks=pytest.mark.redis)], indirect=True
)


@pytest.fixture(params=KINDS)
def drive(
    request: pytest.FixtureRequest, clock: FakeClock, storage: dict[str, Any]
) -> Iterator[Factory]:
    """``drive(script, **settings)``: a driver of this run's transport on ``clock`` and
    this run's store."""
    yield from drivers(request.param, clock, storage)


def _script(*entries: tuple[str, str, Reply]) -> Script:
    script = Script()
    for method, url, reply in entries:
        script.add(method, url, reply)
    return script


@STORES
def test_sleeps_exactly_until_the_window_admits(drive: Factory, clock: FakeClock) -> None:
    script = _script(("GET", INFO, Reply(json=OK)))
    driver = drive(script, **CRITICAL)
    for _ in range(10):
        driver.get(INFO)
    assert clock.sleeps == []
    assert driver.get(INFO).status_code == 200
    assert clock.sleeps == [pytest.approx(60.0)]
    assert len(script.calls) == 11


@STORES
def test_raise_mode_sends_nothing_and_raises_the_transports_error(
    drive: Factory, clock: FakeClock
) -> None:
    script = _script(("GET", INFO, Reply(json=OK)))
    driver = drive(script, on_limit="raise", **CRITICAL)
    for _ in range(10):
        driver.get(INFO)
    with pytest.raises(RateLimitExceeded) as info:
        driver.get(INFO, headers={"Authorization": f"Bearer {TOKEN}"})
    err = info.value
    assert isinstance(err, driver.base_error)
    assert err.response is None and err.request is not None
    assert err.endpoint == "/user/info/" and err.limit == "10/minute"
    assert err.retry_after == pytest.approx(60.0)
    assert TOKEN not in str(err)
    assert len(script.calls) == 10


@STORES
def test_admission_is_all_or_nothing(drive: Factory, clock: FakeClock) -> None:
    script = _script(("GET", INFO, Reply(json=OK)))
    driver = drive(script, on_limit="raise", app_limit="3/minute", **CRITICAL)
    for _ in range(3):
        driver.get(INFO)
    for _ in range(5):
        with pytest.raises(RateLimitExceeded, match="3/minute"):
            driver.get(INFO)
    assert driver.usage(INFO, clock) == {"3/minute": 3, "10/minute": 3, "100/hour": 3}


def test_max_wait_raises_instead_of_sleeping_long(drive: Factory, clock: FakeClock) -> None:
    script = _script(("GET", INFO, Reply(json=OK)))
    driver = drive(script, max_wait=30, **CRITICAL)
    for _ in range(10):
        driver.get(INFO)
    with pytest.raises(RateLimitExceeded) as info:
        driver.get(INFO)
    assert info.value.retry_after > 30
    assert clock.sleeps == []


@STORES
def test_429_with_retry_after_blocks_then_resends(drive: Factory, clock: FakeClock) -> None:
    script = _script(
        ("GET", INFO, Reply(429, RATE_LIMITED, {"Retry-After": "17"})),
        ("GET", INFO, Reply(json=OK)),
    )
    driver = drive(script, **CRITICAL)
    assert driver.get(INFO).status_code == 200
    assert clock.sleeps == [pytest.approx(17.0)]
    assert len(script.calls) == 2


@STORES
def test_429_block_holds_for_every_caller(drive: Factory, clock: FakeClock) -> None:
    script = _script(("GET", INFO, Reply(429, RATE_LIMITED, {"Retry-After": "40"})))
    driver = drive(script, on_limit="raise", **CRITICAL)
    with pytest.raises(RateLimitExceeded) as first:
        driver.get(INFO)
    assert first.value.response is not None and driver.status(first.value.response) == 429
    assert first.value.limit == "server"
    with pytest.raises(RateLimitExceeded) as second:
        driver.get(INFO)
    assert second.value.response is None and second.value.retry_after == pytest.approx(40)
    assert len(script.calls) == 1
    clock.advance(41)
    script.replace("GET", INFO, Reply(json=OK))
    assert driver.get(INFO).status_code == 200


@pytest.mark.redis
@pytest.mark.parametrize("storage", ["redis"], indirect=True)
def test_a_429_block_holds_for_every_client_of_a_shared_store(
    drive: Factory, clock: FakeClock
) -> None:
    """Two clients (two processes, say) on one Redis: the second never meets the 429."""
    script = _script(("GET", INFO, Reply(429, RATE_LIMITED, {"Retry-After": "40"})))
    first, second = (drive(script, on_limit="raise", **CRITICAL) for _ in range(2))
    with pytest.raises(RateLimitExceeded):
        first.get(INFO)
    with pytest.raises(RateLimitExceeded) as info:
        second.get(INFO)
    assert info.value.response is None and info.value.retry_after == pytest.approx(40)
    assert len(script.calls) == 1


def test_429_without_headers_backs_off_with_jitter(drive: Factory, clock: FakeClock) -> None:
    script = _script(("GET", INFO, Reply(429)))
    driver = drive(script, max_retries=3, backoff_base=2.0, random_source=lambda: 0.5)
    response = driver.get(INFO)
    assert response.status_code == 429  # after the last retry, the final refusal itself
    assert len(script.calls) == 4
    assert clock.sleeps == pytest.approx([1.5, 3.0, 6.0])  # equal jitter at 0.5: 3/4 of 2, 4, 8 s


def test_rate_limit_body_inside_a_200_is_a_refusal(drive: Factory) -> None:
    driver = drive(_script(("GET", INFO, Reply(200, RATE_LIMITED))), on_limit="raise", **CRITICAL)
    with pytest.raises(RateLimitExceeded):
        driver.get(INFO)


def test_business_40100_inside_a_200_is_a_refusal(drive: Factory, clock: FakeClock) -> None:
    refused = Reply(200, {"code": 40100, "message": "Too many requests", "data": {}})
    script = _script(("GET", BUSINESS, refused), ("GET", BUSINESS, Reply(json={"code": 0})))
    driver = drive(script, preset="business", random_source=lambda: 0.5, **CRITICAL)
    assert driver.get(BUSINESS).json() == {"code": 0}
    assert len(script.calls) == 2 and len(clock.sleeps) == 1
    assert driver.limited.stats().total.rate_limited == 1


def test_a_daily_quota_refusal_raises_quota_exhausted(drive: Factory) -> None:
    spent = {"error": {"code": "daily_quota_limit_exceeded", "message": "spent"}}
    driver = drive(_script(("POST", QUERY, Reply(429, spent))), max_wait=60, **CRITICAL)
    with pytest.raises(QuotaExhausted) as info:
        driver.post(QUERY, {"filters": {}})
    assert isinstance(info.value, driver.base_error)
    assert info.value.response is not None


def test_a_streamed_200_is_never_read(drive: Factory) -> None:
    driver = drive(_script(("GET", INFO, Reply(200, RATE_LIMITED))), on_limit="raise", **CRITICAL)
    if driver.kind == "aiohttp":
        pytest.skip(AIOHTTP_READS_SMALL_JSON)
    response = driver.get(INFO, stream=True)
    assert response.status_code == 200  # not judged: its body was not looked at


def test_remaining_zero_blocks_until_reset(drive: Factory, clock: FakeClock) -> None:
    reset = int(clock.now()) + 25
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}
    driver = drive(_script(("GET", INFO, Reply(json=OK, headers=headers))), **CRITICAL)
    driver.get(INFO)
    driver.get(INFO)
    assert clock.sleeps == [pytest.approx(reset - 1_700_000_000.0)]


def test_writes_are_resent_after_429(drive: Factory) -> None:
    script = _script(
        ("POST", CREATE, Reply(429, headers={"Retry-After": "1"})), ("POST", CREATE, Reply(json=OK))
    )
    driver = drive(script, **CRITICAL)
    assert driver.post(CREATE, {"video_id": "1", "text": "hi"}).status_code == 200
    assert len(script.calls) == 2


@STORES
def test_reads_are_resent_after_connection_errors(drive: Factory, clock: FakeClock) -> None:
    script = _script(("POST", QUERY, Reply(error="connect")), ("POST", QUERY, Reply(json=OK)))
    driver = drive(script, on_limit="raise", **CRITICAL)
    assert driver.post(QUERY, {"filters": {"video_ids": ["1"]}}).status_code == 200
    assert len(script.calls) == 2
    # Each attempt on the wire was one admission.
    assert max(driver.usage(QUERY, clock).values()) == 2


@pytest.mark.parametrize("error", ["connect", "timeout"])
def test_writes_are_never_resent_after_connection_errors(drive: Factory, error: str) -> None:
    script = _script(("POST", CREATE, Reply(error=error)), ("POST", CREATE, Reply(json=OK)))
    driver = drive(script, **CRITICAL)
    expected = driver.connect_error if error == "connect" else driver.timeout_error
    with pytest.raises(expected):
        driver.post(CREATE, {"video_id": "1", "text": "hi"})
    assert len(script.calls) == 1


def test_connection_errors_raise_after_the_retry_budget(
    drive: Factory, request: pytest.FixtureRequest
) -> None:
    script = _script(("GET", INFO, Reply(error="connect")))
    driver = drive(script, max_retries=2, **CRITICAL)
    if driver.kind == "aiohttp":
        request.applymarker(pytest.mark.xfail(strict=True, reason=AIOHTTP_RESENDS))
    with pytest.raises(driver.connect_error):
        driver.get(INFO)
    assert len(driver.limited.stats().endpoints) == 1
    assert driver.limited.stats().total.retries == 2
    assert len(script.calls) == 3


def test_priority_context_gives_low_work_half_a_window(drive: Factory) -> None:
    driver = drive(_script(("GET", INFO, Reply(json=OK))), on_limit="raise", safety_margin=0.0)
    sent = 0
    with priority(Priority.LOW), pytest.raises(RateLimitExceeded, match="LOW may use 5"):
        for _ in range(10):
            driver.get(INFO)
            sent += 1
    assert sent == 5
    with priority("critical"):
        for _ in range(5):
            driver.get(INFO)


@STORES
def test_stats_and_hooks(drive: Factory, clock: FakeClock) -> None:
    waits: list[Event] = []
    driver = drive(_script(("GET", INFO, Reply(json=OK))), on_wait=waits.append, **CRITICAL)
    for _ in range(11):
        driver.get(INFO)
    total = driver.limited.stats().total
    assert (total.sent, total.waited, total.admitted_at_once) == (11, 1, 10)
    assert [(e.endpoint, round(e.seconds)) for e in waits] == [("/user/info/", 60)]
    budget = driver.limited.budget()
    windows = {w.limit: w.remaining for w in budget.endpoints["/user/info/"].windows}
    assert windows["10/minute"] == 9


def test_prometheus_reads_any_transport(drive: Factory) -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    from tiktok_adapter.metrics import instrument

    driver = drive(_script(("GET", INFO, Reply(json=OK))), **CRITICAL)
    registry = instrument(driver.limited, prometheus_client.CollectorRegistry())
    for _ in range(3):
        driver.get(INFO)
    sent = registry.get_sample_value("tiktok_adapter_sent_total", {"endpoint": "/user/info/"})
    assert sent == 3
    left = registry.get_sample_value(
        "tiktok_adapter_budget_remaining", {"endpoint": "/user/info/", "window": "10/minute"}
    )
    assert left == 7
