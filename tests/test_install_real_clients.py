"""Two published MCP servers' TikTok clients, unchanged, through their public functions
and tools against the loopback simulator on their default settings (only where TikTok
is: they name its hosts in code): with install() every call gets its data and nothing is
refused; without it the same work is refused.

- tiktok-gmvmax-mcp (an MCP server for the Business API) builds a new
  ``httpx.AsyncClient`` for every request.
- tiktok-studio-mcp (an MCP server for Content Posting) sends with the standard
  library's ``urllib.request``, and PUTs each video to the ``upload_url`` its init returns.

Both pull in the ``mcp`` framework (Starlette, Uvicorn, ...), so neither is in the test
extra: these tests run where they are installed, and are skipped elsewhere, except in
tox's ``clients`` env (which .ci/run runs): it installs both and sets
``TIKTOK_ADAPTER_REQUIRE_CLIENTS``, under which a missing client fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tiktok_adapter import install, installed, uninstall
from tiktok_adapter.testing import FakeClock, SimulatorServer, TikTokApp

ADVERTISER = "7000000000000000001"
ROUNDS = 6  # 4 calls a round, and one more: twice the Business API's 10 a second
VIDEOS = 8  # more than the 6 inits a minute Content Posting allows one creator


def client(module: str) -> Any:
    """``module`` of a client package; skipped where it is not installed, unless the
    environment requires the clients (tox -e clients), where its absence fails."""
    if os.environ.get("TIKTOK_ADAPTER_REQUIRE_CLIENTS"):
        return importlib.import_module(module)
    return pytest.importorskip(module)


@pytest.fixture(autouse=True)
def loggers_as_they_were() -> Iterator[None]:
    # Importing tiktok-gmvmax-mcp's server calls logging.basicConfig(level=INFO), and
    # tiktok-studio-mcp gives its own logger a handler: put the process's logging back.
    names = ("", "tiktok_mcp")
    loggers = [logging.getLogger(name) for name in names]
    saved = [(lg, lg.level, list(lg.handlers)) for lg in loggers]
    yield
    for lg, level, handlers in saved:
        lg.setLevel(level)
        lg.handlers[:] = handlers


@pytest.fixture(autouse=True)
def nothing_installed_after() -> Iterator[None]:
    yield
    if installed() is not None:
        uninstall()


# -- tiktok-gmvmax-mcp: the Business API, an httpx.AsyncClient per request ---------------


@pytest.fixture
def ads(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The package's tools module; its client reads its credentials from the environment."""
    monkeypatch.setenv("TIKTOK_APP_ID", "app")
    monkeypatch.setenv("TIKTOK_SECRET", "secret")
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", "act.business")
    for name in ("TIKTOK_ACCESS_TOKEN_2", "TIKTOK_SANDBOX", "TIKTOK_ADS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return client("tiktok_ads_mcp.tools")


@pytest.fixture
def business(clock: FakeClock) -> Iterator[SimulatorServer]:
    with SimulatorServer(TikTokApp(clock=clock, preset="business")) as running:
        yield running


def ads_client(server: SimulatorServer) -> Any:
    from tiktok_ads_mcp.client import TikTokAdsClient

    client = TikTokAdsClient()
    client.base_url = server.url + "open_api"  # its default is TikTok's Business host
    return client


async def ads_workload(tools: Any, client: Any) -> list[Any]:
    """What the MCP server's tools do for an assistant: every result, in order."""
    results: list[Any] = []
    for _ in range(ROUNDS):
        results += await asyncio.gather(
            tools.get_campaigns(client, advertiser_id=ADVERTISER),
            tools.get_ad_groups(client, advertiser_id=ADVERTISER),
            tools.get_ads(client, advertiser_id=ADVERTISER),
            tools.get_reports(
                client, advertiser_id=ADVERTISER, dimensions=["campaign_id"],
                metrics=["spend", "impressions"], start_date="2023-11-01", end_date="2023-11-07",
            ),
        )  # fmt: skip
    results.append(await tools.get_authorized_ad_accounts(client))
    return results


def test_gmvmax_mcp_is_clean_with_install(
    ads: Any, business: SimulatorServer, clock: FakeClock
) -> None:
    client = ads_client(business)
    with install(preset="business", base_url=business.url, clock=clock) as adapter:
        results = asyncio.run(ads_workload(ads, client))
        sent = adapter.stats().total.sent
    calls = 4 * ROUNDS + 1
    assert len(results) == calls  # the client raises on any code but 0
    assert business.app.count(refused=True) == 0
    assert len(business.app.requests) == calls  # nothing lost, nothing sent twice
    assert sent == calls
    assert clock.now() - business.app.requests[0].time >= 2  # 25 calls at 10 a second
    # Every round got the same data as the first.
    assert results[:-1] == results[:4] * ROUNDS
    campaigns, adgroups, ads_, report = results[:4]
    assert campaigns and adgroups and ads_ and report["list"]
    assert {c["advertiser_id"] for c in campaigns} == {ADVERTISER}


def test_gmvmax_mcp_is_refused_without_install(
    ads: Any, business: SimulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Refused (code 40100), the client backs off for real seconds (1 to 3, then more)
    # before it asks again: the test stops it there, in its first back-off.
    client = ads_client(business)

    def backing_off() -> bool:
        return any("TikTokRateLimitError" in r.getMessage() for r in caplog.records)

    async def unprotected() -> bool:
        work = asyncio.ensure_future(ads_workload(ads, client))
        while not work.done() and not backing_off():
            await asyncio.sleep(0.005)
        finished = work.done()
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        return finished

    with caplog.at_level(logging.WARNING, logger="mcp_retry"):
        finished = asyncio.run(unprotected())
    assert not finished
    assert backing_off()
    assert business.app.count(refused=True) >= 1  # the app's 10 a second, spent
    refused = [r for r in business.app.requests if r.refused]
    assert all(r.status == 200 for r in refused)  # refused as the Business API refuses


# -- tiktok-studio-mcp: Content Posting through urllib.request ---------------------------


@pytest.fixture
def posting(clock: FakeClock) -> Iterator[SimulatorServer]:
    with SimulatorServer(TikTokApp(clock=clock, preset="content-posting")) as running:
        yield running


@pytest.fixture
def studio(posting: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The MCP app of tiktok-studio-mcp, holding the credentials its `auth` step stores."""
    client_module = client("tiktok_mcp.client")
    client("mcp")
    from tiktok_mcp.secrets import FileStore
    from tiktok_mcp.server import build_app

    # Where TikTok is, the client's only setting for it: module constants.
    api = posting.url.rstrip("/")
    monkeypatch.setattr(client_module, "API", api)
    monkeypatch.setattr(client_module, "TOKEN_URL", f"{api}/v2/oauth/token/")
    monkeypatch.delenv("TIKTOK_MCP_MODE", raising=False)  # its default: upload (drafts)
    # A creator's grant, as the simulator issues it (the client's `auth` command does this).
    grant = requests.post(f"{api}/v2/oauth/token/", data={
        "client_key": "key", "client_secret": "secret", "grant_type": "authorization_code",
        "code": "creator", "redirect_uri": "https://example.com/callback",
    }).json()  # fmt: skip
    store = FileStore(tmp_path / "credentials.json")
    store.set("client_key", "key")
    store.set("client_secret", "secret")
    store.set("refresh_token", grant["refresh_token"])
    return build_app(client_module.TikTok(store=store))


def tool(app: Any, name: str, **arguments: Any) -> dict[str, Any]:
    """One tool called in process, as an assistant's call reaches it; its JSON answer."""
    result = asyncio.run(app.call_tool(name, arguments))
    content = result[0] if isinstance(result, tuple) else result  # (content, structured)
    answer: dict[str, Any] = json.loads(content[0].text)
    return answer


def post_videos(app: Any, folder: Path) -> list[dict[str, Any]]:
    posted = []
    for n in range(VIDEOS):
        video = folder / f"clip{n}.mp4"
        video.write_bytes(bytes([n]) * (1000 + n))  # under 5 MB: one whole chunk
        posted.append(tool(app, "post_video", file_path=str(video), caption=f"clip {n}"))
    return posted


def test_studio_mcp_is_clean_with_install(
    studio: Any, posting: SimulatorServer, clock: FakeClock, tmp_path: Path
) -> None:
    with install(preset="content-posting", base_url=posting.url, clock=clock) as adapter:
        health = tool(studio, "health_check")
        posted = post_videos(studio, tmp_path)
        clock.advance(30)  # TikTok takes the uploads in; the creator finishes in the app
        statuses = [tool(studio, "post_status", publish_id=p["publish_id"]) for p in posted]
        sent = adapter.stats().total.sent
    assert health["auth"] == "ok" and health["mode"] == "upload"
    assert all(p["chunks_sent"] == 1 for p in posted)
    assert [s["data"]["status"] for s in statuses] == ["SEND_TO_USER_INBOX"] * VIDEOS
    assert [s["data"]["uploaded_bytes"] for s in statuses] == [1000 + n for n in range(VIDEOS)]
    app = posting.app
    assert app.count(refused=True) == 0
    assert app.count("/post/publish/inbox/video/init/") == VIDEOS
    assert [r.status for r in app.requests if r.path == "/upload/video/"] == [201] * VIDEOS
    assert sent == len(app.requests) - 1  # all but the token exchange the fixture made
    inits = [r.time for r in app.requests if r.path == "/v2/post/publish/inbox/video/init/"]
    assert inits[6] - inits[0] >= 60  # the 7th init waited for the minute to pass


def test_studio_mcp_is_refused_without_install(
    studio: Any, posting: SimulatorServer, tmp_path: Path
) -> None:
    from mcp.server.fastmcp.exceptions import ToolError

    with pytest.raises(ToolError, match="rate limit"):
        post_videos(studio, tmp_path)
    assert posting.app.count(refused=True) == 1  # the 7th init of the minute: 429
    assert posting.app.count("/upload/video/", 201) == 6
