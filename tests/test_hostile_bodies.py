"""Hostile bodies on the wire: compression bombs, trickled and stalled bodies, a redirect
with a broken body, and JSON nested too deeply, through every transport.

A real loopback server sends each answer, so the bounds are the ones a socket sees.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import socketserver
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import requests

from tiktok_adapter import TikTokAdapter, mount
from tiktok_adapter.cache.policy import succeeded, video_id
from tiktok_adapter.core.costs import research
from tiktok_adapter.core.credentials import body_fields, find_token
from tiktok_adapter.core.identity import request_account
from tiktok_adapter.core.refusal import Answer, TikTokRefusals
from tiktok_adapter.httpx import AsyncTikTokTransport, TikTokTransport
from tiktok_adapter.testing import FakeClock

PATH = "/v2/user/info/"
MiB = 1024 * 1024
# A bomb's inflation is far above this; a body read within the cap stays far below it.
GROWTH_LIMIT = 24 * MiB
NESTED = b"[" * 50_000 + b'"rate_limit_exceeded"'
OK = json.dumps({"data": {}, "error": {"code": "ok"}}).encode()


# -- bombs: zeros compressed in a streaming fashion, each within 64 KiB ---------------------


def _zeros(compress: Callable[[bytes], bytes], finish: Callable[[], bytes], mib: int) -> bytes:
    block = bytes(MiB)
    return b"".join(compress(block) for _ in range(mib)) + finish()


@functools.cache
def bomb(coding: str) -> bytes:
    """About 64 KiB or less that inflates to 63 MiB (gzip, deflate) or 1 GiB (br, zstd)."""
    if coding in ("gzip", "deflate"):
        z = zlib.compressobj(9, zlib.DEFLATED, 31 if coding == "gzip" else 15)
        return _zeros(z.compress, z.flush, 63)
    if coding == "br":
        brotli = pytest.importorskip("brotli")
        b = brotli.Compressor(quality=5)
        return _zeros(b.process, b.finish, 1024)
    zstandard = pytest.importorskip("zstandard")
    c = zstandard.ZstdCompressor(level=3).compressobj()
    return _zeros(c.compress, c.flush, 1024)


CODINGS = ["gzip", "deflate", "br", "zstd"]


def _needs(coding: str, kind: str) -> None:
    """Skip a coding the client in use cannot decode (it would not inflate it at all)."""
    if coding == "br":
        pytest.importorskip("brotli")
    if coding == "zstd":
        pytest.importorskip("zstandard")
        if kind == "requests":
            import urllib3

            if urllib3.__version__.startswith("1."):
                pytest.skip("urllib3 1.x does not decode zstd")


# -- the loopback server ----------------------------------------------------------------


# The body deadline the slow-body tests give the transports: short, so that each test
# waits a tenth of a second, not the half second of the default.
DEADLINE = 0.1
# How long the server waits for a client that should have hung up or moved on already: a
# bound on a broken transport, far beyond the deadline, never a measurement.
PATIENCE = 8.0
HUNG_UP: dict[str, bool] = {}
HOLD: dict[str, threading.Event] = {}
LET_GO: dict[str, bool] = {}


class _Handler(socketserver.StreamRequestHandler):
    """One answer per connection, chosen by the query: ``?mode=...`` (see each branch)."""

    def handle(self) -> None:
        first = self.rfile.readline(65537).decode("latin-1")
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass
        query = {k: v[0] for k, v in parse_qs(urlsplit(first.split(" ")[1]).query).items()}
        try:
            getattr(self, "_" + query.get("mode", "ok"))(query)
        except OSError:
            pass  # the client closed the connection: often what a test wants

    def _send(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        lines = [f"HTTP/1.1 {status} X", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        self.wfile.flush()

    def _ok(self, query: dict[str, str]) -> None:
        self._send(200, {"Content-Type": "application/json", "Content-Length": str(len(OK))}, OK)

    def _bomb(self, query: dict[str, str]) -> None:
        data = bomb(query["coding"])
        headers = {"Content-Type": "application/json", "Content-Encoding": query["coding"]}
        self._send(int(query["status"]), {**headers, "Content-Length": str(len(data))}, data)

    def _nested(self, query: dict[str, str]) -> None:
        headers = {"Content-Type": "application/json", "Content-Length": str(len(NESTED))}
        self._send(int(query["status"]), headers, NESTED)

    def _trickle(self, query: dict[str, str]) -> None:
        """A byte every ``gap`` seconds of a body that declares ``length`` bytes."""
        length, gap = int(query["length"]), float(query["gap"])
        body = (b'{"a": "' + b"x" * length)[: length - 2] + b'"}'
        headers = {"Content-Type": "application/json", "Content-Length": str(length)}
        self._send(int(query["status"]), headers)
        for i in range(length):
            self.wfile.write(body[i : i + 1])
            self.wfile.flush()
            time.sleep(gap)

    def _stall(self, query: dict[str, str]) -> None:
        """A few bytes of a 2,000-byte 429, then nothing until the client hangs up (8 s at
        most): the server waits on the socket, not on a clock. Whether the client hung up
        first is recorded under ``query["id"]``."""
        self._send(429, {"Content-Type": "application/json", "Content-Length": "2000"}, b"{")
        self.connection.settimeout(PATIENCE)
        try:
            self.rfile.read(1)
            HUNG_UP[query["id"]] = True
        except TimeoutError:
            HUNG_UP[query["id"]] = False
        except OSError:  # reset by the client
            HUNG_UP[query["id"]] = True

    def _held(self, query: dict[str, str]) -> None:
        """A JSON 200 of ``length`` bytes, a byte every ``gap`` seconds until the test lets
        it go (``HOLD[query["id"]]``), then the rest at once; whether it was let go before
        the body ran out (or PATIENCE passed) is recorded in ``LET_GO``."""
        length, gap = int(query["length"]), float(query["gap"])
        body = (b'{"a": "' + b"x" * length)[: length - 2] + b'"}'
        headers = {"Content-Type": "application/json", "Content-Length": str(length)}
        self._send(200, headers)
        held, sent = HOLD[query["id"]], 0
        while sent < length - 1 and sent * gap < PATIENCE and not held.is_set():
            self.wfile.write(body[sent : sent + 1])
            self.wfile.flush()
            sent += 1
            held.wait(gap)
        LET_GO[query["id"]] = held.is_set()
        self.wfile.write(body[sent:])
        self.wfile.flush()

    def _redirect(self, query: dict[str, str]) -> None:
        """requests' own test_redirect_with_wrong_gzipped_header, on our endpoint."""
        body = b"this is not gzip"
        self._send(302, {"Location": PATH + "?mode=ok", "Content-Encoding": "gzip",
                         "Content-Length": str(len(body))}, body)  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    # A short poll: shutdown() waits for the loop's next look, 0.5 s by default.
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


