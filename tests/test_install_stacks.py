"""install() reaches every HTTP stack of the process (requests, urllib3, httpx sync and
async, aiohttp, urllib.request), each with the real library against the simulator on
loopback, through the one installed limiter; uninstall() puts every original back."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
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
# An answer: the status and the body, as the caller reads them.
Reply = tuple[int, bytes]


def originals() -> dict[str, Any]:
    """Every function install() replaces, as the libraries define them."""
    return {
        "Session.__init__": requests.Session.__init__,
        "HTTPAdapter.send": requests.adapters.HTTPAdapter.send,
        "HTTPConnectionPool.urlopen": urllib3.HTTPConnectionPool.urlopen,
        "Client.__init__": httpx.Client.__init__,
        "AsyncClient.__init__": httpx.AsyncClient.__init__,
        "ClientSession.__init__": aiohttp.ClientSession.__init__,
        "ClientSession.close": aiohttp.ClientSession.close,
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


def send_requests(url: str) -> Reply:
    response = requests.get(url)
    return response.status_code, response.content


def send_urllib3(url: str) -> Reply:
    # As TikTok's Business SDK sends: a PoolManager's request().
    response = urllib3.PoolManager().request("GET", url)
    return int(response.status), response.data


def send_httpx(url: str) -> Reply:
    with httpx.Client() as client:  # a client per request, as an MCP server builds them
        response = client.get(url)
        return response.status_code, response.content


def send_httpx_own_transport(url: str) -> Reply:
    with httpx.Client(transport=httpx.HTTPTransport(retries=0)) as client:
        response = client.get(url)
        return response.status_code, response.content


def send_httpx_async(url: str) -> Reply:
    async def one() -> Reply:
        async with httpx.AsyncClient() as client:
            response = await client.get(url)
            return response.status_code, response.content

    return asyncio.run(one())


def send_aiohttp(url: str) -> Reply:
    async def one() -> Reply:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return response.status, await response.read()

    return asyncio.run(one())


def send_urllib(url: str) -> Reply:
    try:
        with urllib.request.urlopen(url) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


STACKS: dict[str, Callable[[str], Reply]] = {
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
    send: Callable[[str], Reply], app: TikTokApp, server: SimulatorServer, clock: FakeClock
) -> None:
    with install(base_url=server.url, clock=clock, limits=LIMITS) as adapter:
        statuses = [send(server.url + PATH)[0] for _ in range(CALLS)]
        sent = adapter.stats().total.sent
    assert statuses == [200] * CALLS
    assert app.count(refused=True) == 0
    assert len(app.requests) == CALLS  # each once: no stack admits or sends twice
    assert sent == CALLS  # every one went through the installed limiter
    assert clock.now() >= 2 * 60 - 1  # 7 calls at 3 a minute span two more minutes


@stacks
def test_uninstalled_every_stack_is_plain_again(
    send: Callable[[str], Reply], app: TikTokApp, server: SimulatorServer, clock: FakeClock
) -> None:
    with install(base_url=server.url, clock=clock, limits=LIMITS) as adapter:
        assert originals() != BEFORE
    assert originals() == BEFORE  # each original function itself is back
    statuses = [send(server.url + PATH)[0] for _ in range(CALLS)]
    assert statuses.count(429) == CALLS - 3  # the simulator refused what went over
    assert app.count(refused=True) == CALLS - 3
    assert adapter.stats().total.sent == 0


@stacks
def test_other_hosts_are_left_alone(
    send: Callable[[str], Reply], server: SimulatorServer, elsewhere: SimulatorServer,
    clock: FakeClock,
) -> None:  # fmt: skip
    other = f"http://localhost:{elsewhere.port}/"
    with install(base_url=server.url, clock=clock, limits=LIMITS) as adapter:
        statuses = [send(other + PATH)[0] for _ in range(CALLS)]
        sent = adapter.stats().total.sent
    assert statuses.count(429) == CALLS - 3
    assert elsewhere.app.count(refused=True) == CALLS - 3
    assert sent == 0


def test_all_stacks_share_one_set_of_windows(
    app: TikTokApp, server: SimulatorServer, clock: FakeClock
) -> None:
    # One call from each stack in turn: the 3-a-minute window counts them all together.
    with install(base_url=server.url, clock=clock, limits=LIMITS) as adapter:
        statuses = [send(server.url + PATH)[0] for send in STACKS.values()]
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
    with requests.Session() as session, install(base_url=server.url, clock=clock,
                                                  limits=LIMITS) as adapter:  # fmt: skip
        statuses = [session.get(server.url + PATH).status_code for _ in range(CALLS)]
        sent = adapter.stats().total.sent
    assert statuses == [200] * CALLS
    assert app.count(refused=True) == 0
    assert sent == CALLS


@stacks
def test_a_refusal_the_limiter_did_not_foresee_is_sent_again(
    send: Callable[[str], Reply], clock: FakeClock
) -> None:
    # The server allows 4 a second where the Business preset expects 10, and
    # refuses with a 200 whose body says 40100: each stack must read that body, wait and
    # send again, so that every call ends with the data.
    # The backoff's jitter is drawn at its lowest every time: even so no re-send may
    # come back inside the server's second (full jitter from 0 did, and calls ended refused).
    app = TikTokApp(clock=clock, preset="business", app_limit="4/second")
    with SimulatorServer(app) as server:
        url = server.url + "open_api/v1.3/campaign/get/?advertiser_id=7000000000000000001"
        with install(preset="business", base_url=server.url, clock=clock,
                     random_source=lambda: 0.0) as adapter:  # fmt: skip
            replies = [send(url) for _ in range(8)]
            stats = adapter.stats().total
    assert [(status, json.loads(body)["code"]) for status, body in replies] == [(200, 0)] * 8
    refused = app.count(refused=True)
    assert refused > 0  # the server did refuse, so the stack had to read the body
    assert len(app.requests) == 8 + refused  # each refused call went again, no other
    assert stats.rate_limited == refused


@stacks
def test_every_stack_shows_the_limiter_the_servers_429s(
    send: Callable[[str], Reply], app: TikTokApp, server: SimulatorServer, clock: FakeClock
) -> None:
    # The server allows 3 a minute where the adapter was told 100: each of its 429s must
    # reach the limiter (counted, and sent again as the retry policy says).
    with install(base_url=server.url, clock=clock, limits={"/user/info/": "100/minute"}) as a:
        replies = [send(server.url + PATH) for _ in range(CALLS)]
        stats = a.stats().total
    refused = app.count(refused=True)
    assert refused > 0
    assert stats.rate_limited == refused
    assert stats.retries > 0  # a refused read is sent again after a pause
    assert len(app.requests) == CALLS + stats.retries  # each resend, and nothing else
    assert [status for status, _ in replies].count(200) >= 3


MISSING = """
import sys

class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {"httpx", "aiohttp"}:
            raise ModuleNotFoundError(f"No module named {name!r}")

sys.meta_path.insert(0, Missing())
import requests, urllib3
import tiktok_adapter

with tiktok_adapter.install() as adapter:
    patched = requests.Session.__init__ is not requests.Session.__init__.__wrapped__
    assert patched and urllib3.HTTPConnectionPool.urlopen.__wrapped__
assert not hasattr(requests.Session.__init__, "__wrapped__")
assert not [m for m in sys.modules if m.partition(".")[0] in {"httpx", "aiohttp"}]
print("skipped: ok")
"""


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_a_stack_whose_library_is_missing_is_skipped() -> None:
    result = subprocess.run([sys.executable, "-c", MISSING], capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "skipped: ok" in result.stdout
