"""httpx specifics: the optional import, what the transports read of a body, the errors,
the client helpers, and the simulator serving httpx."""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

import tiktok_adapter
from tiktok_adapter.core.refusal import MAX_ERROR_BODY
from tiktok_adapter.httpx import (
    STREAM,
    AsyncTikTokTransport,
    TikTokTransport,
    async_client,
    client,
    transport_of,
)
from tiktok_adapter.testing import FakeClock, FakeTikTok
from tiktok_adapter.testing.httpx_fake import httpx_options, mock_transport

BASE = "https://open.tiktokapis.com"
INFO = f"{BASE}/v2/user/info/"
REFUSED = {"data": {}, "error": {"code": "rate_limit_exceeded", "message": "slow down"}}


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_importing_the_package_never_imports_httpx() -> None:
    code = (
        "import sys, tiktok_adapter, tiktok_adapter.testing, tiktok_adapter.metrics\n"
        "assert 'httpx' not in sys.modules, 'httpx imported'\n"
        "import tiktok_adapter.httpx\n"
        "assert 'httpx' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_without_httpx_the_subpackage_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['httpx'] = None\n"
        "import tiktok_adapter\n"
        "try:\n"
        "    import tiktok_adapter.httpx\n"
        "except ImportError as exc:\n"
        "    assert isinstance(exc, tiktok_adapter.exceptions.MissingDependency), exc\n"
        '    assert "tiktok-adapter[httpx]" in str(exc), exc\n'
        "else:\n"
        "    raise SystemExit('imported without httpx')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


class Pulled(httpx.SyncByteStream):
    """A response body that counts the bytes anyone pulled out of it."""

    def __init__(self, data: bytes, chunk: int = 1024) -> None:
        self.data, self.chunk, self.pulled = data, chunk, 0

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self.data), self.chunk):
            piece = self.data[start : start + self.chunk]
            self.pulled += len(piece)
            yield piece


class Serving(httpx.BaseTransport):
    """Answers every request with one status, headers and a counted streaming body."""

    def __init__(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.status, self.headers, self.data = status, headers, data
        self.bodies: list[Pulled] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = Pulled(self.data)
        self.bodies.append(body)
        return httpx.Response(self.status, headers=self.headers, stream=body)


def _transport(inner: httpx.BaseTransport, **options: object) -> TikTokTransport:
    return TikTokTransport(transport=inner, clock=FakeClock(), default_priority="critical",
                           **options)  # type: ignore[arg-type]  # fmt: skip


def test_a_huge_429_body_is_read_only_up_to_the_cap() -> None:
    inner = Serving(429, {"Content-Type": "application/json"}, b"x" * (10 * MAX_ERROR_BODY))
    with httpx.Client(transport=_transport(inner, max_retries=0)) as c:
        response = c.get(INFO)
    assert response.status_code == 429
    assert inner.bodies[0].pulled <= MAX_ERROR_BODY + 4096
    assert len(response.content) == MAX_ERROR_BODY


def test_an_unread_streamed_200_is_left_unread() -> None:
    data = json.dumps(REFUSED).encode()
    inner = Serving(200, {"Content-Type": "application/json"}, data)  # no Content-Length
    limited = _transport(inner, on_limit="raise")
    with httpx.Client(transport=limited) as c, c.stream("GET", INFO) as response:
        assert inner.bodies[0].pulled == 0
        assert json.loads(response.read()) == REFUSED


def test_a_stream_request_keeps_even_a_small_json_200_unread() -> None:
    data = json.dumps(REFUSED).encode()
    headers = {"Content-Type": "application/json", "Content-Length": str(len(data))}
    inner = Serving(200, headers, data)
    with httpx.Client(transport=_transport(inner, on_limit="raise")) as c:
        request = c.build_request("GET", INFO, extensions={STREAM: True})
        response = c.send(request, stream=True)
        assert inner.bodies[0].pulled == 0
        response.close()
        with pytest.raises(tiktok_adapter.RateLimitExceeded):
            c.get(INFO)  # the same answer, read: a refusal in a 200


def test_a_gzipped_refusal_is_judged_and_handed_on_intact() -> None:
    data = gzip.compress(json.dumps(REFUSED).encode())
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip",
               "Content-Length": str(len(data))}  # fmt: skip
    inner = Serving(200, headers, data)
    with httpx.Client(transport=_transport(inner, max_retries=1, random_source=lambda: 0.0)) as c:
        response = c.get(INFO)
    assert response.json() == REFUSED  # after the retry budget, the refusal itself
    assert len(inner.bodies) == 2


def test_the_errors_are_httpx_errors_and_the_packages() -> None:
    inner = Serving(429, {"Retry-After": "5"}, b"")
    limited = _transport(inner, on_limit="raise")
    with httpx.Client(transport=limited) as c, pytest.raises(httpx.HTTPError) as info:
        c.get(INFO)
    err = info.value
    assert isinstance(err, tiktok_adapter.RateLimitExceeded)
    assert isinstance(err.request, httpx.Request) and err.request.url == INFO
    assert isinstance(err.response, httpx.Response) and err.response.status_code == 429


