"""The simulator answers the paths real clients call, with the validation TikTok applies.

Business API: advertiser and user info, the OAuth2 helpers, async report tasks, audience
and hourly reports with the common metrics, ``filtering``, GET parameters in a body,
custom audiences, creatives and pixels. Research: queries select by their conditions
and dates. Content Posting: the upload host takes the chunks, and only then does the
post go on.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tiktok_adapter.testing import FakeClock, FakeTikTok

B = "https://business-api.tiktok.com/open_api/v1.3"
V2 = "https://open.tiktokapis.com/v2"
ADV = "7000000000000000001"
TOKEN = {"Access-Token": "act.test"}
BEARER = {"Authorization": "Bearer act.creator"}
INVALID = 40002


@pytest.fixture
def business() -> Iterator[FakeTikTok]:
    with FakeTikTok(clock=FakeClock(), preset="business") as fake:
        yield fake


@pytest.fixture
def research() -> Iterator[FakeTikTok]:
    with FakeTikTok(clock=FakeClock(), preset="research") as fake:
        yield fake


def _get(path: str, **params: Any) -> dict[str, Any]:
    query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    body: dict[str, Any] = requests.get(f"{B}{path}", params=query, headers=TOKEN).json()
    return body


def _ok(body: dict[str, Any]) -> Any:
    assert body["code"] == 0, body
    return body["data"]


def _refused(body: dict[str, Any], words: str) -> None:
    assert body["code"] == INVALID and words in body["message"], body
    assert body["data"] == {} and body["request_id"]


# -- Business API: accounts and OAuth2 ------------------------------------------------------


def test_advertiser_info_lists_each_advertiser_asked_for(business: FakeTikTok) -> None:
    data = _ok(_get("/advertiser/info/", advertiser_ids=[ADV, "7000000000000000002"]))
    assert [a["advertiser_id"] for a in data["list"]] == [ADV, "7000000000000000002"]
    assert {"name", "currency", "timezone", "status", "balance"} <= set(data["list"][0])
    _refused(_get("/advertiser/info/"), "advertiser_ids is required")
    _refused(_get("/advertiser/info/", advertiser_ids="7000"), "JSON list")


def test_user_info_answers_under_open_api(business: FakeTikTok) -> None:
    data = _ok(_get("/user/info/"))
    assert {"core_user_id", "display_name", "email", "avatar_url"} <= set(data)


def test_oauth2_advertiser_get_and_refresh_token(business: FakeTikTok) -> None:
    data = _ok(_get("/oauth2/advertiser/get/", app_id="123", secret="s"))
    assert len(data["list"]) == 2 and {"advertiser_id", "advertiser_name"} <= set(data["list"][0])
    _refused(_get("/oauth2/advertiser/get/", app_id="123"), "secret is required")
    body = {
        "app_id": "123",
        "secret": "s",
        "refresh_token": "rft.old",
        "grant_type": "refresh_token",
    }
    fresh = _ok(requests.post(f"{B}/oauth2/refresh_token/", json=body).json())
    assert fresh["access_token"] != fresh["refresh_token"] and fresh["expires_in"] > 0
    assert fresh["access_token"] in business.oauth.grants
    missing = requests.post(f"{B}/oauth2/refresh_token/", json={"app_id": "1", "secret": "s"})
    _refused(missing.json(), "refresh_token is required")


# -- Business API: reports --------------------------------------------------------------


def _campaigns() -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = _ok(_get("/campaign/get/", advertiser_id=ADV, page_size=100))[
        "list"
    ]
    return listed


def _report(**params: Any) -> dict[str, Any]:
    base = {"advertiser_id": ADV, "start_date": "2024-01-01", "end_date": "2024-01-01",
            "page_size": 1000}  # fmt: skip
    return _get("/report/integrated/get/", **{**base, **params})


def test_an_audience_report_has_a_row_per_object_age_and_gender(business: FakeTikTok) -> None:
    campaigns = _campaigns()
    data = _ok(_report(report_type="AUDIENCE", dimensions=["campaign_id", "age", "gender"],
                       metrics=["spend", "currency", "campaign_name"]))  # fmt: skip
    rows = data["list"]
    assert len(rows) == len(campaigns) * 6 * 3 == data["page_info"]["total_number"]
    assert {r["dimensions"]["gender"] for r in rows} == {"MALE", "FEMALE", "NONE"}
    assert "AGE_25_34" in {r["dimensions"]["age"] for r in rows}
    names = {c["campaign_id"]: c["campaign_name"] for c in campaigns}
    for row in rows:
        assert row["metrics"]["campaign_name"] == names[row["dimensions"]["campaign_id"]]
        assert row["metrics"]["currency"] == "USD"
    _refused(_report(dimensions=["campaign_id", "age"]), "needs report_type AUDIENCE")
    _refused(_report(report_type="AUDIENCE", dimensions=["campaign_id", "income"]), "dimensions")


def test_an_hourly_report_has_24_rows_a_day_and_the_video_metrics(business: FakeTikTok) -> None:
    video = [
        "video_play_actions", "video_watched_2s", "video_watched_6s", "video_views_p25",
        "video_views_p50", "video_views_p75", "video_views_p100", "average_video_play",
    ]  # fmt: skip
    rows = _ok(_report(data_level="AUCTION_ADGROUP", dimensions=["adgroup_id", "stat_time_hour"],
                       metrics=[*video, "campaign_name", "adgroup_name"]))["list"]  # fmt: skip
    ads = _ok(_get("/adgroup/get/", advertiser_id=ADV, page_size=1000))["list"]
    assert len(rows) == 24 * len(ads)
    hours = sorted({r["dimensions"]["stat_time_hour"] for r in rows})
    assert hours[0] == "2024-01-01 00:00:00" and hours[-1] == "2024-01-01 23:00:00"
    m = rows[0]["metrics"]
    assert set(m) == set(video) | {"campaign_name", "adgroup_name"}
    plays, p25, p100 = (
        int(m["video_play_actions"]),
        int(m["video_views_p25"]),
        int(m["video_views_p100"]),
    )
    assert plays >= int(m["video_watched_2s"]) >= int(m["video_watched_6s"]) and p25 >= p100
    _refused(_report(dimensions=["campaign_id", "stat_time_hour"], end_date="2024-01-02"),
             "same day")  # fmt: skip
    _refused(_report(metrics=["ad_name"]), "not available at AUCTION_CAMPAIGN")
    _refused(_report(metrics=["video_views_p99"]), "video_views_p99")


def test_filtering_picks_objects_in_reports_and_listings(business: FakeTikTok) -> None:
    picked = [c["campaign_id"] for c in _campaigns()[:2]]
    rows = _ok(_report(filtering={"campaign_ids": picked}))["list"]
    assert sorted(r["dimensions"]["campaign_id"] for r in rows) == sorted(picked)
    # v1.3's list form, each filter_value JSON text
    listed = [
        {"field_name": "campaign_ids", "filter_type": "IN", "filter_value": json.dumps(picked[:1])}
    ]
    rows = _ok(_report(filtering=listed))["list"]
    assert [r["dimensions"]["campaign_id"] for r in rows] == picked[:1]
    groups = _ok(_get("/adgroup/get/", advertiser_id=ADV, filtering={"campaign_ids": picked[:1]}))
    assert groups["list"] and {g["campaign_id"] for g in groups["list"]} == {picked[0]}
    off = {"advertiser_id": ADV, "campaign_ids": picked[:1], "operation_status": "DISABLE"}
    _ok(requests.post(f"{B}/campaign/status/update/", json=off, headers=TOKEN).json())
    disabled = _ok(
        _get("/campaign/get/", advertiser_id=ADV, filtering={"primary_status": "STATUS_DISABLE"})
    )
    assert [c["campaign_id"] for c in disabled["list"]] == picked[:1]
    enabled = _ok(_get("/campaign/get/", advertiser_id=ADV, page_size=100,
                       filtering={"status": "STATUS_DELIVERY_OK"}))  # fmt: skip
    assert picked[0] not in {c["campaign_id"] for c in enabled["list"]}
    assert picked[1] in {c["campaign_id"] for c in enabled["list"]}
    _refused(_get("/campaign/get/", advertiser_id=ADV, filtering={"status": "ON"}), "STATUS_ALL")
    _refused(_get("/campaign/get/", advertiser_id=ADV, filtering={"campaign_ids": "1"}), "list")


def test_report_tasks_succeed_after_a_while(business: FakeTikTok) -> None:
    body = {"advertiser_id": ADV, "report_type": "BASIC", "data_level": "AUCTION_CAMPAIGN",
            "dimensions": ["campaign_id", "stat_time_day"], "metrics": ["spend", "impressions"],
            "start_date": "2024-01-01", "end_date": "2024-01-07"}  # fmt: skip
    made = _ok(requests.post(f"{B}/report/task/create/", json=body, headers=TOKEN).json())
    task = made["task_id"]
    check = _ok(_get("/report/task/check/", advertiser_id=ADV, task_id=task))
    assert check["status"] in ("QUEUING", "PROCESSING")
    _refused(_get("/report/task/download/", advertiser_id=ADV, task_id=task), "not finished")
    business.clock.advance(20)  # type: ignore[attr-defined]
    check = _ok(_get("/report/task/check/", advertiser_id=ADV, task_id=task))
    assert check["status"] == "SUCCESS" and check["total_rows"] == 7 * len(_campaigns())
    assert _ok(_get("/report/task/download/", advertiser_id=ADV, task_id=task))["download_url"]
    _refused(_get("/report/task/check/", advertiser_id=ADV, task_id="1"), "does not exist")
    _refused(_get("/report/task/check/", task_id=task), "advertiser_id is required")
    bad = requests.post(
        f"{B}/report/task/create/", json={**body, "metrics": ["spent"]}, headers=TOKEN
    )
    _refused(bad.json(), "spent")


def test_get_parameters_in_a_form_or_json_body_are_read(business: FakeTikTok) -> None:
    params = {"advertiser_ids": json.dumps([ADV])}
    form = requests.get(f"{B}/advertiser/info/", data=params, headers=TOKEN).json()
    as_json = requests.get(f"{B}/advertiser/info/", json={"advertiser_ids": [ADV]}, headers=TOKEN)
    assert _ok(form)["list"][0]["advertiser_id"] == ADV
    assert _ok(as_json.json())["list"][0]["advertiser_id"] == ADV
    # The query string wins where both name a parameter.
    both = requests.get(f"{B}/campaign/get/", params={"advertiser_id": ADV, "page_size": "2"},
                        data={"page_size": "5"}, headers=TOKEN)  # fmt: skip
    assert _ok(both.json())["page_info"]["page_size"] == 2


# -- Business API: audiences, creatives, pixels -------------------------------------------


def test_custom_audiences_list_and_get(business: FakeTikTok) -> None:
    listed = _ok(_get("/dmp/custom_audience/list/", advertiser_id=ADV))
    ids = [a["audience_id"] for a in listed["list"]]
    assert len(ids) == listed["page_info"]["total_number"] > 1
    got = _ok(_get("/dmp/custom_audience/get/", advertiser_id=ADV, custom_audience_ids=ids[:2]))
    assert [a["audience_details"]["audience_id"] for a in got["list"]] == ids[:2]
    _refused(_get("/dmp/custom_audience/get/", advertiser_id=ADV, custom_audience_ids=["9"]),
             "do not exist")  # fmt: skip
    _refused(_get("/dmp/custom_audience/list/"), "advertiser_id is required")


def test_creatives_and_pixels(business: FakeTikTok) -> None:
    videos = _ok(_get("/file/video/ad/search/", advertiser_id=ADV, page_size=3))
    assert len(videos["list"]) == 3 and videos["page_info"]["total_number"] > 3
    vid = videos["list"][0]["video_id"]
    info = _ok(_get("/file/video/ad/info/", advertiser_id=ADV, video_ids=[vid]))
    assert info["list"] == [videos["list"][0]]
    images = _ok(_get("/file/image/ad/search/", advertiser_id=ADV))["list"]
    one = _ok(_get("/file/image/ad/info/", advertiser_id=ADV, image_ids=[images[0]["image_id"]]))
    assert one["list"][0]["image_url"] == images[0]["image_url"]
    _refused(_get("/file/image/ad/info/", advertiser_id=ADV), "image_ids is required")
    pixels = _ok(_get("/pixel/list/", advertiser_id=ADV))
    assert pixels["pixels"][0]["pixel_code"] and pixels["page_info"]["total_number"] == 2


def test_the_new_paths_count_toward_the_app_qps_and_oauth_does_not(business: FakeTikTok) -> None:
    calls = [
        lambda: _get("/advertiser/info/", advertiser_ids=[ADV]),
        lambda: _get("/user/info/"),
        lambda: _get("/pixel/list/", advertiser_id=ADV),
        lambda: _get("/dmp/custom_audience/list/", advertiser_id=ADV),
        lambda: _get("/file/video/ad/search/", advertiser_id=ADV),
    ]
    answers = [calls[n % len(calls)]() for n in range(10)]  # 10/second, all at one instant
    assert all(a["code"] == 0 for a in answers)
    over = _get("/report/task/check/", advertiser_id=ADV, task_id="1")
    assert over["code"] == 40100
    assert (
        over["message"] == "Due to too many requests, requests from App are temporarily restricted."
    )
    fresh = requests.post(f"{B}/oauth2/refresh_token/",
                          json={"app_id": "1", "secret": "s", "refresh_token": "r"})  # fmt: skip
    assert fresh.json()["code"] == 0  # OAuth is never counted


# -- Research: conditions and dates ------------------------------------------------------


def _search(
    body: dict[str, Any],
    fields: str = "id,create_time,region_code,username,hashtag_names,video_description",
) -> dict[str, Any]:
    reply = requests.post(f"{V2}/research/video/query/?fields={fields}", json=body, headers=BEARER)
    out: dict[str, Any] = reply.json()
    return out


def _all(query: dict[str, Any], start: str, end: str) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"query": query, "start_date": start, "end_date": end, "max_count": 100}
    videos: list[dict[str, Any]] = []
    while True:
        data = _search(body)["data"]
        videos += data["videos"]
        if not data["has_more"]:
            return videos
        body = {**body, "cursor": data["cursor"], "search_id": data["search_id"]}


def _cond(field: str, *values: str, op: str = "IN") -> dict[str, Any]:
    return {"operation": op, "field_name": field, "field_values": list(values)}


def _day(stamp: int) -> str:
    return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).strftime("%Y%m%d")


def test_research_dates_pick_the_videos_created_in_them(research: FakeTikTok) -> None:
    everyone = {"and": []}
    first = _all(everyone, "20240101", "20240102")
    second = _all(everyone, "20240103", "20240103")
    assert first and second
    assert {_day(v["create_time"]) for v in first} == {"20240101", "20240102"}
    assert {_day(v["create_time"]) for v in second} == {"20240103"}
    assert not {v["id"] for v in first} & {v["id"] for v in second}
    # The same dates give the same videos again.
    assert [v["id"] for v in _all(everyone, "20240103", "20240103")] == [v["id"] for v in second]


def test_research_conditions_select_videos(research: FakeTikTok) -> None:
    days = ("20240101", "20240105")
    every = _all({"and": []}, *days)
    us = _all({"and": [_cond("region_code", "US")]}, *days)
    assert us and all(v["region_code"] == "US" for v in us)
    assert {v["id"] for v in us} == {v["id"] for v in every if v["region_code"] == "US"}
    not_us = _all({"not": [_cond("region_code", "US")]}, *days)
    assert len(us) + len(not_us) == len(every)
    tag = every[0]["hashtag_names"][0]
    tagged = _all({"and": [_cond("hashtag_name", tag.upper())]}, *days)
    assert tagged and all(tag in v["hashtag_names"] for v in tagged) and len(tagged) < len(every)
    word = every[0]["video_description"].split()[0]
    worded = _all({"and": [_cond("keyword", word)]}, *days)
    assert worded and all(word in v["video_description"] for v in worded)
    user = every[0]["username"]
    either = _all({"or": [_cond("username", user), _cond("region_code", "JP")]}, *days)
    assert either and all(v["username"] == user or v["region_code"] == "JP" for v in either)
    assert {v["id"] for v in either} == {
        v["id"] for v in every if v["username"] == user or v["region_code"] == "JP"
    }
    one = _all({"and": [_cond("video_id", str(every[3]["id"]))]}, *days)
    assert [v["id"] for v in one] == [every[3]["id"]]
    late = _all({"and": [_cond("create_date", "20240104", op="GTE")]}, *days)
    assert {_day(v["create_time"]) for v in late} == {"20240104", "20240105"}


def test_research_pages_are_disjoint_and_their_comments_are_served(research: FakeTikTok) -> None:
    body = {"query": {"and": [_cond("region_code", "US", "GB")]}, "start_date": "20240101",
            "end_date": "20240110", "max_count": 50}  # fmt: skip
    one = _search(body)["data"]
    two = _search({**body, "cursor": one["cursor"], "search_id": one["search_id"]})["data"]
    assert len(one["videos"]) == len(two["videos"]) == 50 and one["has_more"]
    assert not {v["id"] for v in one["videos"]} & {v["id"] for v in two["videos"]}
    video = one["videos"][0]["id"]
    listed = requests.post(f"{V2}/research/video/comment/list/?fields=id,video_id",
                           json={"video_id": video, "max_count": 100}, headers=BEARER)  # fmt: skip
    assert listed.status_code == 200
    assert all(c["video_id"] == video for c in listed.json()["data"]["comments"])


def test_the_creators_own_videos_are_found_on_their_days(research: FakeTikTok) -> None:
    own = research.videos[5]
    day = _day(own["create_time"])
    mine = _all({"and": [_cond("username", research.user["username"])]}, day, day)
    assert own["id"] in {str(v["id"]) for v in mine}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"end_date": "20240201"}, "0 to 30 days"),
        ({"start_date": "2024-01-01"}, "start_date must be a date"),
        ({"query": {"and": [_cond("country", "US")]}}, "field_name must be one of"),
        ({"query": {"and": [_cond("region_code", "US", op="LIKE")]}}, "operation must be"),
        ({"query": {"and": [{"operation": "IN", "field_name": "region_code"}]}}, "non-empty list"),
        ({"query": {"and": [_cond("region_code", "US", op="GT")]}}, "GT takes one value"),
        ({"query": {"also": []}}, "only and, or and not"),
        ({"query": "US"}, "query must be an object"),
    ],
)
def test_research_refuses_malformed_queries(
    research: FakeTikTok, change: dict[str, Any], words: str
) -> None:
    body = {"query": {"and": []}, "start_date": "20240101", "end_date": "20240102", **change}
    reply = requests.post(f"{V2}/research/video/query/?fields=id", json=body, headers=BEARER)
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["code"] == "invalid_params" and words in error["message"], error


# -- Content Posting: the upload host ----------------------------------------------------

MB = 1024 * 1024


def test_a_file_upload_publishes_once_every_chunk_arrived() -> None:
    clock = FakeClock()
    with FakeTikTok(clock=clock, preset="content-posting") as fake:
        size, chunk = 12 * MB, 5 * MB  # two chunks: 5 MB, then the 7 MB rest
        body = {"post_info": {"title": "hi", "privacy_level": "SELF_ONLY"},
                "source_info": {"source": "FILE_UPLOAD", "video_size": size,
                                "chunk_size": chunk, "total_chunk_count": 2}}  # fmt: skip
        init = requests.post(f"{V2}/post/publish/video/init/", json=body, headers=BEARER).json()
        url, ask = init["data"]["upload_url"], {"publish_id": init["data"]["publish_id"]}
        assert url.startswith("https://open-upload.tiktokapis.com/")

        def status() -> dict[str, Any]:
            reply = requests.post(f"{V2}/post/publish/status/fetch/", json=ask, headers=BEARER)
            data: dict[str, Any] = reply.json()["data"]
            return data

        def put(first: int, last: int, data: bytes, kind: str = "video/mp4") -> requests.Response:
            headers = {"Content-Range": f"bytes {first}-{last}/{size}", "Content-Type": kind}
            return requests.put(url, data=data, headers=headers)

        assert put(0, chunk - 1, b"a" * chunk).status_code == 206
        assert status() == {**status(), "status": "PROCESSING_UPLOAD", "uploaded_bytes": chunk}
        clock.advance(3600)  # half a video never finishes
        assert status()["status"] == "PROCESSING_UPLOAD"
        # Refused: a range that is no chunk, a body shorter than its range, no video type.
        assert put(0, 99, b"a" * 100).status_code == 416
        assert put(chunk, size - 1, b"b" * 10).status_code == 400
        assert put(chunk, size - 1, b"b" * (size - chunk), kind="text/plain").status_code == 400
        last = put(chunk, size - 1, b"b" * (size - chunk))
        assert last.status_code == 201
        assert status()["status"] == "PROCESSING_UPLOAD" and status()["uploaded_bytes"] == size
        clock.advance(31)
        done = status()
        assert done["status"] == "PUBLISH_COMPLETE" and done["publicaly_available_post_id"]
        assert fake.count("/upload/video/") == 5
        one_byte = {"Content-Range": "bytes 0-0/1", "Content-Type": "video/mp4"}
        unknown = requests.put(
            url.replace("upload_id=", "upload_id=9"), data=b"x", headers=one_byte
        )
        assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (
            {"video_size": 12 * MB, "chunk_size": 5 * MB, "total_chunk_count": 3},
            "total_chunk_count",
        ),
        ({"video_size": 12 * MB, "chunk_size": MB, "total_chunk_count": 12}, "5 MB to 64 MB"),
        ({"video_size": 100, "chunk_size": 200, "total_chunk_count": 1}, "must not exceed"),
        ({"chunk_size": 100, "total_chunk_count": 1}, "video_size must be a positive"),
    ],
)
def test_a_file_upload_init_checks_its_chunking(source: dict[str, Any], words: str) -> None:
    with FakeTikTok(clock=FakeClock(), preset="content-posting"):
        body = {"post_info": {"privacy_level": "SELF_ONLY"},
                "source_info": {"source": "FILE_UPLOAD", **source}}  # fmt: skip
        reply = requests.post(f"{V2}/post/publish/video/init/", json=body, headers=BEARER)
        assert reply.status_code == 400 and words in reply.json()["error"]["message"]


def test_the_httpx_transport_serves_the_upload_host_too() -> None:
    httpx = pytest.importorskip("httpx")
    from tiktok_adapter.testing.httpx_fake import mock_transport

    fake = FakeTikTok(clock=FakeClock(), preset="content-posting")
    with httpx.Client(transport=mock_transport(fake)) as client:
        body = {"post_info": {"privacy_level": "SELF_ONLY"},
                "source_info": {"source": "FILE_UPLOAD", "video_size": 10,
                                "chunk_size": 10, "total_chunk_count": 1}}  # fmt: skip
        init = client.post(f"{V2}/post/publish/video/init/", json=body, headers=BEARER).json()
        headers = {"Content-Range": "bytes 0-9/10", "Content-Type": "video/mp4"}
        put = client.put(init["data"]["upload_url"], content=b"0123456789", headers=headers)
        assert put.status_code == 201
        ask = {"publish_id": init["data"]["publish_id"]}
        status = client.post(f"{V2}/post/publish/status/fetch/", json=ask, headers=BEARER)
        assert status.json()["data"]["uploaded_bytes"] == 10
