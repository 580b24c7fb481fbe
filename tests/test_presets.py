"""API families: Business refusals inside a 200, per-token scopes, daily quotas."""

from __future__ import annotations

import datetime
import logging
import threading

import pytest
import requests
import responses

from tiktok_adapter import (
    ConfigurationError,
    QuotaExhausted,
    RateLimitExceeded,
    TikTokAdapter,
    mount,
)
from tiktok_adapter.core.endpoints import get_preset
from tiktok_adapter.testing import FakeClock

BIZ = "https://business-api.tiktok.com/open_api/v1.3/business/comment"
INIT = "https://open.tiktokapis.com/v2/post/publish/video/init/"
RESEARCH = "https://open.tiktokapis.com/v2/research/video/query/"
# TikTok's wording of a 40100, as the API's users report it.
TIKTOK_40100 = "Due to too many requests, requests from App are temporarily restricted."
QPS = {"code": 40100, "message": TIKTOK_40100, "request_id": "r1", "data": {}}
OK = {"code": 0, "message": "OK", "request_id": "r2", "data": {}}


def utc_midnight_after(ts: float) -> float:
    return (ts // 86400 + 1) * 86400


# -- the Business API -----------------------------------------------------------------------


def test_business_preset_mounts_on_exactly_its_host(session: requests.Session) -> None:
    adapter = mount(session, preset="business")
    assert session.get_adapter(f"{BIZ}/list/") is adapter
    assert session.get_adapter("https://business-api.tiktok.com.evil.example/") is not adapter
    row = adapter.limiter.table.match("/open_api/v1.3/business/comment/list/")
    assert row is not None and row.read_only
    writes = {e.path for e in adapter.limiter.table if not e.read_only}
    assert "/business/comment/create/" in writes and "/business/comment/hide/" in writes
    assert adapter.limiter.preset.app_limit == "10/second;1000/hour"


def test_business_qps_code_in_a_200_is_a_refusal(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{BIZ}/list/", json=QPS)
    mocked.get(f"{BIZ}/list/", json=OK)
    mount(session, preset="business", clock=clock)
    response = session.get(f"{BIZ}/list/", params={"business_id": "b1"})
    assert response.json()["code"] == 0
    assert len(mocked.calls) == 2


def test_business_qps_code_raises_in_raise_mode(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.post(f"{BIZ}/delete/", json=QPS)
    mount(session, preset="business", clock=clock, on_limit="raise")
    with pytest.raises(RateLimitExceeded) as info:
        session.post(f"{BIZ}/delete/", json={"business_id": "b1", "comment_id": "c"})
    assert info.value.response is not None and info.value.limit == "server"


def test_other_business_codes_pass_through(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{BIZ}/list/", json={"code": 40105, "message": "bad token", "data": {}})
    mount(session, preset="business", clock=clock, on_limit="raise")
    assert session.get(f"{BIZ}/list/").json()["code"] == 40105


def test_rate_limit_codes_are_configurable(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{BIZ}/list/", json={"code": 40133, "message": "slow", "data": {}})
    mount(session, preset="business", clock=clock, on_limit="raise", rate_limit_codes={40133})
    with pytest.raises(RateLimitExceeded):
        session.get(f"{BIZ}/list/")


def test_access_token_never_logged(
    session: requests.Session,
    clock: FakeClock,
    mocked: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "biz-token-SHOULD-NOT-LEAK"
    mocked.get(f"{BIZ}/list/", json=QPS)
    mocked.get(f"{BIZ}/list/", json=OK)
    caplog.set_level(logging.DEBUG)
    mount(session, preset="business", clock=clock)
    session.get(f"{BIZ}/list/", headers={"Access-Token": secret})
    assert caplog.records and all(secret not in r.getMessage() for r in caplog.records)


def test_tier_errors() -> None:
    with pytest.raises(ConfigurationError, match=r"tier='gold'.*basic"):
        get_preset("business", "gold")
    with pytest.raises(ConfigurationError, match="only to preset='business'"):
        get_preset("seed", "basic")


# -- per-token scopes -----------------------------------------------------------------------


def test_two_tokens_each_get_their_own_window(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.post(INIT, json={"data": {}, "error": {"code": "ok"}})
    mount(session, preset="content-posting", clock=clock, on_limit="raise",
          default_priority="critical")  # fmt: skip
    alice = {"Authorization": "Bearer act.alice"}
    bob = {"Authorization": "Bearer act.bob"}
    for _ in range(6):
        session.post(INIT, headers=alice)
    with pytest.raises(RateLimitExceeded, match="6/minute@token"):
        session.post(INIT, headers=alice)
    for _ in range(6):  # Alice's spent minute does not touch Bob's
        session.post(INIT, headers=bob)


def test_a_waiting_token_does_not_hold_back_another(
    session: requests.Session, mocked: responses.RequestsMock
) -> None:
    mocked.post(INIT, json={})
    clock = FakeClock()
    release = threading.Event()

    class SlowClock(FakeClock):
        def sleep(self, seconds: float) -> None:
            release.wait(5)  # Alice sleeps (in real time) until the test lets her go
            super().sleep(seconds)

    slow = SlowClock(clock.now())
    adapter = mount(session, preset="content-posting", clock=slow, default_priority="critical")
    alice = {"Authorization": "Bearer act.alice"}
    for _ in range(6):
        session.post(INIT, headers=alice)
    waiter = threading.Thread(target=session.post, args=(INIT,), kwargs={"headers": alice})
    waiter.start()
    # Bob is served at once while Alice waits for her minute.
    assert session.post(INIT, headers={"Authorization": "Bearer act.bob"}).ok
    assert waiter.is_alive()
    release.set()
    waiter.join(5)
    assert len(mocked.calls) == 8
    # Queues exist only while someone waits: many users leave no gates behind.
    assert adapter.limiter.admitter.gates == {}


def test_per_token_memory_stays_bounded(clock: FakeClock) -> None:
    adapter = TikTokAdapter(preset="content-posting", clock=clock)
    route = adapter.limiter.routes.resolve(INIT)
    for i in range(10_000):
        request = requests.Request(
            "POST", INIT, headers={"Authorization": f"Bearer act.user{i}"}
        ).prepare()
        windows, _ = adapter.limiter.routes.windows_for(route, request)
        adapter.store.acquire(windows, route.blocks, clock.now())
        clock.advance(0.05)  # 10,000 users over about eight minutes
    live = len(adapter.store._moving)  # type: ignore[attr-defined]
    # Bounded by the users of the last minute (1,200) plus one sweep interval (4,096).
    assert live <= 1_200 + 4_096, "idle per-token windows must be forgotten"
    assert not any("act.user" in key for key in adapter.store._moving)  # type: ignore[attr-defined]


def test_token_in_query_and_access_token_header_are_scoped(clock: FakeClock) -> None:
    adapter = TikTokAdapter(preset="content-posting", clock=clock)
    route = adapter.limiter.routes.resolve(INIT)

    def key(**kw: object) -> str:
        windows, _ = adapter.limiter.routes.windows_for(
            route,
            requests.Request("POST", INIT, **kw).prepare(),  # type: ignore[arg-type]
        )
        return windows[-1].key

    by_header = key(headers={"Access-Token": "tok-1"})
    by_query = key(params={"access_token": "tok-1"})
    by_bearer = key(headers={"Authorization": "Bearer tok-1"})
    assert by_header == by_query == by_bearer != key(headers={"Access-Token": "tok-2"})
    assert "tok-1" not in by_header


# -- daily quotas ---------------------------------------------------------------------------


def test_daily_quota_resets_at_utc_midnight(
    session: requests.Session, mocked: responses.RequestsMock
) -> None:
    mocked.post(RESEARCH, json={"data": {}, "error": {"code": "ok"}})
    midnight = utc_midnight_after(1_700_000_000)
    clock = FakeClock(midnight - 120)  # two minutes before 00:00 UTC
    mount(session, preset="research", clock=clock, on_limit="raise", app_limit=None,
          limits={"/research/video/query/": "3/day@utc"}, default_priority="critical",
          safety_margin=0)  # fmt: skip
    for _ in range(3):
        session.post(RESEARCH)
    with pytest.raises(QuotaExhausted) as info:
        session.post(RESEARCH)
    assert info.value.reset_at == datetime.datetime.fromtimestamp(midnight, datetime.timezone.utc)
    assert "spent" in str(info.value) and "00:00:00" in str(info.value)
    clock.set(midnight - 0.001)
    with pytest.raises(QuotaExhausted):
        session.post(RESEARCH)
    clock.set(midnight)
    for _ in range(3):
        session.post(RESEARCH)


def test_sleep_mode_sleeps_until_a_spent_quota_resets(
    session: requests.Session, mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    mocked.post(RESEARCH, json={})
    midnight = utc_midnight_after(1_700_000_000)
    clock = FakeClock(midnight - 5 * 3600)
    mount(session, preset="research", clock=clock, app_limit=None,
          limits={"/research/video/query/": "1/day@utc"})  # fmt: skip
    session.post(RESEARCH)
    with caplog.at_level("WARNING", logger="tiktok_adapter"):
        session.post(RESEARCH)  # a spent quota waits, it does not lose the call
        session.post(RESEARCH)  # and the next day's quota is spent in turn
    assert len(mocked.calls) == 3
    assert clock.sleeps == [pytest.approx(5 * 3600, abs=1), pytest.approx(86_400, abs=1)]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2  # once per endpoint and reset
    assert "/research/video/query/" in warnings[0] and "5 h 0 min" in warnings[0]
    assert "T00:00:00+00:00" in warnings[0]


def test_with_max_wait_a_spent_quota_raises_and_says_when_it_resets(
    session: requests.Session, mocked: responses.RequestsMock
) -> None:
    mocked.post(RESEARCH, json={})
    clock = FakeClock(utc_midnight_after(1_700_000_000) - 5 * 3600)
    mount(session, preset="research", clock=clock, app_limit=None, max_wait=3600,
          limits={"/research/video/query/": "1/day@utc"})  # fmt: skip
    session.post(RESEARCH)
    with pytest.raises(QuotaExhausted, match=r"quota 1/day@utc is spent.*T00:00:00") as info:
        session.post(RESEARCH)
    assert info.value.retry_after == pytest.approx(5 * 3600, abs=1)
    assert clock.sleeps == []


def test_daily_quota_code_blocks_until_midnight(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    body = {"data": {}, "error": {"code": "daily_quota_limit_exceeded", "message": "spent"}}
    mocked.post(RESEARCH, json=body, status=429)
    adapter = mount(session, preset="research", clock=clock, on_limit="raise")
    with pytest.raises(QuotaExhausted) as info:
        session.post(RESEARCH)
    midnight = utc_midnight_after(clock.now())
    assert info.value.retry_after == pytest.approx(midnight - clock.now())
    assert adapter.store.blocked_until("q:/research/video/query/", clock.now()) == midnight


def test_rate_limit_code_backs_off_briefly(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    body = {"data": {}, "error": {"code": "rate_limit_exceeded", "message": "slow"}}
    mocked.post(RESEARCH, json=body, status=429)
    mount(session, preset="research", clock=clock, on_limit="raise", backoff_base=2.0)
    with pytest.raises(RateLimitExceeded) as info:
        session.post(RESEARCH)
    assert not isinstance(info.value, QuotaExhausted)
    assert info.value.retry_after <= 2.0


def test_presets_combine_with_overrides() -> None:
    adapter = TikTokAdapter(preset="display-v2", limits={"/video/query/": "100/minute"})
    assert {e.path: e.limits for e in adapter.limiter.table} == {
        "/user/info/": "600/minute",
        "/video/list/": "600/minute",
        "/video/query/": "100/minute",
    }


def test_quota_code_in_sleep_mode_sleeps_until_midnight_and_resends(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    body = {"data": {}, "error": {"code": "daily_quota_limit_exceeded", "message": "spent"}}
    mocked.post(RESEARCH, json=body, status=429)
    mocked.post(RESEARCH, json={"data": {"videos": []}, "error": {"code": "ok"}})
    mount(session, preset="research", clock=clock)  # sleep mode, max_wait unset
    midnight = utc_midnight_after(clock.now())
    wait = midnight - clock.now()
    response = session.post(RESEARCH)
    assert response.status_code == 200 and len(mocked.calls) == 2
    assert clock.sleeps == [pytest.approx(wait)]


def test_quota_code_with_max_wait_raises(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    body = {"data": {}, "error": {"code": "daily_quota_limit_exceeded", "message": "spent"}}
    mocked.post(RESEARCH, json=body, status=429)
    mount(session, preset="research", clock=clock, max_wait=60)
    with pytest.raises(QuotaExhausted) as info:
        session.post(RESEARCH)
    assert info.value.response is not None and info.value.response.status_code == 429
    assert clock.sleeps == []
    with pytest.raises(QuotaExhausted, match="quota is spent") as again:
        session.post(RESEARCH)  # the block holds, and is known to be a quota
    assert again.value.response is None and len(mocked.calls) == 1


def test_remaining_zero_on_a_daily_window_is_a_quota(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    reset = utc_midnight_after(clock.now())
    mocked.post(RESEARCH, json={}, headers={"X-RateLimit-Remaining": "0",
                                           "X-RateLimit-Reset": str(int(reset))})  # fmt: skip
    mount(session, preset="research", clock=clock, on_limit="raise")
    session.post(RESEARCH)
    with pytest.raises(QuotaExhausted) as info:
        session.post(RESEARCH)
    assert info.value.retry_after == pytest.approx(reset - clock.now())
    assert clock.sleeps == []


def test_remaining_zero_on_a_short_window_is_slept_off(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    reset = clock.now() + 1800
    mocked.post(RESEARCH, json={}, headers={"X-RateLimit-Remaining": "0",
                                           "X-RateLimit-Reset": str(int(reset))})  # fmt: skip
    mount(session, preset="research", clock=clock)
    session.post(RESEARCH)
    session.post(RESEARCH)
    assert clock.sleeps == [pytest.approx(1800)]


# -- every preset's limits, as the adapter holds them -------------------------------------
#
# Each row: how many calls the adapter lets through on one endpoint within a span of time,
# calling as fast as it lets them go (on a refusal the clock moves to when it says to try
# again). The numbers are written from the documents, not from the presets' tables: the
# user's guide (../shared/seed-tiktok-rate-limits.md) for "seed", the README's "Which
# limits?" table for the others. A fresh adapter for each row, on a fake clock that starts
# at 22:13:20 UTC, 1 h 46 min 40 s before midnight.

V2 = "https://open.tiktokapis.com/v2"
BIZ_API = "https://business-api.tiktok.com/open_api/v1.3/business"
MINUTE, HOUR, TO_MIDNIGHT = 60.0, 3600.0, 6400.0
ALICE = {"Authorization": "Bearer act.alice"}

LIMITS_AS_DOCUMENTED = [
    # The guide's endpoint table (requests a minute, and an hour) ...
    ("seed", "GET", f"{V2}/user/info/", {}, {MINUTE: 10, HOUR: 100}),
    ("seed", "GET", f"{V2}/video/list/", {}, {MINUTE: 5, HOUR: 50}),
    ("seed", "POST", f"{V2}/video/query/", {}, {MINUTE: 20, HOUR: 200}),
    ("seed", "GET", f"{V2}/video/comment/list/", {}, {MINUTE: 10, HOUR: 100}),
    ("seed", "POST", f"{V2}/video/comment/create/", {}, {MINUTE: 5, HOUR: 50}),
    ("seed", "POST", f"{V2}/video/comment/delete/", {}, {MINUTE: 10, HOUR: 100}),
    ("seed", "POST", f"{V2}/video/comment/pin/", {}, {MINUTE: 5, HOUR: 50}),
    # ... and 1,000 an hour for the application, on a path of no row.
    ("seed", "GET", f"{V2}/some/other/path/", {}, {HOUR: 1000}),
    # API v2: 600 per sliding minute on each of three endpoints.
    ("display-v2", "GET", f"{V2}/user/info/", {}, {MINUTE: 600, 2 * MINUTE: 1200}),
    ("display-v2", "POST", f"{V2}/video/list/", {}, {MINUTE: 600}),
    ("display-v2", "POST", f"{V2}/video/query/", {}, {MINUTE: 600}),
    # Content Posting: per user token, a minute each.
    ("content-posting", "POST", f"{V2}/post/publish/creator_info/query/", ALICE, {MINUTE: 20}),
    ("content-posting", "POST", f"{V2}/post/publish/video/init/", ALICE, {MINUTE: 6}),
    ("content-posting", "POST", f"{V2}/post/publish/inbox/video/init/", ALICE, {MINUTE: 6}),
    ("content-posting", "POST", f"{V2}/post/publish/content/init/", ALICE, {MINUTE: 6}),
    ("content-posting", "POST", f"{V2}/post/publish/status/fetch/", ALICE, {MINUTE: 30}),
    # Research: 1,000 a UTC day on each endpoint (the app's 1,000 a day binds alike).
    *(
        ("research", "POST", f"{V2}/research/{path}/", {}, {TO_MIDNIGHT: 1000})
        for path in (
            "video/query",
            "video/comment/list",
            "user/info",
            "user/liked_videos",
            "user/pinned_videos",
            "user/reposted_videos",
        )
    ),
    # Business: comment reads 10 a minute and 100 an hour, writes 5 and 50 (and 40 a minute
    # per account, which those keep it below); video/list 5 and 50; get 10 and 100.
    *(
        ("business", "GET", f"{BIZ_API}/comment/{path}/", {}, {MINUTE: 10, HOUR: 100})
        for path in ("list", "reply/list", "delete", "hide")
    ),
    *(
        ("business", "POST", f"{BIZ_API}/comment/{path}/", {}, {MINUTE: 5, HOUR: 50})
        for path in ("create", "reply/create", "pin", "like")
    ),
    ("business", "GET", f"{BIZ_API}/video/list/", {}, {MINUTE: 5, HOUR: 50}),
    ("business", "GET", f"{BIZ_API}/get/", {}, {MINUTE: 10, HOUR: 100}),
    # ... and the app's 10 a second and 1,000 an hour, on a path of no row.
    ("business", "GET", f"{BIZ_API}/some/other/", {}, {1.0: 10, HOUR: 1000}),
]


def _let_through(preset: str, method: str, url: str, headers: dict[str, str],
                 span: float, tier: str | None = None) -> list[float]:  # fmt: skip
    """When each call the adapter let through went, in seconds from the first, within
    ``span``, calling as fast as it lets them go."""
    clock = FakeClock()
    business = url.startswith(BIZ_API)
    body = OK if business else {"data": {}, "error": {"code": "ok", "message": ""}}
    params = {"business_id": "b1"} if business else None
    with requests.Session() as session, responses.RequestsMock() as mock:
        mock.add(method, url, json=body)
        session.trust_env = False  # no proxy settings to read from the environment per call
        mount(session, preset=preset, tier=tier, clock=clock, on_limit="raise")
        start, went = clock.now(), []
        while clock.now() - start < span:
            try:
                session.request(method, url, headers=headers, params=params)
                went.append(clock.now() - start)
            except RateLimitExceeded as refused:
                assert refused.retry_after is not None and refused.retry_after > 0
                clock.advance(refused.retry_after)
    return went


@pytest.mark.parametrize(
    ("preset", "method", "url", "headers", "counts"),
    LIMITS_AS_DOCUMENTED,
    ids=[f"{row[0]}:{row[2].split('/', 3)[3]}" for row in LIMITS_AS_DOCUMENTED],
)
def test_each_preset_holds_its_documented_limits(
    preset: str, method: str, url: str, headers: dict[str, str], counts: dict[float, int]
) -> None:
    went = _let_through(preset, method, url, headers, max(counts))
    assert {span: sum(1 for t in went if t < span) for span in counts} == counts


# TikTok API for Business app tiers, from the README's "Which limits?": calls a second.
# (A tier's minute is 60 of its seconds, which the margin keeps it below; its day is too
# many calls to count here.)
@pytest.mark.parametrize(("tier", "per_second"), [("basic", 10), ("advanced", 20),
                                                  ("premium", 30), ("ultimate", 50)])  # fmt: skip
def test_business_tiers(tier: str, per_second: int) -> None:
    assert get_preset("business", tier).name == f"business ({tier})"
    url = f"{BIZ_API}/some/other/"  # a path of no row: only the app's limits
    assert len(_let_through("business", "GET", url, {}, 1.0, tier=tier)) == per_second


def test_a_research_quota_spent_on_one_endpoint_is_spent_on_the_others() -> None:
    # The app's 1,000 a UTC day counts every research endpoint but followers and following,
    # which have 20,000 a day of their own (counting those is too many calls: past 1,000).
    clock = FakeClock()
    query, info = f"{V2}/research/video/query/", f"{V2}/research/user/info/"
    followers = f"{V2}/research/user/followers/"
    body = {"data": {}, "error": {"code": "ok", "message": ""}}
    with (
        requests.Session() as session,
        responses.RequestsMock(assert_all_requests_are_fired=False) as mock,
    ):
        for url in (query, info, followers):
            mock.add(responses.POST, url, json=body)
        session.trust_env = False
        mount(session, preset="research", clock=clock, on_limit="raise")
        for _ in range(1000):
            session.post(query)
        with pytest.raises(QuotaExhausted):
            session.post(info)
        for _ in range(1001):
            session.post(followers)


@pytest.mark.parametrize(
    ("name", "path", "counts"),
    [
        ("seed", "/v2/user/info/", True),
        ("seed", "/v2/oauth/token/", False),  # OAuth never spends an app limit
        ("seed", "/v2/oauth/revoke/", False),
        ("seed", "/proxy/v2/oauth/token/", False),
        ("research", "/v2/research/video/query/", True),
        ("research", "/v2/oauth/token/", False),
        ("research", "/v2/user/info/", False),  # the research quota counts /research/ only
        ("business", "/open_api/v1.3/business/comment/list/", True),
        ("business", "/open_api/v1.3/oauth2/access_token/", False),
    ],
)
def test_what_each_app_limit_covers(name: str, path: str, counts: bool) -> None:
    assert get_preset(name).app_counts(path) is counts


OAUTH = "https://open.tiktokapis.com/v2/oauth/token/"
INFO_V2 = "https://open.tiktokapis.com/v2/user/info/"


def test_the_research_quota_counts_only_research_calls(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    for url in (RESEARCH, OAUTH, INFO_V2):
        mocked.add(responses.POST if url != INFO_V2 else responses.GET, url, json=OK)
    mount(session, preset="research", clock=clock, on_limit="raise", app_limit="2/day@utc",
          limits={"/research/video/query/": "100/day@utc"})  # fmt: skip
    session.post(RESEARCH)
    session.post(RESEARCH)
    for _ in range(3):  # a token, and a Display API call on the same client, spend none of it
        session.post(OAUTH, data={"grant_type": "client_credentials"})
        session.get(INFO_V2)
    with pytest.raises(QuotaExhausted, match="2/day@utc"):
        session.post(RESEARCH)
    assert len(mocked.calls) == 8


def test_oauth_calls_never_spend_the_app_limit(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.post(OAUTH, json=OK)
    mocked.get(INFO_V2, json=OK)
    mount(session, clock=clock, on_limit="raise", app_limit="2/hour")
    for _ in range(5):
        session.post(OAUTH, data={"grant_type": "refresh_token"})
    session.get(INFO_V2)
    session.get(INFO_V2)
    with pytest.raises(RateLimitExceeded, match="2/hour"):
        session.get(INFO_V2)


def test_untagged_traffic_may_fill_the_whole_window(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    photo = "https://open.tiktokapis.com/v2/post/publish/content/init/"
    mocked.post(photo, json=OK)
    mount(session, preset="content-posting", clock=clock, on_limit="raise")  # MEDIUM priority
    alice = {"Authorization": "Bearer act.alice"}
    for _ in range(6):  # photo posts are limited, at TikTok's 6 a minute per user
        session.post(photo, headers=alice)
    with pytest.raises(RateLimitExceeded, match="6/minute@token"):
        session.post(photo, headers=alice)
    assert len(mocked.calls) == 6


@pytest.mark.parametrize(("priority", "allowed"), [("low", 5), ("medium", 10), ("high", 10)])
def test_only_low_priority_leaves_room_by_default(
    session: requests.Session,
    clock: FakeClock,
    mocked: responses.RequestsMock,
    priority: str,
    allowed: int,
) -> None:
    mocked.get(INFO_V2, json=OK)
    mount(session, clock=clock, on_limit="raise", default_priority=priority)  # 10/minute
    for _ in range(allowed):
        session.get(INFO_V2)
    with pytest.raises(RateLimitExceeded):
        session.get(INFO_V2)
    assert len(mocked.calls) == allowed