# -- calling through each transport ----------------------------------------------------

KINDS = ["requests", "httpx", "httpx-async"]


class Got(NamedTuple):
    status: int
    body: bytes | None  # the body the caller read after, when it read one
    returned: float  # seconds until the call returned, before the caller read the body


def call(kind: str, url: str, *, stream: bool, deadline: float | None = None,
         timeout: float | None = 10.0, read: bool = False,
         let_go: threading.Event | None = None) -> Got:  # fmt: skip
    """Send one GET through ``kind``; when ``read``, the caller then reads the body, after
    setting ``let_go`` (the server's cue to send the rest)."""
    options: dict[str, Any] = {"clock": FakeClock(), "max_retries": 0}
    started = time.monotonic()
    if kind == "requests":
        with requests.Session() as session:
            parts = urlsplit(url)
            adapter = mount(session, base_url=f"{parts.scheme}://{parts.netloc}", **options)
            if deadline is not None:
                adapter.body_deadline = deadline
            response = session.get(url, stream=stream, timeout=timeout)
            returned = time.monotonic() - started
            if let_go is not None:
                let_go.set()
            body = response.content if read else None
            response.close()
            return Got(response.status_code, body, returned)
    if kind == "httpx":
        transport = TikTokTransport(**options)
        if deadline is not None:
            transport.body_deadline = deadline
        with httpx.Client(transport=transport, timeout=timeout) as client:
            response = client.send(client.build_request("GET", url), stream=stream)
            returned = time.monotonic() - started
            if let_go is not None:
                let_go.set()
            body = response.read() if read else None
            response.close()
            return Got(response.status_code, body, returned)

    async def go() -> Got:
        transport = AsyncTikTokTransport(**options)
        if deadline is not None:
            transport.body_deadline = deadline
        async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
            response = await client.send(client.build_request("GET", url), stream=stream)
            returned = time.monotonic() - started
            if let_go is not None:
                let_go.set()
            body = await response.aread() if read else None
            await response.aclose()
            return Got(response.status_code, body, returned)

    return asyncio.run(go())


