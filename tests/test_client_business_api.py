"""tiktok-business-api, unchanged, reading campaigns, ad groups, ads and reports.

The client builds its Session inside itself and its OAuth helper calls a module-level
``requests.post``, so the adapter goes under both with ``tiktok_adapter.install``.
Its paginated reads fire page after page with no pause: past 10 calls a second the
Business API answers code 40100 (in an HTTP 200), and the client hands that error
back in place of the data. With the adapter, on default settings, every page arrives.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

import tiktok_adapter
from tiktok_adapter.testing import FakeClock, FakeTikTok


def _import_quietly() -> Any:
    # The client calls logging.basicConfig(level=INFO) on import; keep the root logger as
    # it was, so that this module does not change logging for the rest of the suite.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        client = pytest.importorskip("tiktok.business.client")
        oauth2 = pytest.importorskip("tiktok.business.oauth2")
    finally:
        root.handlers[:], root.level = handlers, level
    return client, oauth2


business_client, business_oauth2 = _import_quietly()
# The client loads its services with importlib's deprecated load_module().
pytestmark = pytest.mark.filterwarnings("ignore:the load_module:DeprecationWarning")

ADVERTISERS = 3
REPORT = {
    "report_type": "BASIC", "data_level": "AUCTION_CAMPAIGN",
    "dimensions": ["campaign_id", "stat_time_day"], "metrics": ["spend", "clicks"],
    "start_date": "2023-11-01", "end_date": "2023-11-07", "page_size": 20,
}  # fmt: skip


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeTikTok]:
    with FakeTikTok(preset="business", clock=clock, require_auth=True) as started:
        yield started


def read_accounts() -> dict[str, Any]:
    """An ads dashboard on the client: log in, then read each advertiser page by page."""
    results: dict[str, Any] = {}
    for n in range(ADVERTISERS):
        login = business_oauth2.OAuth2.get_access_token(
            "app-id", "app-secret", f"auth-code-{n}", write_to_file=False
        )
        token, advertiser = login["data"]["access_token"], login["data"]["advertiser_ids"][0]
        client = business_client.TikTokBusinessClient(token, advertiser)
        results[advertiser] = {
            "campaigns": client.campaign.get_campaigns({"page_size": 2}),
            "adgroups": client.ad_group.get_ad_groups({"page_size": 5}),
            "ads": client.ad.get_ads({"page_size": 10}),
            "report": client.reports.get_synchronous_report(dict(REPORT)),
        }
    return results


def _rows(answer: dict[str, Any], key: str) -> set[str]:
    if answer.get("code") != 0:
        return set()
    return {json.dumps(row[key], sort_keys=True) if key == "dimensions" else row[key]
            for row in answer["data"]["list"]}  # fmt: skip


def _summary(results: dict[str, Any]) -> dict[str, set[str]]:
    keys = {"campaigns": "campaign_id", "adgroups": "adgroup_id", "ads": "ad_id",
            "report": "dimensions"}  # fmt: skip
    return {
        f"{advertiser}/{what}": _rows(answers[what], key)
        for advertiser, answers in results.items()
        for what, key in keys.items()
    }


def test_without_the_adapter_pages_come_back_as_40100(fake: FakeTikTok) -> None:
    results = read_accounts()

    assert fake.rate_limited > 0
    codes = {answers[what]["code"] for answers in results.values() for what in answers}
    assert 40100 in codes  # the client returns the refusal instead of the data
    assert any(not rows for rows in _summary(results).values())


def test_with_the_adapter_every_page_arrives(fake: FakeTikTok, clock: FakeClock) -> None:
    start = clock.now()
    with tiktok_adapter.install(clock=clock, preset="business") as adapter:
        results = read_accounts()

    assert fake.rate_limited == 0 and adapter.stats().total.rate_limited == 0
    assert all(r.status == 200 for r in fake.requests)
    assert all(answers[what]["code"] == 0 for answers in results.values() for what in answers)
    # Every row of every listing, each once: what the simulator holds for each advertiser.
    summary = _summary(results)
    for advertiser in results:
        store = _store(fake, advertiser)
        assert summary[f"{advertiser}/campaigns"] == set(store["campaign"])
        assert summary[f"{advertiser}/adgroups"] == set(store["adgroup"])
        assert summary[f"{advertiser}/ads"] == set(store["ad"])
        assert len(results[advertiser]["ads"]["data"]["list"]) == len(store["ad"])
        assert len(summary[f"{advertiser}/report"]) == 7 * len(store["campaign"])
    api_calls = len(fake.requests) - fake.count("/oauth2/access_token/")
    assert api_calls > 10 * 2  # more than two seconds' worth of the 10-a-second QPS
    assert clock.now() - start >= api_calls // 10 - 1  # the adapter spread them out


def _store(fake: FakeTikTok, advertiser: str) -> dict[str, dict[str, Any]]:
    """The simulator's own campaigns, ad groups and ads of one advertiser (the truth)."""
    marketing = fake.app.routes["/campaign/get/"].handler.__self__  # type: ignore[attr-defined]
    store: dict[str, dict[str, Any]] = marketing.accounts[advertiser]
    return store
