"""Closing what install() hands out: a Session or an AsyncClient closed (``requests.get()``
closes one on every call) leaves the shared adapter open for the rest of the process, its
pooled connections and its place in a Redis fleet; ``uninstall()`` closes the adapter that
``install()`` made, and only that one.

The fleet tests run two members on a private redis-server with the fake clock: each beats
by hand, and one reads the other's view of the fleet.
"""

from __future__ import annotations

import asyncio
import copy
import http.server
import threading
from typing import Any

import aiohttp
import httpx
import pytest
import redis
import requests
from conftest import RedisServer, settled_clients
from test_redis_faults import adapter_on

import tiktok_adapter
from tiktok_adapter import TikTokAdapter
from tiktok_adapter.testing import FakeClock, SimulatorServer, TikTokApp

_BODY = b'{"data": {}, "error": {"code": "ok", "message": ""}}'


@pytest.fixture
def server(private_redis: RedisServer) -> RedisServer:
    return private_redis


def _installed_member(server: RedisServer, clock: FakeClock) -> TikTokAdapter:
    """install() with a store on ``server``; its heartbeat is beaten by hand."""
    adapter = tiktok_adapter.install(
        storage_uri=server.url, key_prefix="fleet", clock=clock, storage_time=False,
        app_limit=None, limits={"/user/info/": "10/10seconds"},
    ).adapter  # fmt: skip
    adapter.store.stop_heartbeat()
    return adapter


def _two_members(server: RedisServer, clock: FakeClock) -> list[TikTokAdapter]:
    """Two adapters of one fleet on ``server``, beaten by hand until each has seen the other."""
    members = [adapter_on(server.url, "fleet", clock) for _ in range(2)]
    for member in members:
        member.store.stop_heartbeat()
    _settle(*members)
    return members


def _settle(*members: TikTokAdapter) -> None:
    for _ in range(2):  # twice: each has then seen the other
        for member in members:
            member.store.beat()


@pytest.mark.redis
def test_closing_sessions_under_install_keeps_the_process_in_the_fleet(
    server: RedisServer, clock: FakeClock
) -> None:
    other = adapter_on(server.url, "fleet", clock)
    other.store.stop_heartbeat()
    try:
        ours = _installed_member(server, clock)
        _settle(ours, other)
        assert other.store.view.size == 2
        requests.Session().close()  # what every requests.get() does
        with requests.Session():
            pass
        other.store.beat()  # ours does not beat again: a member that left would not count
        assert other.store.view.size == 2
    finally:
        tiktok_adapter.uninstall()
    # install() made it: uninstall() closes it, and the fleet hears it left.
    other.store.beat()
    assert other.store.view.size == 1


@pytest.mark.redis
def test_uninstall_leaves_an_adapter_it_was_given_open(
    server: RedisServer, clock: FakeClock
) -> None:
    members = _two_members(server, clock)
    with tiktok_adapter.install(members[1]):
        requests.Session().close()
    members[0].store.beat()
    assert members[0].store.view.size == 2
    members[1].close()  # closed by its owner: now it leaves
    members[0].store.beat()
    assert members[0].store.view.size == 1


@pytest.mark.redis
def test_closing_an_async_client_under_install_keeps_the_process_in_the_fleet(
    server: RedisServer, clock: FakeClock
) -> None:
    other = adapter_on(server.url, "fleet", clock)
    other.store.stop_heartbeat()

    async def open_and_close() -> None:
        async with httpx.AsyncClient():
            pass
        await httpx.AsyncClient().aclose()

    try:
        ours = _installed_member(server, clock)
        _settle(ours, other)
        asyncio.run(open_and_close())
        other.store.beat()
        assert other.store.view.size == 2
    finally:
        tiktok_adapter.uninstall()


class _Ports:
    """A keep-alive loopback server that notes the client port of every request."""

    def __init__(self) -> None:
        ports = self.ports = list[int]()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                ports.append(self.client_address[1])
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(_BODY)))
                self.end_headers()
                self.wfile.write(_BODY)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()


def test_requests_get_under_install_keeps_the_other_sessions_connections() -> None:
    site = _Ports()
    url = site.url + "v2/user/info/"
    try:
        with tiktok_adapter.install(base_url=site.url), requests.Session() as session:
            session.get(url)
            requests.get(url)  # a Session of its own, closed on return
            session.get(url)
        # One connection served all three: closing requests.get()'s Session did not
        # drop the pool the installed adapter keeps for every Session.
        assert len(site.ports) == 3
        assert len(set(site.ports)) == 1
    finally:
        site.stop()


@pytest.mark.redis
def test_closing_an_aiohttp_session_under_install_closes_its_redis_connections(
    server: RedisServer, clock: FakeClock
) -> None:
    # aiohttp tells no middleware that its session closed: install() closes the async
    # Redis clients of a session's middlewares with the session, rather than leaving
    # their connections open until the garbage collector warns of them.
    watcher = redis.Redis.from_url(server.url)
    with SimulatorServer(TikTokApp(clock=clock)) as site:
        adapter = tiktok_adapter.install(
            base_url=site.url, storage_uri=server.url, key_prefix="aio", clock=clock,
            storage_time=False,
        ).adapter  # fmt: skip
        adapter.store.stop_heartbeat()

        async def one_session() -> tuple[int, int, int]:
            before = settled_clients(watcher)
            async with aiohttp.ClientSession() as session:
                async with session.get(site.url + "v2/user/info/?fields=open_id") as answer:
                    assert answer.status == 200
                    await answer.read()
                during = settled_clients(watcher)
            return before, during, settled_clients(watcher)

        try:
            counts = [asyncio.run(one_session()) for _ in range(3)]
        finally:
            tiktok_adapter.uninstall()
            watcher.close()
    # The first session also opens the shared limiter's own connection (kept for every
    # stack); from then on each session leaves Redis with as many clients as it found.
    for before, during, _ in counts:
        assert during > before  # the session's middleware opened its own
    for before, _, after in counts[1:]:
        assert after == before  # and closing the session closed it


@pytest.mark.redis
def test_closing_a_copy_of_a_session_leaves_its_original_in_the_fleet(
    server: RedisServer, clock: FakeClock
) -> None:
    # copy.deepcopy of a Session copies its adapter, which shares the original's limiter
    # in this process: closing the copy closes its own connections, not the shared store.
    members = _two_members(server, clock)
    session = requests.Session()
    session.mount("https://", members[1])
    copied = copy.deepcopy(session)
    assert copied.get_adapter("https://open.tiktokapis.com/").limiter is members[1].limiter
    copied.close()
    members[0].store.beat()
    assert members[0].store.view.size == 2
    session.close()  # the original's own close: now it leaves
    members[0].store.beat()
    assert members[0].store.view.size == 1
