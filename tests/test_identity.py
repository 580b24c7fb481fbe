"""Per-token identity: the token is found wherever it travels, as the cache keys find it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from tiktok_adapter import RateLimitExceeded, mount
from tiktok_adapter.core.identity import request_token, scope_id
from tiktok_adapter.testing import FakeClock

API = "https://open.tiktokapis.com/v2"
INIT = f"{API}/post/publish/video/init/"
QUERY = f"{API}/video/query/"
TOKEN_A = "act.ALPHA-body-token-aaaa"
TOKEN_B = "act.BRAVO-body-token-bbbb"
SECRET = b"s" * 32
OK = {"data": {"publish_id": "v_pub.1"}, "error": {"code": "ok", "message": "", "log_id": "x"}}


def prepared(way: str, token: str, **extra: Any) -> requests.PreparedRequest:
    """A request carrying ``token`` one of the ways TikTok accepts (or a client sends) it."""
    fields = {"post_info": "x", **extra}
    if way == "bearer":
        return requests.Request(
            "POST", INIT, headers={"Authorization": f"Bearer {token}"}
        ).prepare()
    if way == "bearer-bytes":  # requests sends bytes header values as they are
        headers = {"Authorization": f"Bearer {token}".encode()}
        return requests.Request("POST", INIT, headers=headers).prepare()
    if way == "access-token":
        return requests.Request("POST", INIT, headers={"Access-Token": token}).prepare()
    if way == "query":
        return requests.Request("POST", INIT, params={"access_token": token}).prepare()
    if way == "form":
        return requests.Request("POST", INIT, data={**fields, "access_token": token}).prepare()
    if way == "form-bytes":
        body = f"post_info=x&access_token={token}".encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return requests.Request("POST", INIT, data=body, headers=headers).prepare()
    if way == "form-encoded-name":
        body = f"post_info=x&access%5Ftoken={token}"
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return requests.Request("POST", INIT, data=body, headers=headers).prepare()
    if way == "json":
        return requests.Request("POST", INIT, json={**fields, "access_token": token}).prepare()
    if way == "json-charset":
        body = json.dumps({"access_token": token}).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        return requests.Request("POST", INIT, data=body, headers=headers).prepare()
    raise AssertionError(way)


WAYS = [
    "bearer",
    "bearer-bytes",
    "access-token",
    "query",
    "form",
    "form-bytes",
    "form-encoded-name",
    "json",
    "json-charset",
]


@pytest.mark.parametrize("way", WAYS)
def test_the_token_is_found_wherever_it_travels(way: str) -> None:
    assert request_token(prepared(way, TOKEN_A)) == TOKEN_A


def test_a_header_token_wins_over_one_in_the_body() -> None:
    request = requests.Request(
        "POST", INIT, json={"access_token": TOKEN_B}, headers={"Authorization": f"Bearer {TOKEN_A}"}
    ).prepare()
    assert request_token(request) == TOKEN_A


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"access_token": TOKEN_A, "pad": "x" * (64 * 1024)}).encode(),  # over the cap
        iter([b'{"access_token": "', TOKEN_A.encode(), b'"}']),  # a stream: never read
        b"[1, 2, 3]",
        b"not json, no token",
    ],
)
def test_bodies_that_cannot_be_searched_are_anonymous(body: Any) -> None:
    request = requests.Request(
        "POST", INIT, data=body, headers={"Content-Type": "application/json"}
    ).prepare()
    assert request_token(request) is None
    assert scope_id(request, "token", SECRET) == "-"


def test_a_body_that_names_no_token_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    import tiktok_adapter.core.credentials as credentials

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("parsed a body that cannot hold a token")

    monkeypatch.setattr(credentials.json, "loads", refuse)
    monkeypatch.setattr(credentials, "parse_qsl", refuse)
    request = requests.Request("POST", INIT, json={"post_info": {"title": "t"}}).prepare()
    assert request_token(request) is None


@pytest.mark.parametrize("way", WAYS)
def test_identity_and_cache_key_tell_the_same_tokens_apart(way: str) -> None:
    pytest.importorskip("requests_cache")
    from tiktok_adapter.cache import make_key_fn

    key = make_key_fn("secret")
    a1, a2, b = prepared(way, TOKEN_A), prepared(way, TOKEN_A), prepared(way, TOKEN_B)
    ids = [scope_id(r, "token", SECRET) for r in (a1, a2, b)]
    keys = [key(r) for r in (a1, a2, b)]
    assert ids[0] == ids[1] != ids[2] and "-" not in ids
    assert keys[0] == keys[1] != keys[2]
    assert all(TOKEN_A not in i and TOKEN_B not in i for i in ids)


# -- per-token windows -------------------------------------------------------------------


@pytest.fixture
def posting(
    mocked: responses.RequestsMock, clock: FakeClock
) -> Iterator[tuple[requests.Session, responses.RequestsMock]]:
    mocked.add(responses.POST, INIT, json=OK)
    with requests.Session() as session:
        # The whole window for each user: no share is held back for higher priorities.
        mount(
            session,
            preset="content-posting",
            on_limit="raise",
            default_priority="critical",
            clock=clock,
        )
        yield session, mocked


def send(session: requests.Session, way: str, token: str) -> requests.Response:
    body = {"source_info": {"source": "PULL_FROM_URL"}, "access_token": token}
    if way == "form":
        return session.post(INIT, data={"source": "PULL_FROM_URL", "access_token": token})
    return session.post(INIT, json=body)


@pytest.mark.parametrize("way", ["form", "json"])
def test_two_users_with_body_tokens_each_get_their_own_window(
    posting: tuple[requests.Session, responses.RequestsMock], way: str
) -> None:
    session, mocked = posting
    # The content-posting preset allows 6 video inits a minute per user token.
    for _ in range(6):
        assert send(session, way, TOKEN_A).status_code == 200
    with pytest.raises(RateLimitExceeded):
        send(session, way, TOKEN_A)
    for _ in range(6):  # another user is not refused because of the first
        assert send(session, way, TOKEN_B).status_code == 200
    with pytest.raises(RateLimitExceeded):
        send(session, way, TOKEN_B)
    assert len(mocked.calls) == 12


def test_a_user_window_reopens_after_a_minute(
    posting: tuple[requests.Session, responses.RequestsMock], clock: FakeClock
) -> None:
    session, mocked = posting
    for _ in range(6):
        send(session, "json", TOKEN_A)
    with pytest.raises(RateLimitExceeded):
        send(session, "json", TOKEN_A)
    clock.advance(61)
    assert send(session, "json", TOKEN_A).status_code == 200
    assert len(mocked.calls) == 7
