"""A late answer moves the entries Redis stamped, however long the command took to get there.

An admission delayed on its way to Redis is stamped by Redis that much later than the
adapter's reading before asking. Its entries must still be the ones a late answer moves:
the adapter keeps the stamp the admission script gave (``Admission.stamp``) and moves
exactly it, not whatever lies near "that long before now" on Redis's clock.

Real wire: a TCP proxy that holds bytes in front of a private redis-server, and a
loopback server that notes when each request arrives.
"""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import requests

from tiktok_adapter import mount
from tiktok_adapter.core.rates import parse_rates
from tiktok_adapter.core.routes import Route
from tiktok_adapter.core.windows import StorageError, Window
from tiktok_adapter.engine.late import LateAnswers
from tiktok_adapter.engine.steps import ADMISSION
from tiktok_adapter.httpx import AsyncTikTokTransport
from tiktok_adapter.storage import open_store
from tiktok_adapter.storage._redis_async import AsyncRedisStore, AsyncShared
from tiktok_adapter.storage.fallback import FallbackStore
from tiktok_adapter.testing import FakeClock

pytestmark = pytest.mark.redis

# The delay each way on the wire to Redis while the first admission is asked: Redis
# stamps it DELAY after the adapter asked, and its reply comes DELAY later still, so the
# request reaches the server DELAY after its stamp.
DELAY = 0.3
PERIOD = 1.0


