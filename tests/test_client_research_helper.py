"""tiktok-research-api-helper, unchanged, crawling more than a day's Research quota.

The client fetches its own client token from the simulator's ``/v2/oauth/token/``,
pages through ``research/video/query/`` and each video's ``research/video/comment/list/``.
It retries a 429 by sleeping four hours (through tenacity, moved here onto the fake
clock), so without the adapter it finishes too, after refusals; with the adapter, on
default settings, it must finish with none, sleeping past 00:00 UTC instead.
"""

from __future__ import annotations

import datetime
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tiktok_adapter import mount
from tiktok_adapter.testing import FakeClock, FakeTikTok

if not hasattr(requests.exceptions, "JSONDecodeError"):
    # The client's retry checks name requests.exceptions.JSONDecodeError (requests 2.27+).
    pytest.skip("tiktok-research-api-helper needs requests 2.27 or newer", allow_module_level=True)
helper = pytest.importorskip("tiktok_research_api_helper.api_client")
tenacity_nap = pytest.importorskip("tenacity.nap")

NOON = 1_699_963_200  # 2023-11-14 12:00 UTC
NEXT_MIDNIGHT = NOON + 12 * 3600
VIDEOS = 1000
# Every region: the Research corpus's 120 videos a day for 14 days, and their comment
# lists, are some 1,700 calls, over one day's 1,000.
REGIONS = ["US", "GB", "DE", "FR", "JP", "BR", "IN", "CA"]
QUERY = {"and": [{"operation": "IN", "field_name": "region_code", "field_values": REGIONS}]}
START, END = datetime.date(2023, 11, 1), datetime.date(2023, 11, 14)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock(NOON)
    # The client sleeps between retries through tenacity, which calls time.sleep.
    monkeypatch.setattr(tenacity_nap, "time", types.SimpleNamespace(sleep=clock.sleep))
    return clock


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeTikTok]:
    with FakeTikTok(preset="research", clock=clock, videos=VIDEOS, require_auth=True) as started:
        yield started


@dataclass
class Crawl:
    videos: set[int]
    comments: set[int]
    result: Any


def crawl(with_adapter: bool, clock: FakeClock) -> Crawl:
    """The client's own crawl: one query with its comments, over sessions we hand it."""
    api, tokens = requests.Session(), requests.Session()
    if with_adapter:
        adapter = mount(api, clock=clock, preset="research")  # default settings otherwise
        mount(tokens, adapter)  # OAuth calls go through it too, and spend no quota
    request_client = helper.TikTokApiRequestClient(
        credentials=helper.TikTokCredentials(client_secret="secret", client_key="key"),
        access_token_fetcher_session=tokens,
        api_request_session=api,
    )
    config = helper.ApiClientConfig(api_credentials_file=Path("unused.yaml"))
    client = helper.TikTokApiClient(request_client=request_client, config=config)
    result = client.fetch_all(
        helper.VideoQueryConfig(
            query=QUERY,
            start_date=START,
            end_date=END,
            fetch_comments=True,
        )
    )
    return Crawl({v["id"] for v in result.videos}, {c["id"] for c in result.comments or []}, result)


def _truth(fake: FakeTikTok) -> tuple[set[int], set[int]]:
    """What the query selects, read from the simulator's own handlers (no limit counts)."""
    search = fake.app.routes["/research/video/query/"].handler
    list_comments = fake.app.routes["/research/video/comment/list/"].handler
    body: dict[str, Any] = {"query": QUERY, "start_date": f"{START:%Y%m%d}",
                            "end_date": f"{END:%Y%m%d}", "max_count": 100}  # fmt: skip
    videos: set[int] = set()
    while True:
        page = search({}, body, NOON)
        videos |= {v["id"] for v in page["videos"]}
        if not page["has_more"]:
            break
        body = {**body, "cursor": page["cursor"], "search_id": page["search_id"]}
    comments: set[int] = set()
    for video in videos:
        listed = list_comments({}, {"video_id": str(video), "max_count": 100}, NOON)
        comments |= {c["id"] for c in listed["comments"]}
    return videos, comments


def test_without_the_adapter_the_crawl_is_refused(fake: FakeTikTok, clock: FakeClock) -> None:
    plain = crawl(with_adapter=False, clock=clock)

    assert fake.rate_limited > 0
    refused = [r for r in fake.requests if r.refused]
    assert {r.status for r in refused} == {429}
    # It got everything in the end only by sleeping four hours per refusal.
    assert (plain.videos, plain.comments) == _truth(fake)
    assert 4 * 3600 in clock.sleeps


def test_with_the_adapter_the_crawl_waits_for_midnight_and_loses_nothing(
    fake: FakeTikTok, clock: FakeClock
) -> None:
    videos, comments = _truth(fake)
    assert len(comments) > 1000  # the data set is worth the quota

    run = crawl(with_adapter=True, clock=clock)

    assert fake.rate_limited == 0
    assert all(r.status == 200 for r in fake.requests), [
        (r.path, r.status) for r in fake.requests if r.status != 200
    ][:3]
    api_calls = fake.count("/research/video/query/") + fake.count("/research/video/comment/list/")
    pages = -(-len(videos) // 100)
    assert api_calls == pages + len(videos) > 1000  # every call once: none lost, none repeated
    assert fake.count("/oauth/token/") == 1
    # Every result: the whole data set, as the run without the adapter gets it.
    assert (run.videos, run.comments) == (videos, comments)
    assert len(run.result.videos) == len(videos)
    assert clock.now() >= NEXT_MIDNIGHT  # the adapter slept into the next UTC day
    assert 4 * 3600 not in clock.sleeps  # and the client never had to back off itself
