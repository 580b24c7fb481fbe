"""install() keeps an httpx client's environment proxies (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY,
NO_PROXY, read when ``trust_env`` is true): a client built under install() goes where the
same client goes without it. httpx reads them only for a client built without
``transport=``, and install() always gives one, so install() reads them itself.

Each case runs plain and installed, against a recording proxy and a recording site on
loopback; the expected routes are written by hand from httpx's rules."""

from __future__ import annotations

import asyncio
import inspect
import os
import re
import socket
from collections.abc import Iterator

import httpx
import pytest
from recording_server import BODY, Recorder

from tiktok_adapter import TikTokAdapter, install, installed, uninstall
from tiktok_adapter.testing import FakeClock

LIMITS = {"/user/info/": "3/minute"}
CALLS = 5  # two over the minute's limit
TIKTOK = "http://open.tiktokapis.com/v2/user/info/?fields=open_id"  # plain http: the proxy answers
UNREACHABLE = "unreachable"  # a name that never resolves, reached directly

BEFORE = (httpx.Client.__init__, httpx.AsyncClient.__init__)
# How httpx reads NO_PROXY (its get_environment_proxies): from 0.24.1 an IP address or
# localhost as itself (before, as a domain), from 0.26 an entry with a scheme as a pattern.
HTTPX = tuple(int(part) for part in re.findall(r"\d+", httpx.__version__)[:3])
ADDRESSES, PATTERNS = HTTPX >= (0, 24, 1), HTTPX >= (0, 26)
proxy_keyword = pytest.mark.skipif(
    "proxy" not in inspect.signature(httpx.Client.__init__).parameters,
    reason="httpx before 0.26 has no proxy=",
)


@pytest.fixture
def proxy() -> Iterator[Recorder]:
    running = Recorder()
    yield running
    running.stop()


@pytest.fixture
def site() -> Iterator[Recorder]:
    running = Recorder()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the proxies each test sets: none of the machine's (lower case wins in urllib)."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name == "REQUEST_METHOD":
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def nothing_installed_after() -> Iterator[None]:
    yield
    if installed() is not None:
        uninstall()
    assert (httpx.Client.__init__, httpx.AsyncClient.__init__) == BEFORE


@pytest.fixture(params=[False, True], ids=["plain", "installed"])
def adapter(request: pytest.FixtureRequest, clock: FakeClock) -> TikTokAdapter | None:
    """None for a plain run, the installed adapter for one under install()."""
    if not request.param:
        return None
    install(clock=clock, limits=LIMITS, on_limit="raise")  # uninstalled after the test
    return installed()


def get(url: str, **client: object) -> str:
    """GET ``url`` with a client built from ``client``: its body's first bytes, or
    UNREACHABLE when it went straight to a name that does not resolve."""
    with httpx.Client(**client) as made:  # type: ignore[arg-type]
        try:
            return made.get(url).text[:9]
        except httpx.ConnectError:
            return UNREACHABLE


