"""requests-cache on top of the adapter: per-token isolation, no stored tokens, free hits."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses
import time_machine

from tiktok_adapter import RateLimitExceeded, Settings, TikTokAdapter, mount
from tiktok_adapter.cache import cache_settings, cached_session, make_key_fn, protect
from tiktok_adapter.testing import FakeClock

requests_cache = pytest.importorskip("requests_cache")

API = "https://open.tiktokapis.com/v2"
INFO = f"{API}/user/info/"
QUERY = f"{API}/video/query/"
LIST = f"{API}/video/list/"
COMMENTS = f"{API}/video/comment/list/"
BUSINESS = "https://business-api.tiktok.com/open_api/v1.3"
TOKEN_A = "act.ALPHA-very-secret-token-aaaa"
TOKEN_B = "act.BRAVO-very-secret-token-bbbb"
OK = {"code": "ok", "message": "", "log_id": "x"}

Handler = Callable[[requests.PreparedRequest], tuple[int, dict[str, str], str]]


def token_of(request: requests.PreparedRequest) -> str:
    """Whichever way the token travelled, as the server would see it."""
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth[len("Bearer ") :]
    if "Access-Token" in request.headers:
        return str(request.headers["Access-Token"])
    query = dict(parse_qsl(urlsplit(request.url or "").query))
    if "access_token" in query:
        return query["access_token"]
    body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
    if body.startswith("{"):
        return str(json.loads(body).get("access_token", "anonymous"))
    return dict(parse_qsl(body)).get("access_token", "anonymous")


def echo_user(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    """A profile that names the token's owner, so a cross-user leak is visible."""
    who = token_of(request)
    body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
    echo = body.replace(who, "") if who != "anonymous" else body  # as TikTok: never echoed
    return 200, {}, json.dumps({"data": {"owner": who[:9], "echo": echo}, "error": OK})


@pytest.fixture
def make(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., Any]]:
    sessions: list[Any] = []

    def build(**kwargs: Any) -> Any:
        kwargs.setdefault("clock", clock)
        if kwargs["clock"] is None:  # the test brings its own adapter
            del kwargs["clock"]
        session = cached_session(str(tmp_path / "tiktok_cache"), **kwargs)
        sessions.append(session)
        return session

    yield build
    for session in sessions:
        session.close()


def stored_bytes(tmp_path: Path) -> bytes:
    """Every byte the cache wrote to disk under tmp_path (database, journal, files)."""
    return b"".join(p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file())


# -- isolation --------------------------------------------------------------------------


def test_two_bearer_tokens_never_receive_each_others_profile(
    make: Callable[..., Any], mocked: responses.RequestsMock
) -> None:
    mocked.add_callback(responses.GET, INFO, callback=echo_user)
    session = make()
    for _ in range(3):
        for token in (TOKEN_A, TOKEN_B):
            r = session.get(INFO, headers={"Authorization": f"Bearer {token}"})
            assert r.json()["data"]["owner"] == token[:9]
    assert len(mocked.calls) == 2  # one miss per user, then hits


@pytest.mark.parametrize("way", ["bearer", "access-token", "query", "json-body"])
def test_every_way_a_token_travels_is_isolated(
    make: Callable[..., Any], mocked: responses.RequestsMock, way: str
) -> None:
    mocked.add_callback(responses.GET, INFO, callback=echo_user)
    mocked.add_callback(responses.POST, QUERY, callback=echo_user)
    session = make()

    def call(token: str) -> Any:
        if way == "bearer":
            return session.get(INFO, headers={"Authorization": f"Bearer {token}"})
        if way == "access-token":
            return session.get(INFO, headers={"Access-Token": token})
        if way == "query":
            return session.get(INFO, params={"access_token": token, "fields": "open_id"})
        return session.post(QUERY, json={"access_token": token, "filters": {"video_ids": [1]}})

    first = [call(t) for t in (TOKEN_A, TOKEN_B)]
    again = [call(t) for t in (TOKEN_A, TOKEN_B)]
    assert [r.json()["data"]["owner"] for r in first + again] == [TOKEN_A[:9], TOKEN_B[:9]] * 2
    assert [r.from_cache for r in again] == [True, True]
    assert len(mocked.calls) == 2


