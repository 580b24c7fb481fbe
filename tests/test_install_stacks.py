"""install() reaches every HTTP stack of the process (requests, urllib3, httpx sync and
async, aiohttp, urllib.request), each with the real library against the simulator on
loopback, through the one installed limiter; uninstall() puts every original back."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import httpx
import pytest
import requests
import urllib3

from tiktok_adapter import install, installed, uninstall
from tiktok_adapter.testing import FakeClock, SimulatorServer, TikTokApp

LIMITS = {"/user/info/": "3/minute"}
CALLS = 7  # more than twice the minute's limit: unlimited, some are refused
PATH = "v2/user/info/?fields=open_id"


def originals() -> dict[str, Any]:
    """Every function install() replaces, as the libraries define them."""
    return {
        "Session.__init__": requests.Session.__init__,
        "HTTPAdapter.send": requests.adapters.HTTPAdapter.send,
        "HTTPConnectionPool.urlopen": urllib3.HTTPConnectionPool.urlopen,
        "Client.__init__": httpx.Client.__init__,
        "AsyncClient.__init__": httpx.AsyncClient.__init__,
        "ClientSession.__init__": aiohttp.ClientSession.__init__,
        "OpenerDirector.open": urllib.request.OpenerDirector.open,
    }


BEFORE = originals()


@pytest.fixture
def app(clock: FakeClock) -> TikTokApp:
    return TikTokApp(clock=clock, limits=LIMITS)


@pytest.fixture
def server(app: TikTokApp) -> Iterator[SimulatorServer]:
    with SimulatorServer(app) as running:
        yield running


@pytest.fixture
def elsewhere(clock: FakeClock) -> Iterator[SimulatorServer]:
    """The same simulator on another host name (localhost): never limited by install()."""
    with SimulatorServer(TikTokApp(clock=clock, limits=LIMITS)) as running:
        yield running


@pytest.fixture(autouse=True)
def nothing_installed_after() -> Iterator[None]:
    yield
    if installed() is not None:
        uninstall()
    assert originals() == BEFORE


def send_requests(url: str) -> int:
    return requests.get(url).status_code


def send_urllib3(url: str) -> int:
    # As TikTok's Business SDK sends: a PoolManager's request().
    return int(urllib3.PoolManager().request("GET", url).status)


def send_httpx(url: str) -> int:
    with httpx.Client() as client:  # a client per request, as an MCP server builds them
        return client.get(url).status_code


def send_httpx_own_transport(url: str) -> int:
    with httpx.Client(transport=httpx.HTTPTransport(retries=0)) as client:
        return client.get(url).status_code


def send_httpx_async(url: str) -> int:
    async def one() -> int:
        async with httpx.AsyncClient() as client:
            return (await client.get(url)).status_code

    return asyncio.run(one())


def send_aiohttp(url: str) -> int:
    async def one() -> int:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            await response.read()
            return response.status

    return asyncio.run(one())


def send_urllib(url: str) -> int:
    try:
        with urllib.request.urlopen(url) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return refused.code


STACKS: dict[str, Callable[[str], int]] = {
    "requests": send_requests,
    "urllib3": send_urllib3,
    "httpx": send_httpx,
    "httpx-own-transport": send_httpx_own_transport,
    "httpx-async": send_httpx_async,
    "aiohttp": send_aiohttp,
    "urllib": send_urllib,
}
stacks = pytest.mark.parametrize("send", STACKS.values(), ids=list(STACKS))


@stacks
def test_installed_every_stack_keeps_the_limit_through_the_shared_limiter(
    send: Callable[[str], int], app: TikTokApp, server: SimulatorServer, clock: FakeClock
) -> None:
    with install(base_url=server.url, clock=clock, limits=LIMITS) as adapter:
        statuses = [send(server.url + PATH) for _ in range(CALLS)]
        sent = adapter.stats().total.sent
    assert statuses == [200] * CALLS
    assert app.count(refused=True) == 0
    assert len(app.requests) == CALLS  # each once: no stack admits or sends twice
    assert sent == CALLS  # every one went through the installed limiter
    assert clock.now() >= 2 * 60 - 1  # 7 calls at 3 a minute span two more minutes


@stacks
def test_uninstalled_every_stack_is_plain_again(
    send: Callable[[str], int], app: TikTokApp, server: SimulatorServer, clock: FakeClock
) -> None:
    with install(base_url=server.url, clock=clock, limits=LIMITS) as adapter:
        assert originals() != BEFORE
    assert originals() == BEFORE  # each original function itself is back
    statuses = [send(server.url + PATH) for _ in range(CALLS)]
    assert statuses.count(429) == CALLS - 3  # the simulator refused what went over
    assert app.count(refused=True) == CALLS - 3
    assert adapter.stats().total.sent == 0


@stacks
def test_other_hosts_are_left_alone(
    send: Callable[[str], int], server: SimulatorServer, elsewhere: SimulatorServer,
    clock: FakeClock,
) -> None:  # fmt: skip
    other = f"http://localhost:{elsewhere.port}/"
    with install(base_url=server.url, clock=clock, limits=LIMITS) as adapter:
        statuses = [send(other + PATH) for _ in range(CALLS)]
        sent = adapter.stats().total.sent
    assert statuses.count(429) == CALLS - 3
    assert elsewhere.app.count(refused=True) == CALLS - 3
    assert sent == 0


def test_all_stacks_share_one_set_of_windows(
    app: TikTokApp, server: SimulatorServer, clock: FakeClock
) -> None:
    # One call from each stack in turn: the 3-a-minute window counts them all together.
    with install(base_url=server.url, clock=clock, limits=LIMITS) as adapter:
        statuses = [send(server.url + PATH) for send in STACKS.values()]
        stats = adapter.stats()
    assert statuses == [200] * len(STACKS)
    assert app.count(refused=True) == 0
    assert stats.total.sent == len(STACKS)
    assert stats.total.waited >= 2  # the stacks waited on each other's calls


def test_a_refusal_raises_each_stacks_own_error(server: SimulatorServer, clock: FakeClock) -> None:
    url = server.url + PATH
    with install(base_url=server.url, clock=clock, limits=LIMITS, on_limit="raise"):
        for _ in range(3):
            send_requests(url)
        with pytest.raises(requests.RequestException):
            send_requests(url)
        with pytest.raises(httpx.HTTPError):
            send_httpx(url)
        with pytest.raises(aiohttp.ClientError):
            send_aiohttp(url)
        with pytest.raises(urllib3.exceptions.HTTPError):
            send_urllib3(url)
        with pytest.raises(urllib.error.URLError):
            send_urllib(url)


def test_a_session_made_before_install_is_limited_underneath(
    app: TikTokApp, server: SimulatorServer, clock: FakeClock
) -> None:
    # Not mounted (it existed before), so its requests reach urllib3's pools unadmitted.
    with requests.Session() as session:
        with install(base_url=server.url, clock=clock, limits=LIMITS) as adapter:
            statuses = [session.get(server.url + PATH).status_code for _ in range(CALLS)]
            sent = adapter.stats().total.sent
    assert statuses == [200] * CALLS
    assert app.count(refused=True) == 0
    assert sent == CALLS