def test_the_priority_header_is_read_and_never_sent() -> None:
    seen: list[httpx.Headers] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200)

    limited = _transport(httpx.MockTransport(handle), on_limit="raise", safety_margin=0.0)
    with httpx.Client(transport=limited) as c:
        for _ in range(5):
            c.get(INFO, headers={"X-TikTok-Adapter-Priority": "low"})
        with pytest.raises(tiktok_adapter.RateLimitExceeded, match="LOW may use 5"):
            c.get(INFO, headers={"X-TikTok-Adapter-Priority": "low"})
    assert all("X-TikTok-Adapter-Priority" not in h for h in seen)


def test_client_limits_every_request_and_gives_the_transport_back() -> None:
    fake = FakeTikTok(clock=FakeClock())
    with client(**httpx_options(fake)) as c:
        for _ in range(11):
            assert c.get("/v2/user/info/").status_code == 200
        limited = transport_of(c)
    assert isinstance(limited, TikTokTransport)
    assert limited.stats().total.waited == 1
    assert fake.rate_limited == 0 and fake.count("/user/info/") == 11


def test_transport_of_refuses_a_client_made_elsewhere() -> None:
    # Even one on our transport: only client() and async_client() remember theirs.
    with httpx.Client(transport=TikTokTransport()) as other, pytest.raises(TypeError):
        transport_of(other)


def test_async_client_on_the_simulator_never_gets_a_429() -> None:
    fake = FakeTikTok(clock=FakeClock())

    async def main() -> None:
        async with async_client(**httpx_options(fake)) as c:
            replies = await asyncio.gather(*(c.get("/v2/user/info/") for _ in range(25)))
            assert {r.status_code for r in replies} == {200}
            assert isinstance(transport_of(c), AsyncTikTokTransport)

    asyncio.run(main())
    assert fake.rate_limited == 0 and fake.count("/user/info/") == 25
    # 10/minute: the 25th call went out two minutes after the first.
    times = [r.time for r in fake.requests]
    assert 120 <= times[-1] - times[0] < 125


def test_without_the_transport_the_simulator_refuses() -> None:
    fake = FakeTikTok(clock=FakeClock())
    with httpx.Client(base_url=fake.base_url, transport=mock_transport(fake)) as c:
        statuses = [c.get("/v2/user/info/").status_code for _ in range(11)]
    assert statuses[-1] == 429 and fake.rate_limited == 1


def test_the_simulator_serves_its_own_host_only() -> None:
    fake = FakeTikTok(clock=FakeClock())
    with httpx.Client(transport=mock_transport(fake)) as c:
        assert c.get("https://example.com/v2/user/info/").status_code == 404
    assert fake.count() == 0


def test_the_pytest_fixture(tiktok_httpx: httpx.Client, fake_tiktok_app: FakeTikTok) -> None:
    for _ in range(11):
        tiktok_httpx.get("/v2/user/info/")
    assert fake_tiktok_app.rate_limited == 0
    sleeps = fake_tiktok_app.clock.sleeps  # type: ignore[attr-defined]
    assert len(sleeps) == 1 and 60 <= sleeps[0] < 62


def test_a_mounted_transport_limits_only_its_host() -> None:
    calls: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.host)
        return httpx.Response(200)

    limited = _transport(httpx.MockTransport(handle), on_limit="raise", safety_margin=0.0)
    mounts = {BASE: limited, "all://": httpx.MockTransport(handle)}
    with httpx.Client(mounts=mounts) as c:
        for _ in range(10):
            c.get(INFO)
        for _ in range(20):
            c.get("https://example.com/")
        with pytest.raises(tiktok_adapter.RateLimitExceeded):
            c.get(INFO)
    assert len(calls) == 30


def test_a_tls_failure_is_never_resent() -> None:
    calls: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        try:
            raise ssl.SSLError("certificate verify failed")
        except ssl.SSLError as exc:
            raise httpx.ConnectError("TLS failed", request=request) from exc

    with (
        httpx.Client(transport=_transport(httpx.MockTransport(handle), max_retries=3)) as c,
        pytest.raises(httpx.ConnectError),
    ):
        c.get(INFO)  # a safe method, yet a TLS failure will fail again: one attempt
    assert len(calls) == 1


def test_a_gzipped_429_body_is_decoded_to_judge_it() -> None:
    spent = {"error": {"code": "daily_quota_limit_exceeded", "message": "spent"}}
    data = gzip.compress(json.dumps(spent).encode())
    inner = Serving(429, {"Content-Type": "application/json", "Content-Encoding": "gzip"}, data)
    limited = _transport(inner, on_limit="raise")
    with httpx.Client(transport=limited) as c, pytest.raises(tiktok_adapter.QuotaExhausted) as info:
        c.get(INFO)
    assert info.value.response.json() == spent  # the caller reads it decoded, as sent
