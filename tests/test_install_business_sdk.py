"""TikTok's official Business SDK (tiktok-business-api-sdk-official), which sends through a
urllib3 PoolManager, through its public methods against the simulator on default
settings: install() keeps it clean; without install() the same workload is refused."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tiktok_adapter import install, installed, uninstall
from tiktok_adapter.testing import FakeClock, SimulatorServer, TikTokApp

sdk = pytest.importorskip("business_api_client")

ADVERTISER = "7000000000000000001"
TOKEN = "token"
ROUNDS = 12  # each round: the campaigns, the ad groups and a report; well over a second's QPS


@pytest.fixture(autouse=True)
def loggers_as_they_were() -> Iterator[None]:
    # The SDK's Configuration() sets the "urllib3" logger to WARNING for the whole
    # process; later tests read urllib3's DEBUG lines (tests/test_redact.py).
    names = ("urllib3", "business_api_client")
    levels = {name: logging.getLogger(name).level for name in names}
    handlers = {name: list(logging.getLogger(name).handlers) for name in names}
    yield
    for name in names:
        logging.getLogger(name).setLevel(levels[name])
        logging.getLogger(name).handlers[:] = handlers[name]


@pytest.fixture
def app(clock: FakeClock) -> TikTokApp:
    return TikTokApp(clock=clock, preset="business")


@pytest.fixture
def server(app: TikTokApp) -> Iterator[SimulatorServer]:
    with SimulatorServer(app) as running:
        yield running
    if installed() is not None:
        uninstall()


def workload(server: SimulatorServer) -> list[Any]:
    """What a Business app does with the SDK: its results, in order."""
    configuration = sdk.Configuration()
    configuration.host = server.url.rstrip("/")
    client = sdk.ApiClient(configuration)
    campaigns = sdk.CampaignCreationApi(client)
    adgroups = sdk.AdgroupApi(client)
    reports = sdk.ReportingApi(client)
    results = []
    for _ in range(ROUNDS):
        results.append(campaigns.campaign_get(ADVERTISER, TOKEN))
        results.append(adgroups.adgroup_get(ADVERTISER, TOKEN))
        results.append(
            reports.report_integrated_get(
                "BASIC", TOKEN, advertiser_id=ADVERTISER, data_level="AUCTION_CAMPAIGN",
                dimensions=["campaign_id"], metrics=["spend", "impressions"],
                start_date="2023-11-01", end_date="2023-11-07",
            )
        )  # fmt: skip
    return results


def test_the_sdk_is_clean_with_install(
    app: TikTokApp, server: SimulatorServer, clock: FakeClock
) -> None:
    with install(preset="business", base_url=server.url, clock=clock) as adapter:
        results = workload(server)
        sent = adapter.stats().total.sent
    assert len(results) == 3 * ROUNDS  # the SDK raises on any code but 0
    assert app.count(refused=True) == 0
    assert len(app.requests) == 3 * ROUNDS  # nothing lost, nothing sent twice
    assert sent == 3 * ROUNDS
    # Every round got the same data, as the first call of each kind did.
    data = [result["data"] for result in results]  # each answer's own request_id aside
    assert data == data[:3] * ROUNDS
    assert all(part["list"] for part in data[:3])


def test_the_sdk_is_refused_without_install(app: TikTokApp, server: SimulatorServer) -> None:
    # The SDK raises its own error on TikTok's 40100 (the app's QPS), losing the call.
    with pytest.raises(Exception, match="40100") as refused:
        workload(server)
    assert type(refused.value).__name__ == "TiktokSDKError"
    assert app.count(refused=True) == 1
