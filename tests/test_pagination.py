"""Batch queries and pagination: edges, against the simulator and against mocked pages."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import responses

from tiktok_adapter import TikTokAdapterError, mount
from tiktok_adapter.pagination import (
    PaginationError,
    TikTokAPIError,
    VideoQueryResult,
    api_call,
    paginate,
    query_videos,
)
from tiktok_adapter.testing import FakeTikTok

BASE = "https://open.tiktokapis.com"
QUERY = f"{BASE}/v2/video/query/"
RESEARCH = f"{BASE}/v2/research/video/query/"


def _page(data: dict[str, Any], code: str = "ok") -> dict[str, Any]:
    return {"data": data, "error": {"code": code, "message": "" if code == "ok" else "no",
                                     "log_id": "L1"}}  # fmt: skip


def _bodies(mock: responses.RequestsMock) -> list[Any]:
    return [json.loads(call.request.body or b"null") for call in mock.calls]


# -- query_videos -----------------------------------------------------------------------


def test_no_ids_sends_nothing(fake: FakeTikTok, session: requests.Session) -> None:
    assert query_videos(session, [], ["title"]) == VideoQueryResult((), ())
    assert fake.requests == []


def test_21_ids_go_in_two_batches_and_come_back_in_input_order(
    fake: FakeTikTok, session: requests.Session
) -> None:
    ids = [v["id"] for v in reversed(fake.videos[:21])]
    result = query_videos(session, ids, "title,like_count")
    assert [r.json["filters"]["video_ids"] for r in fake.requests] == [ids[:20], ids[20:]]
    assert fake.requests[0].query == {"fields": "id,title,like_count"}  # id is always asked
    assert [v["id"] for v in result.videos] == ids
    assert result.missing == ()
    assert set(result.by_id()) == set(ids)


def test_duplicates_are_sent_once_and_unknown_ids_reported(
    fake: FakeTikTok, session: requests.Session
) -> None:
    a, b = fake.videos[5]["id"], fake.videos[9]["id"]
    result = query_videos(session, [b, "404", a, b, int(a), "404"], ("id",))
    assert fake.requests[0].json == {"filters": {"video_ids": [b, "404", a]}}
    assert [v["id"] for v in result.videos] == [b, a]
    assert result.missing == ("404",)


def test_forty_ids_through_the_adapter_are_two_requests(
    fake: FakeTikTok, session: requests.Session
) -> None:
    mount(session, **fake.adapter_options())
    ids = [v["id"] for v in fake.videos[:40]]
    assert len(query_videos(session, ids, ["title"]).videos) == 40
    assert fake.count("/video/query/") == 2


def test_an_error_envelope_raises_never_returns_none(
    mocked: responses.RequestsMock, session: requests.Session
) -> None:
    mocked.post(QUERY, json=_page({}, "scope_not_authorized"), status=401)
    with pytest.raises(TikTokAPIError) as info:
        query_videos(session, ["1"], ["title"])
    err = info.value
    assert isinstance(err, TikTokAdapterError)
    assert (err.code, err.log_id, err.status_code) == ("scope_not_authorized", "L1", 401)
    assert "scope_not_authorized" in str(err) and "/v2/video/query/" in str(err)


def test_a_refused_call_left_by_the_adapter_raises(
    mocked: responses.RequestsMock, session: requests.Session
) -> None:
    mocked.post(QUERY, json=_page({}, "rate_limit_exceeded"), status=429)
    with pytest.raises(TikTokAPIError, match="rate_limit_exceeded"):
        query_videos(session, ["1"], ["title"])


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [(502, "<html>bad gateway</html>", "http_502"), (200, '{"data": {}}', "http_200"),
     (200, '{"data": {"videos": {}}, "error": {"code": "ok"}}', "bad_response")],
)  # fmt: skip
def test_bodies_that_are_not_envelopes_raise(
    mocked: responses.RequestsMock, session: requests.Session, status: int, body: str, code: str
) -> None:
    mocked.post(QUERY, body=body, status=status)
    with pytest.raises(TikTokAPIError) as info:
        query_videos(session, ["1"], ["id"])
    assert info.value.code == code


def test_bad_arguments(session: requests.Session) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        query_videos(session, ["1"], ["id"], batch_size=21)
    with pytest.raises(ValueError, match="empty"):
        query_videos(session, [" "], ["id"])
    with pytest.raises(TypeError):
        query_videos(session, [None], ["id"])  # type: ignore[list-item]


# -- paginate ---------------------------------------------------------------------------


def test_paginate_walks_the_whole_video_list(fake: FakeTikTok, session: requests.Session) -> None:
    mount(session, **fake.adapter_options())
    videos = list(paginate(session, "/v2/video/list/", {"max_count": 20}, ["id"],
                           items="videos"))  # fmt: skip
    assert [v["id"] for v in videos] == [v["id"] for v in fake.videos]
    assert fake.count("/video/list/") == 3 and fake.rate_limited == 0
    assert "cursor" not in fake.requests[0].json


def test_paginate_yields_pages_and_follows_research_search_id(
    mocked: responses.RequestsMock, session: requests.Session
) -> None:
    for page in (
        {"videos": [{"id": 1}], "cursor": 100, "has_more": True, "search_id": "S"},
        {"videos": [], "cursor": 200, "has_more": True, "search_id": "S"},  # empty, go on
        {"videos": [{"id": 3}], "cursor": 300, "has_more": False, "search_id": "S"},
    ):
        mocked.post(RESEARCH, json=_page(page))
    body = {"query": {"and": []}, "max_count": 100}
    pages = list(paginate(session, "/v2/research/video/query/", body, "id,like_count"))
    assert [p["cursor"] for p in pages] == [100, 200, 300]
    sent = _bodies(mocked)
    assert [(b.get("cursor"), b.get("search_id")) for b in sent] == [
        (None, None), (100, "S"), (200, "S"),
    ]  # fmt: skip
    assert all(b["query"] == {"and": []} for b in sent)
    assert body == {"query": {"and": []}, "max_count": 100}  # the caller's body is not changed
    assert "fields=id%2Clike_count" in (mocked.calls[0].request.url or "")


def test_an_empty_last_page_ends_cleanly(
    mocked: responses.RequestsMock, session: requests.Session
) -> None:
    mocked.post(
        f"{BASE}/v2/video/list/", json=_page({"videos": [], "cursor": 0, "has_more": False})
    )
    assert list(paginate(session, "/v2/video/list/", {}, items="videos")) == []
    mocked.post(f"{BASE}/v2/video/list/", json=_page({}))
    assert list(paginate(session, "/v2/video/list/", {}, items="videos")) == []


def test_a_repeated_cursor_raises_instead_of_looping(
    mocked: responses.RequestsMock, session: requests.Session
) -> None:
    mocked.post(f"{BASE}/v2/video/list/",
                json=_page({"videos": [{"id": 1}], "cursor": 7, "has_more": True}))  # fmt: skip
    got = []
    with pytest.raises(PaginationError, match="repeats cursor 7"):
        for video in paginate(session, "/v2/video/list/", {}, items="videos"):
            got.append(video)
    assert len(got) == 2 and len(mocked.calls) == 2


def test_a_cursor_that_comes_back_later_raises(
    mocked: responses.RequestsMock, session: requests.Session
) -> None:
    for cursor in (1, 2, 1):
        mocked.post(f"{BASE}/v2/video/list/",
                    json=_page({"videos": [], "cursor": cursor, "has_more": True}))  # fmt: skip
    with pytest.raises(PaginationError):
        list(paginate(session, "/v2/video/list/", {}))
    assert len(mocked.calls) == 3


def test_has_more_without_a_cursor_raises(
    mocked: responses.RequestsMock, session: requests.Session
) -> None:
    mocked.post(f"{BASE}/v2/video/list/", json=_page({"videos": [], "has_more": True}))
    with pytest.raises(PaginationError, match="no cursor"):
        list(paginate(session, "/v2/video/list/", {}))


def test_an_error_mid_way_raises_after_the_good_pages(
    mocked: responses.RequestsMock, session: requests.Session
) -> None:
    url = f"{BASE}/v2/video/list/"
    mocked.post(url, json=_page({"videos": [{"id": 1}], "cursor": 5, "has_more": True}))
    mocked.post(url, json=_page({}, "internal_error"), status=500)
    got = []
    with pytest.raises(TikTokAPIError) as info:
        for video in paginate(session, "/v2/video/list/", {}, items="videos"):
            got.append(video)
    assert got == [{"id": 1}] and info.value.code == "internal_error"


def test_max_pages_bounds_an_endless_listing(
    mocked: responses.RequestsMock, session: requests.Session
) -> None:
    for cursor in range(5):
        mocked.post(f"{BASE}/v2/video/list/",
                    json=_page({"cursor": cursor + 1, "has_more": True}))  # fmt: skip
    with pytest.raises(PaginationError, match="max_pages=3"):
        list(paginate(session, "/v2/video/list/", {}, max_pages=3))


def test_api_call_returns_data(fake: FakeTikTok, session: requests.Session) -> None:
    data = api_call(session, "/v2/user/info/", {}, ["open_id"])
    assert data == {"user": {"open_id": fake.user["open_id"]}}
    with pytest.raises(TikTokAPIError, match="not_found"):
        api_call(session, "/v2/video/comment/delete/", {"comment_id": "nope"})
