"""A token in the query survives no redirect into any cache backend's stored bytes.

A server that redirects keeping the query (``Location``) or names the answer's own URL
(``Content-Location``) echoes the raw token in a response header, in the live answer and
in every redirect kept in ``response.history``. Each backend is read back as raw bytes.
"""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
import responses

from tiktok_adapter.cache import cached_session
from tiktok_adapter.testing import FakeClock

requests_cache = pytest.importorskip("requests_cache")

API = "https://open.tiktokapis.com/v2"
INFO = f"{API}/user/info/"
# '+' and '/' are escaped in a URL, so an escaped copy of the token is searched for too.
TOKEN = "act.QUERY-secret+token/zzzz-9876"
ESCAPED = quote(TOKEN, safe="")
BODY = '{"data":{"user":{"open_id":"x"}},"error":{"code":"ok","message":"","log_id":"l"}}'


def with_token(url: str, *extra: str) -> str:
    return "&".join([f"{url}?access_token={ESCAPED}", *extra])


def serve_redirects(mocked: responses.RequestsMock) -> None:
    """Two hops that keep the query, then an answer whose Content-Location echoes it."""
    first = with_token(INFO, "fields=open_id", "hop=1")
    second = with_token(INFO, "fields=open_id", "hop=2")
    final = with_token(INFO, "fields=open_id")
    mocked.add(responses.GET, first, status=302, headers={"Location": second})
    # A relative Location, as many servers send it.
    relative = final[len("https://open.tiktokapis.com") :]
    mocked.add(responses.GET, second, status=301, headers={"Location": relative})
    mocked.add(
        responses.GET,
        final,
        status=200,
        body=BODY,
        content_type="application/json",
        headers={"Content-Location": final, "Link": f'<{final}>; rel="self"'},
    )


def fetch_through_redirects(session: Any) -> None:
    r = session.get(INFO, params={"access_token": TOKEN, "fields": "open_id", "hop": "1"})
    assert r.status_code == 200 and len(r.history) == 2
    assert r.json()["data"]["user"]["open_id"] == "x"


def assert_no_token(stored: bytes) -> None:
    assert b"open_id" in stored  # entries are there, so the search below means something
    assert b"REDACTED:hmac-sha256:" in stored or b"REDACTED%3Ahmac-sha256%3A" in stored
    for form in (TOKEN, ESCAPED, quote(TOKEN, safe="/"), TOKEN.replace("+", "%2B")):
        assert form.encode() not in stored, form
    assert b"secret+token" not in stored and b"secret%2Btoken" not in stored


def stored_files(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file())


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve_redirects(mock)
        yield mock


@pytest.mark.parametrize("backend", ["sqlite", "filesystem"])
def test_file_backends_store_no_raw_token_after_redirects(
    mocked: responses.RequestsMock, tmp_path: Path, clock: FakeClock, backend: str
) -> None:
    session = cached_session(str(tmp_path / "cache"), backend=backend, clock=clock)
    with session:
        fetch_through_redirects(session)
        fetch_through_redirects(session)  # a hit, reached through the same redirects
    assert_no_token(stored_files(tmp_path))


def test_memory_backend_stores_no_raw_token_after_redirects(
    mocked: responses.RequestsMock, clock: FakeClock
) -> None:
    session = cached_session(backend="memory", clock=clock)
    with session:
        fetch_through_redirects(session)
        fetch_through_redirects(session)
        stored = pickle.dumps(dict(session.cache.responses.data))
        stored += pickle.dumps(dict(session.cache.redirects.data))
    assert_no_token(stored)


def redis_value(client: Any, key: bytes) -> bytes:
    kind = client.type(key)
    if kind == b"string":
        return bytes(client.get(key))
    if kind == b"hash":
        return b"".join(k + v for k, v in client.hgetall(key).items())
    return b""


@pytest.mark.redis
def test_redis_backend_stores_no_raw_token_after_redirects(
    mocked: responses.RequestsMock, redis_base_url: str, clock: FakeClock
) -> None:
    import redis

    client = redis.Redis.from_url(redis_base_url)
    namespace = f"tiktok-cache-redirect-{uuid.uuid4().hex}"
    backend = requests_cache.RedisCache(namespace, connection=client)
    session = cached_session(backend=backend, secret="fleet", clock=clock)
    try:
        fetch_through_redirects(session)
        fetch_through_redirects(session)
        keys = sorted(client.scan_iter(f"{namespace}:*"))
        assert keys
        assert_no_token(b"".join(key + redis_value(client, key) for key in keys))
    finally:
        ours = list(client.scan_iter(f"{namespace}:*"))
        if ours:
            client.delete(*ours)
        session.close()


def test_the_caller_still_gets_the_raw_location(
    mocked: responses.RequestsMock, clock: FakeClock
) -> None:
    # Redaction is of what is stored; the live answer is the server's, untouched.
    session = cached_session(backend="memory", clock=clock)
    with session:
        r = session.get(INFO, params={"access_token": TOKEN, "fields": "open_id", "hop": "1"})
        assert ESCAPED in r.headers["Content-Location"]
        assert ESCAPED in r.history[0].headers["Location"]
        assert isinstance(r, requests.Response)


def test_a_location_that_is_no_url_neither_crashes_nor_leaks(
    tmp_path: Path, clock: FakeClock
) -> None:
    # urlsplit raises on an unclosed IPv6 bracket; the echo search still finds the token.
    hostile = f"http://[oops/?access_token={ESCAPED}"
    with responses.RequestsMock() as mock:
        mock.add(
            responses.GET,
            INFO,
            body=BODY,
            content_type="application/json",
            headers={"Content-Location": hostile, "X-Seen-Token": TOKEN},
        )
        session = cached_session(str(tmp_path / "cache"), clock=clock)
        with session:
            for _ in range(2):
                # A header of the caller's own that repeats the token is stored without it.
                sent = {"Authorization": f"Bearer {TOKEN}", "X-Debug": f"token {TOKEN}"}
                r = session.get(INFO, headers=sent)
                assert r.status_code == 200
            assert r.from_cache and len(mock.calls) == 1
    assert_no_token(stored_files(tmp_path))