def test_no_token_is_written_to_the_sqlite_file(
    make: Callable[..., Any], mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mocked.add_callback(responses.GET, INFO, callback=echo_user)
    mocked.add_callback(responses.POST, QUERY, callback=echo_user)
    mocked.add_callback(responses.POST, f"{BUSINESS}/business/comment/list/", callback=echo_user)
    session = make()
    for token in (TOKEN_A, TOKEN_B):
        session.get(INFO, headers={"Authorization": f"Bearer {token}"})
        session.get(INFO, headers={"Access-Token": token}, params={"fields": "x"})
        session.get(INFO, params={"access_token": token})
        session.post(QUERY, json={"access_token": token, "filters": {"video_ids": [7]}})
        session.post(QUERY, data={"access_token": token, "cursor": "0"})
    session.close()

    data = stored_bytes(tmp_path)
    assert len(session.cache.responses) == 10
    assert b"video_ids" in data  # the entries are there, so the search below means something
    for token in (TOKEN_A, TOKEN_B):
        assert token.encode() not in data
        assert token.split("-")[0].encode() + b"-very-secret" not in data
    assert b"REDACTED:hmac-sha256:" in data


def test_stored_request_keeps_only_a_keyed_hash_and_still_keys_alike(
    make: Callable[..., Any], mocked: responses.RequestsMock
) -> None:
    mocked.add_callback(responses.GET, INFO, callback=echo_user)
    session = make(secret="shared-secret")
    live = session.get(INFO, headers={"Authorization": f"Bearer {TOKEN_A}"})
    (stored,) = list(session.cache.filter())
    assert TOKEN_A not in json.dumps(dict(stored.request.headers))
    # requests-cache recomputes keys from stored requests (Vary checks, recreate_keys).
    assert session.cache.create_key(stored.request) == live.cache_key


def test_a_response_with_vary_is_still_served_from_the_cache(
    make: Callable[..., Any], mocked: responses.RequestsMock
) -> None:
    mocked.add(
        responses.GET, INFO, json={"data": {}, "error": OK}, headers={"Vary": "Accept-Encoding"}
    )
    session = make()
    headers = {"Authorization": f"Bearer {TOKEN_A}"}
    assert not session.get(INFO, headers=headers).from_cache
    assert session.get(INFO, headers=headers).from_cache


def test_the_key_is_an_hmac_of_the_token_under_the_secret() -> None:
    request = requests.Request(
        "GET", INFO, headers={"Authorization": f"Bearer {TOKEN_A}"}
    ).prepare()
    other = requests.Request("GET", INFO, headers={"Authorization": f"Bearer {TOKEN_B}"}).prepare()
    key = make_key_fn("one")
    assert key(request) == make_key_fn("one")(request)
    assert key(request) != make_key_fn("two")(request)
    assert key(request) != key(other)
    assert TOKEN_A not in key(request)


def test_sessions_share_entries_only_with_the_same_secret(
    make: Callable[..., Any], mocked: responses.RequestsMock
) -> None:
    mocked.add_callback(responses.GET, INFO, callback=echo_user)
    headers = {"Authorization": f"Bearer {TOKEN_A}"}
    make(secret="fleet-secret").get(INFO, headers=headers)
    assert make(secret="fleet-secret").get(INFO, headers=headers).from_cache
    assert not make(secret="another-secret").get(INFO, headers=headers).from_cache


# -- quota ------------------------------------------------------------------------------


def test_a_hit_reaches_neither_the_server_nor_the_limiter(
    make: Callable[..., Any], mocked: responses.RequestsMock
) -> None:
    mocked.add_callback(responses.POST, QUERY, callback=echo_user)
    session = make(on_limit="raise", limits={"/video/query/": "1/minute"})
    headers = {"Authorization": f"Bearer {TOKEN_A}"}
    body = {"filters": {"video_ids": ["123"]}}

    assert not session.post(QUERY, json=body, headers=headers).from_cache
    second = session.post(QUERY, json=body, headers=headers)  # the window is spent
    assert second.from_cache and second.json()["data"]["owner"] == TOKEN_A[:9]
    with pytest.raises(RateLimitExceeded):  # a different query is a miss, and is refused
        session.post(QUERY, json={"filters": {"video_ids": ["456"]}}, headers=headers)

    assert len(mocked.calls) == 1
    stats = session.tiktok_adapter.stats().endpoints["/video/query/"]
    assert (stats.sent, stats.cache_hits, stats.cache_misses) == (1, 1, 2)


def test_different_json_bodies_are_different_entries(
    make: Callable[..., Any], mocked: responses.RequestsMock
) -> None:
    mocked.add_callback(responses.POST, QUERY, callback=echo_user)
    session = make()
    headers = {"Authorization": f"Bearer {TOKEN_A}"}
    one = session.post(QUERY, json={"filters": {"video_ids": ["1"]}}, headers=headers)
    two = session.post(QUERY, json={"filters": {"video_ids": ["2"]}}, headers=headers)
    reordered = session.post(QUERY, json={"filters": {"video_ids": ["1"]}}, headers=headers)
    assert '"1"' in one.json()["data"]["echo"] and '"2"' in two.json()["data"]["echo"]
    assert reordered.from_cache and reordered.json() == one.json()
    assert len(mocked.calls) == 2


# -- what is cached ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", f"{API}/video/comment/create/"),
        ("POST", f"{API}/oauth/token/"),
        ("GET", f"{API}/not/in/the/table/"),
        ("POST", f"{BUSINESS}/business/comment/delete/"),
    ],
)
def test_writes_oauth_and_unknown_endpoints_are_never_cached(
    make: Callable[..., Any], mocked: responses.RequestsMock, method: str, url: str
) -> None:
    mocked.add(method, url, json={"data": {}, "error": OK, "code": 0})
    session = make()
    for _ in range(2):
        response = session.request(method, url, json={"video_id": "1", "text": "hi"})
        assert response.status_code == 200 and not response.from_cache
    assert len(mocked.calls) == 2
    assert len(session.cache.responses) == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"status": 429, "json": {"error": {"code": "rate_limit_exceeded"}}},
        {"status": 200, "json": {"data": {}, "error": {"code": "access_token_invalid"}}},
        {"status": 200, "json": {"code": 40100, "message": "Too many requests"}},
        {"status": 200, "json": {"code": 40001, "message": "permission denied"}},
        {"status": 200, "json": {"data": {"error_code": 10002}}},
        {"status": 200, "body": "<html>gateway</html>"},
        {"status": 500, "json": {"error": OK}},
    ],
)
def test_errors_are_not_cached(
    make: Callable[..., Any], mocked: responses.RequestsMock, bad: dict[str, Any]
) -> None:
    mocked.add(responses.GET, INFO, **bad)
    mocked.add(responses.GET, INFO, json={"data": {"fresh": True}, "error": OK})
    session = make(max_retries=0, on_limit="sleep")
    headers = {"Authorization": f"Bearer {TOKEN_A}"}
    first = session.get(INFO, headers=headers)
    assert not first.from_cache
    second = session.get(INFO, headers=headers)
    assert not second.from_cache and second.json()["data"]["fresh"] is True
    assert session.get(INFO, headers=headers).from_cache  # the good answer is kept
    assert len(mocked.calls) == 2


