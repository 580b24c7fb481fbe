"""Record budgets: the Research API counts records as well as requests, and so do we."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tiktok_adapter import QuotaExhausted, TikTokAdapter
from tiktok_adapter.testing import FakeClock, FakeTikTok

QUERY = "https://open.tiktokapis.com/v2/research/video/query/?fields=id"
# Requests are lifted above the record budget on both sides, so that the records bind:
# at TikTok's own numbers (1,000 requests, 100 records each) both run out together.
LIFTED = {"/research/video/query/": "5000/day@utc"}
US = {"and": [{"operation": "IN", "field_name": "region_code", "field_values": ["US"]}]}
# Every video of five days the world's own videos leave alone: the Research corpus's 120
# a day, 600 in all, so every page is whole.
BODY: dict[str, Any] = {
    "query": {"and": []},
    "start_date": "20220101",
    "end_date": "20220105",
    "max_count": 100,
}
MIDNIGHT = 1_700_006_400  # 2023-11-15 00:00 UTC; the FakeClock starts 1 h 47 min before


@pytest.fixture
def research(clock: FakeClock) -> Iterator[FakeTikTok]:
    # A small world: its own videos are all newer than BODY's dates.
    with FakeTikTok(
        preset="research", limits=LIFTED, app_limit="5000/day@utc", clock=clock, videos=100
    ) as fake:
        yield fake


def _adapter(clock: FakeClock, **kw: Any) -> TikTokAdapter:
    return TikTokAdapter(
        preset="research", limits=LIFTED, app_limit="5000/day@utc", clock=clock, **kw
    )


def test_the_simulator_counts_records_as_tiktok_does(
    research: FakeTikTok, clock: FakeClock, session: requests.Session
) -> None:
    # 999 full pages, then a page that asks for 100 with 100 left, then one over.
    for _ in range(999):
        assert len(session.post(QUERY, json=BODY).json()["data"]["videos"]) == 100
    assert research.app.record_count("research") == 99_900
    cut = session.post(QUERY, json={**BODY, "max_count": 60}).json()["data"]["videos"]
    assert len(cut) == 60
    # 40 left: a page asking for 100 is cut to what is left, then the quota is spent.
    assert len(session.post(QUERY, json=BODY).json()["data"]["videos"]) == 40
    refused = session.post(QUERY, json=BODY)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "daily_quota_limit_exceeded"
    clock.set(MIDNIGHT)
    assert session.post(QUERY, json=BODY).status_code == 200


def test_a_crawl_gets_exactly_the_records_the_quota_allows_then_sleeps_to_midnight(
    research: FakeTikTok, clock: FakeClock, session: requests.Session, store: dict[str, Any]
) -> None:
    session.mount("https://", _adapter(clock, **store))
    per_day: Counter[str] = Counter()
    search: dict[str, Any] = {}
    # The whole first day's quota, then ten pages after midnight: enough to show it
    # starts again at 00:00 UTC.
    while sum(per_day.values()) < 101_000:
        answer = session.post(QUERY, json={**BODY, **search})
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        day = datetime.datetime.fromtimestamp(clock.now(), tz=datetime.timezone.utc).date()
        per_day[day.isoformat()] += len(data["videos"])
        more = data["has_more"]
        search = {"cursor": data["cursor"], "search_id": data["search_id"]} if more else {}
    assert per_day == {"2023-11-14": 100_000, "2023-11-15": 1_000}
    # Never one refusal from the server: the adapter slept until 00:00 UTC instead.
    assert research.rate_limited == 0
    assert research.count(status=429) == 0
    assert max(clock.sleeps) == pytest.approx(MIDNIGHT - 1_700_000_000, abs=1)


def test_records_that_did_not_come_back_are_refunded(
    clock: FakeClock, session: requests.Session, store: dict[str, Any]
) -> None:
    with FakeTikTok(preset="research", clock=clock, videos=60):
        adapter = TikTokAdapter(preset="research", clock=clock, **store)
        session.mount("https://", adapter)
        one_day = {**BODY, "query": US, "end_date": BODY["start_date"]}
        page = session.post(QUERY, json=one_day).json()["data"]["videos"]
        came = len(page)
        assert 0 < came < 100  # 100 reserved, fewer came back
        windows = adapter.budget().endpoints["/research/video/query/"].windows
        records = {w.limit: w for w in windows}["100000/day@utc records"]
        assert records.used == came and records.remaining == 100_000 - came
        # A request without max_count reserves TikTok's default (20) and gets 20.
        session.post(QUERY, json={k: v for k, v in BODY.items() if k != "max_count"})
        windows = adapter.budget().endpoints["/research/video/query/"].windows
        assert {w.limit: w.used for w in windows}["100000/day@utc records"] == came + 20


def test_admission_is_all_or_nothing_across_requests_and_records(
    clock: FakeClock, store: dict[str, Any]
) -> None:
    adapter = _adapter(clock, on_limit="raise", **store)
    limiter = adapter.limiter
    route = limiter.resolve(QUERY)
    request = requests.Request("POST", QUERY, json=BODY).prepare()
    for _ in range(1000):
        limiter.admit(request, route, limiter.start(route, limiter.default_priority))
    before = {w.limit: w.used for w in adapter.budget().endpoints[route.name].windows}
    assert before == {"5000/day@utc": 1000, "100000/day@utc records": 100_000}
    with pytest.raises(QuotaExhausted):
        limiter.admit(request, route, limiter.start(route, limiter.default_priority))
    after = {w.limit: w.used for w in adapter.budget().endpoints[route.name].windows}
    assert after == before  # the refused request charged no request window either


def test_a_reservation_must_fit_whole(clock: FakeClock, store: dict[str, Any]) -> None:
    adapter = _adapter(clock, on_limit="raise", **store)
    limiter = adapter.limiter
    route = limiter.resolve(QUERY)

    def admit(count: int) -> None:
        request = requests.Request("POST", QUERY, json={**BODY, "max_count": count}).prepare()
        limiter.admit(request, route, limiter.start(route, limiter.default_priority))

    for _ in range(999):
        admit(100)
    admit(60)  # 99,960 reserved: 40 left
    with pytest.raises(QuotaExhausted):
        admit(41)
    admit(40)
    used = {w.limit: w.used for w in adapter.budget().endpoints[route.name].windows}
    assert used == {"5000/day@utc": 1001, "100000/day@utc records": 100_000}
