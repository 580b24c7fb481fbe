"""Learned limits: an adapter configured above the server's real limit finds the real one."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tiktok_adapter import TikTokAdapter
from tiktok_adapter.cli import main
from tiktok_adapter.core.endpoints import BUSINESS_TIERS
from tiktok_adapter.core.learning import (
    Learned,
    LearningPolicy,
    lowered,
    raised,
    reading,
    scaled_amount,
)
from tiktok_adapter.core.rates import parse_rates
from tiktok_adapter.testing import FakeClock, FakeTikTok

BIZ = "https://business-api.tiktok.com/open_api/v1.3/business"
# The endpoint's own limit is lifted on both sides, so the app's QPS is what binds.
TABLE = {"/business/get/": "1000/second"}
REAL = 10.0  # the Business API's "basic" tier: 10 requests a second
RUN = 300.0  # five simulated minutes: learned within WARMUP, then held
WARMUP = 30.0


def test_tiers_used_here_are_what_the_test_assumes() -> None:
    assert BUSINESS_TIERS["basic"].startswith("10/second")
    assert BUSINESS_TIERS["advanced"].startswith("20/second")


def _crawl(session: requests.Session, clock: FakeClock, until: float, who: str = "a") -> None:
    while clock.now() < until:
        session.get(f"{BIZ}/get/", params={"business_id": "b"}, headers={"X-Who": who})
        _settled()


def _settled() -> None:
    """Until no thread started since the test began is running, the heartbeat aside: a
    process on a shared store refreshes its copy of the learned limits in a thread of its
    own, on real time, and the fake clock must not run ahead of that read (as no real
    second runs ahead of a round trip to Redis), however slow a loaded machine makes it."""
    for _ in range(10_000):
        if all(t.ident in _BEFORE or t.name == HEARTBEAT for t in threading.enumerate()):
            return
        time.sleep(0.001)


HEARTBEAT = "tiktok-adapter-heartbeat"  # the fleet's own beat, which never ends
_BEFORE: set[int | None] = set()


@pytest.fixture(autouse=True)
def _threads_before() -> None:
    _BEFORE.clear()
    _BEFORE.update(t.ident for t in threading.enumerate())


@pytest.fixture
def simulator(clock: FakeClock) -> Iterator[FakeTikTok]:
    with FakeTikTok(preset="business", tier="basic", limits=TABLE, clock=clock) as fake:
        yield fake


def test_adapter_above_the_real_limit_learns_it(
    simulator: FakeTikTok, clock: FakeClock, session: requests.Session
) -> None:
    adapter = TikTokAdapter(preset="business", tier="advanced", limits=TABLE, clock=clock)
    session.mount("https://", adapter)
    start = clock.now()
    _crawl(session, clock, start + RUN)
    late = [r for r in simulator.app.requests if r.time >= start + WARMUP]
    refused = sum(r.refused for r in late)
    accepted = len(late) - refused
    assert refused <= 0.01 * len(late), (refused, len(late))
    assert accepted / (RUN - WARMUP) >= 0.9 * REAL
    # Never above the real limit for long: the simulator refused almost nothing.
    assert simulator.rate_limited <= 10
    # What was learned is shown beside what was configured.
    assert adapter.stats().learned == {"app": 0.5}
    assert "learned: app runs at 50% of its configured limits" in adapter.stats().format()
    app = {w.limit: w for w in adapter.budget().app}
    assert app["20/second"].learned == 10
    assert app["1200/minute"].learned == 600
    assert app["1728000/day@utc"].learned is None  # a calendar quota is never scaled


def test_prometheus_shows_learned_beside_configured(
    simulator: FakeTikTok, clock: FakeClock, session: requests.Session
) -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    from tiktok_adapter.metrics import instrument

    adapter = TikTokAdapter(preset="business", tier="advanced", limits=TABLE, clock=clock)
    session.mount("https://", adapter)
    registry = instrument(adapter, prometheus_client.CollectorRegistry())
    _crawl(session, clock, clock.now() + 30)
    sample = registry.get_sample_value
    second = {"endpoint": "app", "window": "20/second"}
    assert sample("tiktok_adapter_window_limit", {**second, "source": "configured"}) == 20
    assert sample("tiktok_adapter_window_limit", {**second, "source": "effective"}) == 10
    assert sample("tiktok_adapter_learned_ratio", {"scope": "app"}) == 0.5


def test_a_correct_configuration_sees_no_change(
    simulator: FakeClock, clock: FakeClock, session: requests.Session
) -> None:
    adapter = TikTokAdapter(preset="business", tier="basic", limits=TABLE, clock=clock)
    session.mount("https://", adapter)
    _crawl(session, clock, clock.now() + 120)
    assert adapter.stats().learned == {}
    assert adapter.stats().total.rate_limited == 0
    assert all(w.learned is None for w in adapter.budget().app)


def test_learning_off_keeps_being_refused(
    simulator: FakeTikTok, clock: FakeClock, session: requests.Session
) -> None:
    # The comparison the feature is for: without it, the configured rate is refused
    # again after every pause.
    adapter = TikTokAdapter(preset="business", tier="advanced", limits=TABLE, clock=clock)
    adapter.limiter.learner.policy = LearningPolicy(enabled=False)
    session.mount("https://", adapter)
    _crawl(session, clock, clock.now() + 120)
    assert simulator.rate_limited > 50


@pytest.mark.redis
def test_what_one_process_learns_holds_for_the_fleet(
    simulator: FakeTikTok,
    clock: FakeClock,
    redis_url: str,
    key_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def adapter() -> TikTokAdapter:
        return TikTokAdapter(
            preset="business", tier="advanced", limits=TABLE, clock=clock,
            storage_uri=redis_url, key_prefix=key_prefix, storage_time=False,
        )  # fmt: skip

    first, second = requests.Session(), requests.Session()
    first.mount("https://", adapter())
    start = clock.now()
    _crawl(first, clock, start + 60, "first")
    assert simulator.rate_limited >= 1  # the first process did meet the real limit
    # The second process starts a minute later, on the same Redis: it knows at once.
    late = TikTokAdapter(
        preset="business", tier="advanced", limits=TABLE, clock=clock,
        storage_uri=redis_url, key_prefix=key_prefix, storage_time=False,
    )  # fmt: skip
    second.mount("https://", late)
    while clock.now() < start + 240:
        for session, who in ((first, "first"), (second, "second")):
            session.get(f"{BIZ}/get/", params={"business_id": "b"}, headers={"X-Who": who})
            _settled()
    from_second = [r for r in simulator.app.requests if r.headers.get("X-Who") == "second"]
    assert len(from_second) > 500
    assert not [r for r in from_second if r.refused]
    assert late.stats().learned == {"app": 0.5}
    # `tiktok-adapter status` reads the fleet's learned limits from the same Redis.
    args = ["status", "--storage", redis_url, "--key-prefix", key_prefix,
            "--preset", "business", "--tier", "advanced"]  # fmt: skip
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {w["limit"]: w["learned"] for w in report["app"]}["20/second"] == 10
    assert main(args) == 0
    assert "learned" in capsys.readouterr().out
    # Both share the one window at the learned rate: together never above the real limit.
    window = [r for r in simulator.app.requests if r.time >= start + 60 and not r.refused]
    assert len(window) / 180 <= REAL
    first.close(), second.close()


@pytest.mark.parametrize("path, probes", [("/comment/create/", False), ("/comment/list/", True)])
def test_only_reads_probe_upward(clock: FakeClock, path: str, probes: bool) -> None:
    lifted = {"/business" + path: "1000/second"}
    adapter = TikTokAdapter(preset="business", tier="advanced", limits=lifted, clock=clock,
                            on_limit="raise", default_priority="critical")  # fmt: skip
    limiter = adapter.limiter
    route = limiter.resolve(f"{BIZ}{path}")
    assert route.read_only is probes
    for _ in range(2):  # one refusal is a pause; a second one within a minute, a limit
        limiter.learner.refused(route, "app", clock.now())
    first = limiter.learned()["app"]
    assert first < 1.0
    request = requests.Request("GET", f"{BIZ}{path}?business_id=b&video_id=1").prepare()
    for _ in range(3):
        clock.advance(3600)
        # Busy at the learned rate: the scope uses what it was allowed.
        for _ in range(int(20 * limiter.learned().get("app", 1.0))):
            limiter.admit(request, route, limiter.start(route, limiter.default_priority))
        limiter.learner.accepted(route, clock.now())
    assert (limiter.learned().get("app", 1.0) > first) is probes


def _rate(text: str) -> tuple[object, ...]:
    return parse_rates(text, "test")


def test_scaling_never_goes_above_configured_nor_touches_quotas() -> None:
    second, day = parse_rates("20/second;1000/day@utc", "test")
    assert scaled_amount(second, 0.55) == 11
    assert scaled_amount(second, 0.001) == 1
    assert scaled_amount(second, 1.0) == 20
    assert scaled_amount(day, 0.1) == 1000


def test_lowering_reads_the_fullest_window_and_raising_backs_off() -> None:
    policy = LearningPolicy()
    second, minute = parse_rates("20/second;1200/minute", "test")
    # 11 in the second (the 11th refused), 11 in the minute: the second explains it.
    assert reading([(second, 11), (minute, 11)]) == pytest.approx(0.5)
    # Down by `decrease` at most, and never past what the server took.
    steps = [1.0]
    while steps[-1] > 0.5 and len(steps) < 6:
        state = lowered(Learned(steps[-1], 0.0), 0.5, 1000.0, 1.0, policy)
        assert state is not None
        steps.append(state.factor)
    assert steps == pytest.approx([1.0, 0.8, 0.64, 0.5])
    state = Learned(0.5, 1000.0)
    # More refusals within the window answer requests admitted before: no new low.
    assert lowered(state, 0.2, 1000.5, 1.0, policy) is None
    # A refusal the windows cannot explain still lowers, by `decrease`.
    later = lowered(state, None, 1002.0, 1.0, policy)
    assert later is not None and later.factor == pytest.approx(0.4)
    # A raise adds at least one request to the smallest window.
    up = raised(state, 20, 1400.0, policy)
    assert up.factor == pytest.approx(0.55) and up.probing
    # A refusal soon after a raise is a failed probe: back down, wait twice as long.
    failed = lowered(up, 0.5, 1401.0, 1.0, policy)
    assert failed is not None and failed.factor == pytest.approx(0.5)
    assert failed.interval == 2 * policy.raise_every
    assert Learned.decode(failed.encode()) == failed
    assert Learned.decode("nonsense") is None


@pytest.mark.parametrize("kind", ["httpx", "httpx-async"])
def test_httpx_transports_learn_too(clock: FakeClock, kind: str) -> None:
    import asyncio

    pytest.importorskip("httpx")
    from tiktok_adapter.httpx import async_client, client
    from tiktok_adapter.testing.httpx_fake import httpx_options

    # The simulator answers through httpx's MockTransport, never started under responses.
    fake = FakeTikTok(preset="business", tier="basic", limits=TABLE, clock=clock)
    # The adapter's own tier: advanced (20/s), not the simulator's app limit.
    options = {**httpx_options(fake), "tier": "advanced", "app_limit": "preset"}
    path = "/open_api/v1.3/business/get/"
    params = {"business_id": "b"}
    start = clock.now()
    if kind == "httpx":
        with client(**options) as sync:
            while clock.now() < start + 120:
                sync.get(path, params=params)
    else:

        async def crawl() -> None:
            async with async_client(**options) as session:
                while clock.now() < start + 120:
                    await session.get(path, params=params)

        asyncio.run(crawl())
    late = [r for r in fake.app.requests if r.time >= start + WARMUP]
    assert sum(r.refused for r in late) <= 0.01 * len(late)
    assert len(late) - sum(r.refused for r in late) >= 0.9 * REAL * (120 - WARMUP)


def test_refusals_at_our_own_full_window_are_jitter_not_a_lower_limit(clock: FakeClock) -> None:
    # A server enforcing exactly our limit refuses the last request of a full window when
    # an earlier one reached it late; as long as that does not recur within two windows
    # (a lower real limit refuses in every window), nothing is learned.
    adapter = TikTokAdapter(limits={"/user/info/": "5/minute"}, app_limit=None, clock=clock,
                            on_limit="raise")  # fmt: skip
    limiter = adapter.limiter
    url = "https://open.tiktokapis.com/v2/user/info/"
    route = limiter.resolve(url)
    request = requests.Request("GET", url).prepare()
    for _ in range(3):
        for _ in range(5):  # our window holds its 5
            limiter.admit(request, route, limiter.start(route, limiter.default_priority))
        limiter.learner.refused(route, "endpoint", clock.now())  # and the 5th was refused
        clock.advance(181)
    assert limiter.learned() == {}
    # Refused below our limit (the 3rd of 5): that is a lower real limit, and it is learned.
    for _ in range(2):
        for _ in range(3):
            limiter.admit(request, route, limiter.start(route, limiter.default_priority))
        limiter.learner.refused(route, "endpoint", clock.now())
        clock.advance(61)
    assert limiter.learned().get("/user/info/", 1.0) < 1.0


def test_learning_can_be_switched_off_from_any_source() -> None:
    assert TikTokAdapter().limiter.learner.policy.enabled
    assert not TikTokAdapter(learn_limits=False).limiter.learner.policy.enabled
    assert not TikTokAdapter(learn_limits="false").limiter.learner.policy.enabled  # type: ignore[arg-type]
    from tiktok_adapter import Settings

    env = {"TIKTOK_ADAPTER_LEARN_LIMITS": "no"}
    assert not TikTokAdapter(Settings.from_env(environ=env)).limiter.learner.policy.enabled