def growth(work: Callable[[], object]) -> tuple[int, int]:
    """The peak of Python's allocations during ``work``, and the growth of the process's
    peak resident memory (0 where the peak cannot be reset)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # resets VmHWM to the current resident size
        before: int | None = _vm("VmHWM")
    except OSError:
        before = None
    tracemalloc.start()
    try:
        work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    resident = _vm("VmHWM") - before if before is not None else 0
    return peak, resident


def _vm(name: str) -> int:
    with open("/proc/self/status") as status:
        found = re.search(rf"{name}:\s+(\d+) kB", status.read())
    return int(found.group(1)) * 1024 if found else 0


# -- compression bombs ---------------------------------------------------------------------


@pytest.mark.parametrize("coding", CODINGS)
@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_a_429_compression_bomb_is_inflated_no_further_than_the_cap(
    server: str, kind: str, stream: bool, coding: str
) -> None:
    _needs(coding, kind)
    bomb(coding)  # built before measuring
    url = f"{server}{PATH}?mode=bomb&status=429&coding={coding}"
    statuses: list[int] = []
    peak, resident = growth(lambda: statuses.append(call(kind, url, stream=stream).status))
    assert statuses == [429]
    assert peak < GROWTH_LIMIT, f"{peak / MiB:.0f} MiB allocated"
    assert resident < GROWTH_LIMIT, f"{resident / MiB:.0f} MiB resident"


@pytest.mark.parametrize("coding", CODINGS)
@pytest.mark.parametrize("kind", KINDS)
def test_a_small_json_200_bomb_stays_unread_when_the_caller_streams(
    server: str, kind: str, coding: str
) -> None:
    # The compressed length is within the cap, so the transports read it: they must not
    # inflate it past the cap (plain httpx, streaming, inflates nothing).
    _needs(coding, kind)
    bomb(coding)
    url = f"{server}{PATH}?mode=bomb&status=200&coding={coding}"
    statuses: list[int] = []
    peak, resident = growth(lambda: statuses.append(call(kind, url, stream=True).status))
    assert statuses == [200]
    assert peak < GROWTH_LIMIT, f"{peak / MiB:.0f} MiB allocated"
    assert resident < GROWTH_LIMIT, f"{resident / MiB:.0f} MiB resident"


# -- trickled and stalled bodies -----------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_a_trickled_429_body_is_cut_at_the_deadline(server: str, kind: str, stream: bool) -> None:
    # 2,000 bytes at a byte every 0.04 s: 80 s, each read getting its byte in time.
    url = f"{server}{PATH}?mode=trickle&status=429&length=2000&gap=0.04"
    got = call(kind, url, stream=stream, deadline=DEADLINE)
    assert got.status == 429
    assert got.returned < PATIENCE  # far below the 400 s the whole body takes


@pytest.mark.parametrize("kind", KINDS)
def test_a_stalled_429_body_is_cut_at_the_deadline(server: str, kind: str) -> None:
    # No read timeout of the caller's: only the deadline can end the read, and the client
    # hangs up while the server still waits for it.
    url = f"{server}{PATH}?mode=stall&id=stall-{kind}"
    got = call(kind, url, stream=True, deadline=DEADLINE, timeout=None)
    assert got.status == 429
    for _ in range(int(PATIENCE / 0.01)):  # until the server saw the hang-up
        if f"stall-{kind}" in HUNG_UP:
            break
        time.sleep(0.01)
    assert HUNG_UP[f"stall-{kind}"] is True


@pytest.mark.parametrize("kind", ["httpx", "httpx-async"])
def test_a_slow_small_json_200_is_handed_on_whole_at_the_deadline(server: str, kind: str) -> None:
    # A transport reads a small JSON 200 (it cannot tell whether the caller streams); past
    # the deadline it hands the answer on, while the server still trickles it (until the
    # caller lets it go, up to 10 s of bytes), and the caller reads all of it at its pace.
    key = f"held-{kind}"
    HOLD[key] = threading.Event()
    url = f"{server}{PATH}?mode=held&length=200&gap=0.05&id={key}"
    got = call(kind, url, stream=True, deadline=DEADLINE, read=True, let_go=HOLD[key])
    assert got.status == 200
    assert got.body == b'{"a": "' + b"x" * 191 + b'"}'
    assert LET_GO[key] is True  # the call had returned before the server sent the rest


# -- a redirect's broken body -------------------------------------------------------------


def test_a_redirect_whose_body_does_not_decode_is_followed(server: str) -> None:
    with requests.Session() as session:
        mount(session, base_url=server, clock=FakeClock())
        response = session.get(f"{server}{PATH}?mode=redirect", timeout=10)
    assert response.status_code == 200
    assert response.json() == json.loads(OK)
    assert response.history[0].status_code == 302


def test_the_adapter_leaves_a_redirects_body_unread(server: str) -> None:
    adapter = TikTokAdapter(clock=FakeClock())
    request = requests.Request("GET", f"{server}{PATH}?mode=redirect").prepare()
    response = adapter.send(request, timeout=10)
    assert response.is_redirect
    with pytest.raises(requests.exceptions.ContentDecodingError):
        response.content  # noqa: B018 - as plain requests, the caller meets the error
    adapter.close()


# -- JSON nested too deeply ----------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 200])
@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_deeply_nested_json_in_an_answer_is_no_crash(
    server: str, kind: str, stream: bool, status: int
) -> None:
    got = call(kind, f"{server}{PATH}?mode=nested&status={status}", stream=stream)
    assert got.status == status


def test_deeply_nested_json_is_no_crash_in_the_core() -> None:
    policy = TikTokRefusals()
    headers = {"Content-Type": "application/json"}
    refusal = policy.classify(Answer(429, headers, NESTED), None)
    assert refusal is not None and refusal.code == "http_429"
    assert policy.classify(Answer(200, headers, NESTED), None) is None
    assert research(100, "videos").came_back(NESTED) is None
    assert research(100, "videos").reserve(b"[" * 50_000) == 100


class _Request:
    def __init__(self, body: bytes, url: str = "https://open.tiktokapis.com/v2/user/info/"):
        self.url, self.body = url, body
        self.headers = {"Content-Type": "application/json"}


def test_deeply_nested_json_in_a_request_is_no_crash() -> None:
    nested_token = b"[" * 50_000 + b'"access_token"'
    assert find_token("https://x/", {"Content-Type": "application/json"}, nested_token) is None
    assert body_fields(nested_token, "application/json") is None
    assert request_account(_Request(b"[" * 50_000 + b'"business_id"')) is None
    assert video_id("https://x/comment/list/", b"[" * 50_000 + b'"video_id"') is None


def test_deeply_nested_json_is_not_a_cached_success() -> None:
    class Response:
        status_code = 200
        content = NESTED

    assert succeeded(Response()) is False