def test_a_host_goes_through_the_environments_proxy(
    adapter: TikTokAdapter | None, monkeypatch: pytest.MonkeyPatch, proxy: Recorder, site: Recorder
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    for url in ("http://example.org/a", site.url + "/b"):
        assert get(url) == '{"data": '
    assert proxy.seen == ["http://example.org/a", site.url + "/b"]
    assert site.seen == []


@pytest.mark.parametrize("name", ["HTTP_PROXY", "ALL_PROXY", "http_proxy"])
def test_each_spelling_of_an_http_proxy(
    name: str,
    adapter: TikTokAdapter | None,
    monkeypatch: pytest.MonkeyPatch,
    proxy: Recorder,
) -> None:
    monkeypatch.setenv(name, f"127.0.0.1:{proxy.port}")  # no scheme: http://
    assert get("http://example.org/") == '{"data": '
    assert proxy.seen == ["http://example.org/"]


def test_an_https_proxy_is_for_https_urls_only(
    adapter: TikTokAdapter | None, monkeypatch: pytest.MonkeyPatch, proxy: Recorder, site: Recorder
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    with pytest.raises(httpx.ProxyError):  # the recording proxy refuses the tunnel
        get("https://example.org/")
    assert get(site.url + "/plain") == '{"data": '
    assert proxy.seen == ["CONNECT example.org:443"]
    assert site.seen == ["/plain"]


@pytest.mark.parametrize(
    ("no_proxy", "host", "direct"),
    [
        ("127.0.0.1", "127.0.0.1", True),
        ("localhost", "localhost", True),
        pytest.param(
            "localhost",
            "sub.localhost",  # localhost alone, not as a domain
            False,
            marks=pytest.mark.skipif(not ADDRESSES, reason="httpx < 0.24.1: a domain"),
        ),
        ("example.org, 127.0.0.1 ,", "127.0.0.1", True),
        ("http://127.0.0.1", "127.0.0.1", PATTERNS),  # a scheme: that pattern as it is
        ("https://127.0.0.1", "127.0.0.1", False),
        ("*", "127.0.0.1", True),
        ("example.org,*", "127.0.0.1", True),
        ("127.0.0.0/8", "127.0.0.1", False),  # httpx reads the address, not the network
        ("127.0.0.2", "127.0.0.1", False),
        ("invalid", "example.invalid", True),  # a domain: it and its subdomains
        (".invalid", "example.invalid", True),
        ("example.invalid", "example.invalid", True),
        ("example.invalid", "wwwexample.invalid", False),
        ("other.invalid", "example.invalid", False),
    ],
)
def test_no_proxy_hosts_go_direct(
    no_proxy: str,
    host: str,
    direct: bool,
    adapter: TikTokAdapter | None,
    monkeypatch: pytest.MonkeyPatch,
    proxy: Recorder,
    site: Recorder,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    url = f"http://{host}:{site.port}/x"
    answer = get(url)
    if not direct:
        assert (answer, proxy.seen, site.seen) == ('{"data": ', [url], [])
    elif host.endswith(".invalid"):  # sent straight to a name that does not resolve
        assert (answer, proxy.seen, site.seen) == (UNREACHABLE, [], [])
    else:
        assert (answer, proxy.seen, site.seen) == ('{"data": ', [], ["/x"])


def test_an_ipv6_no_proxy_host_goes_direct(
    adapter: TikTokAdapter | None, monkeypatch: pytest.MonkeyPatch, proxy: Recorder
) -> None:
    try:
        site = Recorder(socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback")
    try:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "::1")
        if ADDRESSES:
            assert get(site.url + "/six") == '{"data": '
        else:  # httpx < 0.24.1 reads "::1" as a domain: "all://*::1", not a URL
            with pytest.raises(httpx.InvalidURL):
                get(site.url + "/six")
    finally:
        site.stop()
    assert (proxy.seen, site.seen) == ([], ["/six"] if ADDRESSES else [])


def test_tiktok_calls_go_through_the_proxy_and_the_limiter(
    adapter: TikTokAdapter | None,
    monkeypatch: pytest.MonkeyPatch,
    proxy: Recorder,
    clock: FakeClock,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "example.org")
    answers = [get(TIKTOK) for _ in range(3)]
    with httpx.Client() as client:
        if adapter is None:
            answers += [client.get(TIKTOK).text[:9] for _ in range(CALLS - 3)]
        else:
            for _ in range(CALLS - 3):
                with pytest.raises(httpx.HTTPError):  # over the limit: refused, not sent
                    client.get(TIKTOK)
            assert adapter.stats().total.sent == 3
    assert answers == ['{"data": '] * len(answers)
    assert proxy.seen == [TIKTOK] * len(answers)


def test_an_async_client_keeps_the_environments_proxies(
    monkeypatch: pytest.MonkeyPatch, proxy: Recorder, site: Recorder, clock: FakeClock
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")

    async def calls() -> None:
        async with httpx.AsyncClient() as client:
            for url in [TIKTOK] * CALLS + [site.url + "/direct"]:
                assert (await client.get(url)).status_code == 200

    asyncio.run(calls())
    with install(clock=clock, limits=LIMITS) as adapter:
        asyncio.run(calls())  # the 4th and 5th TikTok calls wait for the next minute
        sent = adapter.stats().total.sent
    assert proxy.seen == [TIKTOK] * CALLS * 2
    assert site.seen == ["/direct"] * 2
    assert sent == CALLS
    assert clock.now() >= 60


def test_trust_env_false_ignores_the_environment(
    adapter: TikTokAdapter | None, monkeypatch: pytest.MonkeyPatch, proxy: Recorder, site: Recorder
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("ALL_PROXY", proxy.url)
    assert get(site.url + "/own", trust_env=False) == '{"data": '
    assert get("http://example.invalid/", trust_env=False) == UNREACHABLE
    assert (proxy.seen, site.seen) == ([], ["/own"])


def test_a_clients_own_transport_ignores_the_environment(
    adapter: TikTokAdapter | None, monkeypatch: pytest.MonkeyPatch, proxy: Recorder
) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=BODY)

    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    assert get("http://example.org/", transport=httpx.MockTransport(answer)) == '{"data": '
    assert (proxy.seen, seen) == ([], ["http://example.org/"])


def test_the_clients_mounts_win_over_the_environments(
    adapter: TikTokAdapter | None, monkeypatch: pytest.MonkeyPatch, proxy: Recorder, site: Recorder
) -> None:
    # A mount of the client's own on the pattern of an environment proxy replaces it; a
    # mount of None sends its host to the client's transport, past the proxy; the
    # environment's proxy still serves the rest.
    mocked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        mocked.append(str(request.url))
        return httpx.Response(200, content=BODY)

    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    mounts = {"https://": httpx.MockTransport(answer), "all://127.0.0.1": None}
    for url in ("https://example.org/m", site.url + "/none", "http://example.org/p"):
        assert get(url, mounts=mounts) == '{"data": '
    assert mocked == ["https://example.org/m"]
    assert site.seen == ["/none"]
    assert proxy.seen == ["http://example.org/p"]


@proxy_keyword
def test_an_explicit_proxy_wins_over_the_environments(
    adapter: TikTokAdapter | None, monkeypatch: pytest.MonkeyPatch, proxy: Recorder, site: Recorder
) -> None:
    monkeypatch.setenv("HTTP_PROXY", site.url)  # site stands for the environment's proxy
    monkeypatch.setenv("NO_PROXY", "example.org")
    assert get("http://example.org/", proxy=proxy.url) == '{"data": '
    assert (proxy.seen, site.seen) == (["http://example.org/"], [])


def test_an_environment_proxy_gets_the_clients_transport_options(
    adapter: TikTokAdapter | None, monkeypatch: pytest.MonkeyPatch, proxy: Recorder
) -> None:
    # limits= reaches the proxy's transport as httpx gives it: with one connection, held
    # by an open response, a second request finds no connection in the pool.
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    one = httpx.Limits(max_connections=1)
    with httpx.Client(limits=one, timeout=httpx.Timeout(5.0, pool=0.01)) as client:
        with client.stream("GET", "http://example.org/held"), pytest.raises(httpx.PoolTimeout):
            client.get("http://example.org/waits")
        assert client.get("http://example.org/after").status_code == 200
    assert proxy.seen == ["http://example.org/held", "http://example.org/after"]