def test_a_429_raised_by_the_adapter_leaves_nothing_cached(
    make: Callable[..., Any], mocked: responses.RequestsMock
) -> None:
    mocked.add(responses.GET, INFO, status=429, json={"error": {"code": "rate_limit_exceeded"}})
    session = make(on_limit="raise")
    with pytest.raises(RateLimitExceeded):
        session.get(INFO, headers={"Authorization": f"Bearer {TOKEN_A}"})
    assert len(session.cache.responses) == 0
    assert session.tiktok_adapter.stats().total.cache_misses == 1


# -- invalidation -----------------------------------------------------------------------


@pytest.mark.parametrize("action", ["create", "delete", "pin"])
def test_a_comment_write_drops_that_videos_cached_comment_lists(
    make: Callable[..., Any], mocked: responses.RequestsMock, action: str
) -> None:
    mocked.add_callback(responses.POST, COMMENTS, callback=echo_user)
    mocked.add(responses.POST, f"{API}/video/comment/{action}/", json={"data": {}, "error": OK})
    session = make()
    user_a = {"Authorization": f"Bearer {TOKEN_A}"}
    user_b = {"Authorization": f"Bearer {TOKEN_B}"}
    for video in ("111", "222"):
        for headers in (user_a, user_b):
            session.post(COMMENTS, json={"video_id": video, "max_count": 20}, headers=headers)
    assert len(mocked.calls) == 4

    body = {"video_id": "111", "comment_id": "c1", "text": "thanks"}
    session.post(f"{API}/video/comment/{action}/", json=body, headers=user_a)

    after = [
        session.post(COMMENTS, json={"video_id": v, "max_count": 20}, headers=h).from_cache
        for v in ("111", "222")
        for h in (user_a, user_b)
    ]
    assert after == [False, False, True, True]  # every user sees the change on video 111