class DelayingProxy:
    """Forwards TCP to ``target``, holding every chunk ``delay`` seconds (read when the
    chunk comes in, so setting it to 0 lets later chunks through at once, in order)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.delay = 0.0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = [self._listener]
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self._sockets += [client, server]
            for src, dst in ((client, server), (server, client)):
                held: queue.Queue[tuple[float, bytes]] = queue.Queue()
                threading.Thread(target=self._read, args=(src, held), daemon=True).start()
                threading.Thread(target=self._write, args=(dst, held), daemon=True).start()

    def _read(self, src: socket.socket, held: queue.Queue[tuple[float, bytes]]) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            held.put((time.monotonic() + self.delay, data))
            if not data:
                return

    def _write(self, dst: socket.socket, held: queue.Queue[tuple[float, bytes]]) -> None:
        while True:
            due, data = held.get()
            time.sleep(max(due - time.monotonic(), 0.0))
            if not data:
                break
            try:
                dst.sendall(data)
            except OSError:
                break
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        self._closed.set()
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass


class Arrivals(BaseHTTPRequestHandler):
    """Notes when each request arrives; the first arrival ends the proxy's delay, so
    that the late answer's move reaches Redis at once (the delay was jitter)."""

    arrivals: list[float]
    proxy: DelayingProxy

    def do_GET(self) -> None:
        self.arrivals.append(time.monotonic())
        self.proxy.delay = 0.0
        body = b'{"data": {}, "error": {"code": "ok", "message": "", "log_id": "x"}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy(redis_url: str) -> Iterator[DelayingProxy]:
    host_port = redis_url.split("://", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    started = DelayingProxy((host, int(port)))
    yield started
    started.close()


@pytest.fixture
def api(proxy: DelayingProxy) -> Iterator[tuple[str, type[Arrivals]]]:
    handler = type("Handler", (Arrivals,), {"arrivals": [], "proxy": proxy})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll: shutdown() waits for the loop's next look, 0.5 s by default.
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", handler
    server.shutdown()
    server.server_close()


def _options(uri: str, prefix: str) -> dict[str, Any]:
    # Redis's clock (the default): the case where the adapter cannot know the stamp.
    return {
        "storage_uri": uri,
        "key_prefix": prefix,
        "app_limit": None,
        "limits": {"/bench/": "1/second", "/warm/": "100/second"},
        "default_priority": "critical",
    }


def _first_through_delay(transport: str, base: str, uri: str, prefix: str,
                         proxy: DelayingProxy) -> None:  # fmt: skip
    """One request whose admission is delayed DELAY each way on the wire to Redis, through
    the sync (requests) or the async (httpx) transport. A first request on another
    endpoint opens the connection, loads the scripts and makes first contact."""
    if transport == "requests":
        with requests.Session() as session:
            adapter = mount(session, base_url=base, **_options(uri, prefix))
            assert session.get(base + "v2/warm/").status_code == 200
            proxy.delay = DELAY
            assert session.get(base + "v2/bench/").status_code == 200
            adapter.close()
        return

    async def run() -> None:
        limited = AsyncTikTokTransport(**_options(uri, prefix))
        async with httpx.AsyncClient(transport=limited) as http:
            assert (await http.get(base + "v2/warm/")).status_code == 200
            proxy.delay = DELAY
            # The answer waits for the move, which runs off the loop.
            assert (await http.get(base + "v2/bench/")).status_code == 200

    asyncio.run(run())


@pytest.mark.beside  # waits on real time: run beside the others (tests/beside.py)
@pytest.mark.parametrize("transport", ["requests", "httpx-async"])
def test_a_delayed_admission_moves_its_own_entry(
    transport: str, redis_url: str, key_prefix: str, proxy: DelayingProxy,
    api: tuple[str, type[Arrivals]],
) -> None:  # fmt: skip
    base, handler = api
    via_proxy = f"redis://127.0.0.1:{proxy.port}/0"
    _first_through_delay(transport, base, via_proxy, key_prefix, proxy)
    first = handler.arrivals[-1]
    # Another worker, straight to Redis, sends on the same endpoint.
    with requests.Session() as session:
        mount(session, base_url=base, **_options(redis_url, key_prefix))
        assert session.get(base + "v2/bench/").status_code == 200
    second = handler.arrivals[-1]
    # The first reached the server DELAY after Redis stamped it and answered late; its
    # entry moved by that, so the second cannot arrive within a period of it. (Moving an
    # entry near "that long ago", which Redis stamped DELAY later, moved nothing: the
    # second came PERIOD - DELAY + the margin after the first.)
    assert second - first >= PERIOD


# -- a failover: the request is counted when the fallback admits it -------------------------


class _TimesOut:
    """An async shared store that fails after a timeout (on the fake clock)."""

    use_storage_time = False

    def __init__(self, clock: FakeClock, seconds: float) -> None:
        self.clock, self.seconds = clock, seconds

    async def acquire(self, *args: object) -> object:
        self.clock.advance(self.seconds)
        raise StorageError("timed out")


def test_async_failover_counts_the_request_when_the_fallback_admits_it(
    redis_url: str, key_prefix: str
) -> None:
    clock = FakeClock()
    store = open_store(redis_url, key_prefix=key_prefix, margin=0.0, use_storage_time=False,
                       clock=clock)  # fmt: skip
    assert isinstance(store, FallbackStore)
    store.stop_heartbeat()
    shared = AsyncShared(store, AsyncRedisStore(redis_url, key_prefix=key_prefix, margin=0.0,
                                                use_storage_time=False))  # fmt: skip
    shared.primary = _TimesOut(clock, 1.0)  # type: ignore[assignment]
    windows = (Window("late", parse_rates("2/second", "limits")[0]),)
    asked = clock.now()
    verdict = asyncio.run(shared.acquire(windows, (), asked))
    store.stop_heartbeat()
    assert verdict.admitted and verdict.at == clock.now() == asked + 1.0
    # The admitter keeps the verdict; the answer comes back 0.5 s late (the usual time is
    # still 0) and the move looks for the entry where the fallback counted it.
    ADMISSION.set((store, windows, asked, verdict))
    late = LateAnswers(store, clock, margin=0.0)
    clock.advance(0.5)
    move = late.after(Route("/late/", True, windows, ()), clock.now())
    assert move is not None and move.shift == pytest.approx(0.5)
    move()
    assert store.fallback.entries(windows[0], clock.now()) == [pytest.approx(asked + 1.5)]
    store.close()
