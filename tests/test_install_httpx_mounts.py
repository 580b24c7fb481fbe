"""install() limits an httpx client's TikTok calls whichever transport the client routes
them to: a transport of its ``mounts=``, or the proxy of its ``proxy=``. The real httpx,
against ``httpx.MockTransport`` mounts and a recording proxy on loopback."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator

import httpx
import pytest
from recording_server import BODY, Recorder

from tiktok_adapter import install, installed, uninstall
from tiktok_adapter.testing import FakeClock

LIMITS = {"/user/info/": "3/minute"}
CALLS = 5  # two over the minute's limit
TIKTOK = "https://open.tiktokapis.com"
URL = TIKTOK + "/v2/user/info/?fields=open_id"
OTHER = "https://example.org"

BEFORE = (httpx.Client.__init__, httpx.AsyncClient.__init__)
proxy_keyword = pytest.mark.skipif(
    "proxy" not in inspect.signature(httpx.Client.__init__).parameters,
    reason="httpx before 0.26 has no proxy=",
)


class Counting(httpx.MockTransport):
    """A mock transport that answers 200 and keeps the URLs it was sent."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.closed = False
        super().__init__(self.answer)

    def close(self) -> None:
        self.closed = True

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return httpx.Response(200, content=BODY, headers={"Content-Type": "application/json"})


@pytest.fixture
def proxy() -> Iterator[Recorder]:
    running = Recorder()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def nothing_installed_after() -> Iterator[None]:
    yield
    if installed() is not None:
        uninstall()
    assert (httpx.Client.__init__, httpx.AsyncClient.__init__) == BEFORE


def test_a_mounted_transport_sends_tiktok_calls_through_the_limiter(clock: FakeClock) -> None:
    mock = Counting()
    with install(clock=clock, limits=LIMITS) as adapter:
        with httpx.Client(mounts={TIKTOK: mock}) as client:
            statuses = [client.get(URL).status_code for _ in range(CALLS)]
        stats = adapter.stats()
    assert statuses == [200] * CALLS
    assert mock.urls == [URL] * CALLS
    assert stats.total.sent == CALLS
    assert clock.now() >= 60  # the 4th and 5th waited for the next minute


def test_a_mounted_transport_raises_over_the_limit(clock: FakeClock) -> None:
    mock = Counting()
    with (
        install(clock=clock, limits=LIMITS, on_limit="raise"),
        httpx.Client(mounts={"all://open.tiktokapis.com": mock}) as client,
    ):
        for _ in range(3):
            client.get(URL)
        for _ in range(CALLS - 3):
            with pytest.raises(httpx.HTTPError):
                client.get(URL)
    assert len(mock.urls) == 3  # the refused calls never reached the mount


def test_an_async_clients_mounted_transport_is_limited(clock: FakeClock) -> None:
    mock = Counting()

    async def calls() -> list[int]:
        async with httpx.AsyncClient(mounts={TIKTOK: mock}) as client:
            statuses = []
            for _ in range(CALLS):
                try:
                    statuses.append((await client.get(URL)).status_code)
                except httpx.HTTPError:
                    statuses.append(0)
            return statuses

    with install(clock=clock, limits=LIMITS, on_limit="raise"):
        statuses = asyncio.run(calls())
    assert statuses == [200, 200, 200, 0, 0]
    assert len(mock.urls) == 3


def test_uninstalled_a_mounted_transport_is_plain_again(clock: FakeClock) -> None:
    with install(clock=clock, limits=LIMITS, on_limit="raise") as adapter:
        pass
    mock = Counting()
    with httpx.Client(mounts={TIKTOK: mock}) as client:
        statuses = [client.get(URL).status_code for _ in range(CALLS)]
    assert statuses == [200] * CALLS
    assert len(mock.urls) == CALLS
    assert adapter.stats().total.sent == 0


def test_a_mount_for_another_host_is_left_alone(clock: FakeClock) -> None:
    mock, tiktok = Counting(), Counting()
    other = OTHER + "/v2/user/info/?fields=open_id"
    with install(clock=clock, limits=LIMITS, on_limit="raise") as adapter:
        with httpx.Client(mounts={OTHER: mock}, transport=tiktok) as client:
            replies = [client.get(other) for _ in range(CALLS)]
        sent = adapter.stats().total.sent
    assert [r.status_code for r in replies] == [200] * CALLS
    assert all(r.content == BODY for r in replies)
    assert mock.urls == [other] * CALLS
    assert tiktok.urls == []
    assert sent == 0


def test_a_mount_of_none_still_means_the_clients_transport(clock: FakeClock) -> None:
    # None on TikTok's host: its calls go to transport=, past the "all://" mount.
    everything, tiktok = Counting(), Counting()
    mounts: dict[str, httpx.BaseTransport | None] = {"all://": everything, TIKTOK: None}
    with (
        install(clock=clock, limits=LIMITS, on_limit="raise"),
        httpx.Client(mounts=mounts, transport=tiktok) as client,
    ):
        for _ in range(3):
            client.get(URL)
        with pytest.raises(httpx.HTTPError):
            client.get(URL)
        client.get(OTHER + "/")
    assert len(tiktok.urls) == 3
    assert everything.urls == [OTHER + "/"]


@proxy_keyword
def test_a_proxy_sends_tiktok_calls_through_the_limiter(proxy: Recorder, clock: FakeClock) -> None:
    url = URL.replace("https://", "http://")  # plain http: the proxy answers it itself
    with (
        install(clock=clock, limits=LIMITS, on_limit="raise"),
        httpx.Client(proxy=proxy.url) as client,
    ):
        for _ in range(3):
            assert client.get(url).status_code == 200
        for _ in range(CALLS - 3):
            with pytest.raises(httpx.HTTPError):
                client.get(url)
    assert proxy.seen == [url] * 3


@proxy_keyword
def test_an_async_clients_proxy_is_limited(proxy: Recorder, clock: FakeClock) -> None:
    url = URL.replace("https://", "http://")

    async def calls() -> None:
        async with httpx.AsyncClient(proxy=proxy.url) as client:
            for _ in range(CALLS):
                await client.get(url)

    with install(clock=clock, limits=LIMITS) as adapter:
        asyncio.run(calls())
        sent = adapter.stats().total.sent
    assert proxy.seen == [url] * CALLS
    assert sent == CALLS
    assert clock.now() >= 60


@proxy_keyword
@pytest.mark.parametrize("installed_now", [False, True], ids=["plain", "installed"])
def test_a_proxy_routes_as_httpx_routes_it(
    installed_now: bool, proxy: Recorder, clock: FakeClock
) -> None:
    # httpx sends everything through proxy=, even past transport=; a mount of the client's
    # own wins over the proxy for its pattern, and a mount of None sends its pattern to
    # transport=, not to the proxy; closing the client closes transport= too. The same with
    # install() as without.
    own, mounted = Counting(), Counting()
    tiktok, other, kept, direct = (
        URL.replace("https://", "http://"),
        "http://example.org/",
        "http://mounted.example/",
        "http://direct.example/",
    )
    mounts = {"all://mounted.example": mounted, "all://direct.example": None}
    if installed_now:
        install(clock=clock, limits=LIMITS)
    with httpx.Client(proxy=proxy.url, transport=own, mounts=mounts) as client:
        for url in (tiktok, other, kept, direct):
            assert client.get(url).status_code == 200
    assert proxy.seen == [tiktok, other]
    assert own.urls == [direct]
    assert mounted.urls == [kept]
    assert own.closed and mounted.closed
    if installed_now:
        assert installed().stats().total.sent == 1  # type: ignore[union-attr]
