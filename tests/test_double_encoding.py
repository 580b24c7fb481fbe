"""A refusal whose Content-Encoding names gzip twice but was gzipped once.

The adapter's own decoder reads it (it counts the coding once) and raises the refusal;
httpx's decoder applies gzip twice and fails. The caller still gets the package's
RateLimitExceeded (not httpx's DecodingError), and the same number of sends from the sync
and the async transport; reading the refused body meets httpx's own error, as it would
without the adapter.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tiktok_adapter import RateLimitExceeded
from tiktok_adapter.httpx import AsyncTikTokTransport, TikTokTransport
from tiktok_adapter.testing import FakeClock

INFO = "https://open.tiktokapis.com/v2/user/info/"
RAW = gzip.compress(json.dumps({"error": {"code": "rate_limit_exceeded"}, "data": {}}).encode())


class Once(httpx.SyncByteStream, httpx.AsyncByteStream):
    """The body as a server streams it: never read before the transport reads it."""

    def __iter__(self) -> Iterator[bytes]:
        yield RAW

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield RAW


def server(status: int, sent: list[int]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(1)
        headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip, gzip",
            "Content-Length": str(len(RAW)),
            "Retry-After": "1",
        }
        return httpx.Response(status, headers=headers, stream=Once())

    return httpx.MockTransport(answer)


def sync_get(status: int, sent: list[int], **settings: object) -> BaseException:
    transport = TikTokTransport(transport=server(status, sent), clock=FakeClock(), **settings)
    with httpx.Client(transport=transport) as client, pytest.raises(Exception) as info:
        client.get(INFO)
    return info.value


def async_get(status: int, sent: list[int], **settings: object) -> BaseException:
    async def run() -> BaseException:
        transport = AsyncTikTokTransport(
            transport=server(status, sent), clock=FakeClock(), **settings
        )
        async with httpx.AsyncClient(transport=transport) as client:
            with pytest.raises(Exception) as info:
                await client.get(INFO)
            return info.value

    return asyncio.run(run())


GETS = [pytest.param(sync_get, id="httpx"), pytest.param(async_get, id="httpx-async")]


@pytest.mark.parametrize("get", GETS)
@pytest.mark.parametrize("status", [200, 429])
def test_the_refusal_is_raised_as_one(get: object, status: int) -> None:
    sent: list[int] = []
    error = get(status, sent, on_limit="raise", max_retries=0)  # type: ignore[operator]
    assert isinstance(error, RateLimitExceeded), repr(error)
    assert sent == [1]


@pytest.mark.parametrize("get", GETS)
def test_a_refused_200_reads_as_it_would_without_the_adapter(get: object) -> None:
    error = get(200, [], on_limit="raise", max_retries=0)  # type: ignore[operator]
    assert isinstance(error, RateLimitExceeded)
    with pytest.raises(httpx.DecodingError):
        error.response.read()  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", [200, 429])
def test_sync_and_async_send_as_often_and_end_alike_when_waiting(status: int) -> None:
    # Waiting out refusals, the last answer goes back to the caller, whose read meets
    # httpx's own error: the same from both transports, after the same sends.
    ends = []
    for get in (sync_get, async_get):
        sent: list[int] = []
        ends.append((type(get(status, sent, max_retries=2)), len(sent)))
    assert ends == [(httpx.DecodingError, 3), (httpx.DecodingError, 3)]