def test_a_failed_comment_write_keeps_the_cached_list(
    make: Callable[..., Any], mocked: responses.RequestsMock
) -> None:
    mocked.add_callback(responses.POST, COMMENTS, callback=echo_user)
    error = {"data": {}, "error": {"code": "scope_not_authorized"}}
    mocked.add(responses.POST, f"{API}/video/comment/create/", json=error)
    session = make()
    headers = {"Authorization": f"Bearer {TOKEN_A}"}
    session.post(COMMENTS, json={"video_id": "111"}, headers=headers)
    session.post(f"{API}/video/comment/create/", json={"video_id": "111"}, headers=headers)
    assert session.post(COMMENTS, json={"video_id": "111"}, headers=headers).from_cache


def test_a_business_comment_delete_without_video_drops_every_comment_list(
    make: Callable[..., Any], mocked: responses.RequestsMock
) -> None:
    comments = f"{BUSINESS}/business/comment/list/"
    mocked.add_callback(responses.GET, comments, callback=echo_user)
    mocked.add(responses.POST, f"{BUSINESS}/business/comment/delete/", json={"code": 0})
    mocked.add(responses.GET, f"{BUSINESS}/business/video/list/", json={"code": 0, "data": {}})
    session = make(preset="business")
    headers = {"Access-Token": TOKEN_A}
    session.get(comments, params={"business_id": "b", "video_id": "1"}, headers=headers)
    session.get(f"{BUSINESS}/business/video/list/", params={"business_id": "b"}, headers=headers)
    session.post(
        f"{BUSINESS}/business/comment/delete/",
        json={"business_id": "b", "comment_id": "c"},
        headers=headers,
    )
    again = session.get(comments, params={"business_id": "b", "video_id": "1"}, headers=headers)
    videos = session.get(
        f"{BUSINESS}/business/video/list/", params={"business_id": "b"}, headers=headers
    )
    assert not again.from_cache and videos.from_cache


# -- expiry -----------------------------------------------------------------------------


def test_expiry_follows_expire_after_and_per_endpoint_settings(
    make: Callable[..., Any], mocked: responses.RequestsMock
) -> None:
    mocked.add(responses.GET, INFO, json={"data": {}, "error": OK})
    mocked.add(responses.POST, LIST, json={"data": {}, "error": OK})
    headers = {"Authorization": f"Bearer {TOKEN_A}"}
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    with time_machine.travel(start, tick=False) as traveller:
        session = make(expire_after=60, expire_per_endpoint={"/v2/video/list/": 600})
        session.get(INFO, headers=headers)
        session.post(LIST, json={"max_count": 20}, headers=headers)
        traveller.shift(59)
        assert session.get(INFO, headers=headers).from_cache
        traveller.shift(2)
        assert not session.get(INFO, headers=headers).from_cache  # 61 s > 60 s
        assert session.post(LIST, json={"max_count": 20}, headers=headers).from_cache
        traveller.shift(600)
        assert not session.post(LIST, json={"max_count": 20}, headers=headers).from_cache


@pytest.mark.parametrize(
    "how",
    ["keyword", "settings", "environment", "your-own-adapter"],
)
def test_expiry_follows_the_cache_expire_after_setting(
    make: Callable[..., Any], mocked: responses.RequestsMock, clock: FakeClock, how: str
) -> None:
    mocked.add(responses.GET, INFO, json={"data": {}, "error": OK})
    headers = {"Authorization": f"Bearer {TOKEN_A}"}
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    with time_machine.travel(start, tick=False) as traveller:
        if how == "keyword":
            session = make(cache_expire_after=90)
        elif how == "settings":
            session = make(settings=Settings(cache_expire_after=90))
        elif how == "environment":
            env = {"TIKTOK_ADAPTER_CACHE_EXPIRE_AFTER": "90"}
            session = make(settings=Settings.from_env(environ=env))
        else:
            adapter = TikTokAdapter(cache_expire_after=90, clock=clock)
            session = make(adapter=adapter, clock=None)
        session.get(INFO, headers=headers)
        traveller.shift(89)
        assert session.get(INFO, headers=headers).from_cache
        traveller.shift(2)
        assert not session.get(INFO, headers=headers).from_cache  # 91 s > 90 s
    assert len(mocked.calls) == 2


def test_an_explicit_expire_after_wins_over_the_setting(make: Callable[..., Any]) -> None:
    assert make(cache_expire_after=90, expire_after=30).settings.expire_after == 30
    adapter = TikTokAdapter(cache_expire_after=90)
    assert cache_settings(adapter)["expire_after"] == 90
    assert cache_settings(adapter, expire_after=5)["expire_after"] == 5
    assert cache_settings()["expire_after"] == 1800


def test_the_default_expiry_is_thirty_minutes_in_a_sqlite_file(
    make: Callable[..., Any], tmp_path: Path
) -> None:
    session = make()
    assert session.settings.expire_after == 1800
    assert isinstance(session.cache, requests_cache.SQLiteCache)
    assert Path(session.cache.db_path).parent == tmp_path


def test_an_unknown_expire_per_endpoint_path_is_refused(make: Callable[..., Any]) -> None:
    with pytest.raises(ValueError, match="not a read-only endpoint"):
        make(expire_per_endpoint={"/video/comment/create/": 10})


# -- other backends and your own CachedSession -----------------------------------------


@pytest.mark.parametrize("backend", ["memory", "filesystem"])
def test_other_backends_isolate_and_redact(
    make: Callable[..., Any], mocked: responses.RequestsMock, tmp_path: Path, backend: str
) -> None:
    mocked.add_callback(responses.GET, INFO, callback=echo_user)
    session = make(backend=backend)
    for token in (TOKEN_A, TOKEN_B, TOKEN_A):
        r = session.get(INFO, params={"access_token": token})
        assert r.json()["data"]["owner"] == token[:9]
    assert len(mocked.calls) == 2
    for cached in session.cache.filter():
        assert TOKEN_A not in cached.request.url and TOKEN_A not in cached.url
    assert TOKEN_A.encode() not in stored_bytes(tmp_path)


def stored_objects(session: Any, tmp_path: Path) -> bytes:
    """What the backend holds: the memory backend's objects, or every byte on disk."""
    if isinstance(session.cache.responses, requests_cache.backends.base.DictStorage):
        return pickle.dumps(dict(session.cache.responses.data))
    return stored_bytes(tmp_path)


def redirect_to_a_cached_read(session: Any, mocked: responses.RequestsMock) -> None:
    """A read cached first, then reached again through a redirect that carries the token."""
    moved = f"{INFO}?fields=open_id&old=1"
    target = f"{INFO}?fields=open_id"
    mocked.add(responses.GET, moved, status=302, headers={"Location": target})
    mocked.add_callback(responses.GET, target, callback=echo_user)
    headers = {"Authorization": f"Bearer {TOKEN_A}"}
    session.get(target, headers=headers)  # cached first, so the redirect lands on a hit
    for _ in range(2):
        r = session.get(moved, headers=headers)
        assert r.json()["data"]["owner"] == TOKEN_A[:9] and [h.status_code for h in r.history]
    direct = session.get(target, headers=headers)
    assert direct.from_cache and direct.history == []  # the entry itself has no redirect


@pytest.mark.parametrize("backend", ["memory", "sqlite", "filesystem"])
def test_a_redirect_to_a_cached_read_stores_no_raw_token(
    make: Callable[..., Any], mocked: responses.RequestsMock, tmp_path: Path, backend: str
) -> None:
    session = make(backend=backend)
    redirect_to_a_cached_read(session, mocked)
    stored = stored_objects(session, tmp_path)
    assert b"open_id" in stored  # the entries are there, so the search below means something
    assert TOKEN_A.encode() not in stored
    assert b"REDACTED:hmac-sha256:" in stored


def test_a_read_whose_body_is_too_large_to_search_is_never_stored(
    make: Callable[..., Any], mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mocked.add_callback(responses.POST, QUERY, callback=echo_user)
    session = make()
    body = {"access_token": TOKEN_A, "filters": {"video_ids": ["1"] * 20_000}}  # > 64 KiB
    for _ in range(2):
        r = session.post(QUERY, json=body)
        assert r.json()["data"]["owner"] == TOKEN_A[:9] and not r.from_cache
    session.close()
    assert len(mocked.calls) == 2
    assert TOKEN_A.encode() not in stored_bytes(tmp_path)


def test_your_own_cached_session_gets_the_same_isolation(
    mocked: responses.RequestsMock, tmp_path: Path, clock: FakeClock
) -> None:
    mocked.add_callback(responses.GET, INFO, callback=echo_user)
    adapter = TikTokAdapter(clock=clock)
    session = requests_cache.CachedSession(
        str(tmp_path / "own"), **cache_settings(adapter, secret="from-the-environment")
    )
    protect(session)
    mount(session, adapter)
    with session:
        for token in (TOKEN_A, TOKEN_B, TOKEN_B):
            r = session.get(INFO, headers={"Authorization": f"Bearer {token}"})
            assert r.json()["data"]["owner"] == token[:9]
    assert len(mocked.calls) == 2
    assert TOKEN_B.encode() not in stored_bytes(tmp_path)


def test_protect_refuses_a_session_without_our_key_function(tmp_path: Path) -> None:
    with (
        requests_cache.CachedSession(str(tmp_path / "plain")) as session,
        pytest.raises(ValueError, match="cache_settings"),
    ):
        protect(session)


def redis_value(client: Any, key: bytes) -> bytes:
    kind = client.type(key)
    if kind == b"string":
        return bytes(client.get(key))
    if kind == b"hash":
        return b"".join(k + v for k, v in client.hgetall(key).items())
    return b""


@pytest.mark.redis
def test_isolation_and_redaction_on_a_real_redis(
    mocked: responses.RequestsMock, redis_base_url: str, clock: FakeClock
) -> None:
    import redis

    mocked.add_callback(responses.GET, INFO, callback=echo_user)
    client = redis.Redis.from_url(redis_base_url)
    namespace = f"tiktok-cache-test-{uuid.uuid4().hex}"
    backend = requests_cache.RedisCache(namespace, connection=client)
    session = cached_session(backend=backend, secret="fleet", clock=clock)
    try:
        for token in (TOKEN_A, TOKEN_B, TOKEN_A, TOKEN_B):
            r = session.get(INFO, headers={"Authorization": f"Bearer {token}"})
            assert r.json()["data"]["owner"] == token[:9]
        session.get(INFO, headers={"Access-Token": TOKEN_A})
        session.get(INFO, params={"access_token": TOKEN_B})
        assert len(mocked.calls) == 4
        keys = list(client.scan_iter(f"{namespace}:*"))
        assert keys
        for key in keys:
            stored = key + redis_value(client, key)
            assert TOKEN_A.encode() not in stored and TOKEN_B.encode() not in stored
    finally:
        ours = list(client.scan_iter(f"{namespace}:*"))
        if ours:
            client.delete(*ours)
        session.close()


@pytest.mark.redis
def test_a_redirect_to_a_cached_read_on_a_real_redis_stores_no_raw_token(
    mocked: responses.RequestsMock, redis_base_url: str, clock: FakeClock
) -> None:
    import redis

    client = redis.Redis.from_url(redis_base_url)
    namespace = f"tiktok-cache-test-{uuid.uuid4().hex}"
    backend = requests_cache.RedisCache(namespace, connection=client)
    session = cached_session(backend=backend, secret="fleet", clock=clock)
    try:
        redirect_to_a_cached_read(session, mocked)
        keys = list(client.scan_iter(f"{namespace}:*"))
        stored = b"".join(key + redis_value(client, key) for key in keys)
        assert b"open_id" in stored and b"REDACTED:hmac-sha256:" in stored
        assert TOKEN_A.encode() not in stored
    finally:
        ours = list(client.scan_iter(f"{namespace}:*"))
        if ours:
            client.delete(*ours)
        session.close()


# -- packaging --------------------------------------------------------------------------


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_requests_cache_is_optional_until_cached_session_is_called() -> None:
    code = (
        "import sys; sys.modules['requests_cache'] = None\n"
        "import tiktok_adapter, tiktok_adapter.cache as c\n"
        "try:\n    c.cached_session()\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'tiktok-adapter[cache]'" in out.stdout


def test_without_protect_the_settings_still_keep_standard_token_names_out(
    mocked: responses.RequestsMock, tmp_path: Path, clock: FakeClock
) -> None:
    mocked.add_callback(responses.GET, INFO, callback=echo_user)
    adapter = TikTokAdapter(clock=clock)
    with requests_cache.CachedSession(str(tmp_path / "net"), **cache_settings(adapter)) as s:
        mount(s, adapter)
        s.get(INFO, headers={"Authorization": f"Bearer {TOKEN_A}"})
        s.get(INFO, headers={"Access-Token": TOKEN_B}, params={"access_token": TOKEN_A})
        assert s.get(INFO, headers={"Access-Token": TOKEN_A}).json()["data"]["owner"] == "act.ALPHA"
    data = stored_bytes(tmp_path)
    assert TOKEN_A.encode() not in data and TOKEN_B.encode() not in data
