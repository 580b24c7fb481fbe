"""Every preset in the simulator: each family's shapes, token and daily windows, no refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from conftest import stop_process

from tiktok_adapter import QuotaExhausted, mount
from tiktok_adapter.cli import main
from tiktok_adapter.testing import FakeClock, FakeTikTok, RateHeaders, TikTokApp

V2 = "https://open.tiktokapis.com/v2"
BIZ = "https://business-api.tiktok.com/open_api/v1.3/business"
DAY = 86400
MIDNIGHT = 1_700_006_400  # 2023-11-15 00:00 UTC
TOKEN = {"Access-Token": "act.simulated"}
# TikTok's wording of a 40100, as the API's users report it.
TIKTOK_40100 = "Due to too many requests, requests from App are temporarily restricted."


def _utc(hour: int, minute: int = 0) -> float:
    """A moment on 2023-11-14 (UTC), the day before MIDNIGHT."""
    return MIDNIGHT - DAY + hour * 3600 + minute * 60


def _v2_data(response: requests.Response) -> Any:
    body = response.json()
    assert response.status_code == 200, body
    assert body["error"]["code"] == "ok" and body["error"]["log_id"]
    return body["data"]


def _biz_data(response: requests.Response) -> Any:
    body = response.json()
    assert response.status_code == 200 and body["code"] == 0, body
    assert body["message"] == "OK" and body["request_id"]
    return body["data"]


# -- each family answers in its shape ---------------------------------------------------


def _bget(session: requests.Session, path: str, **params: str | int) -> requests.Response:
    return session.get(f"{BIZ}/{path}/", params={"business_id": "b", **params}, headers=TOKEN)


def _bpost(session: requests.Session, path: str, **body: object) -> requests.Response:
    return session.post(f"{BIZ}/{path}/", json={"business_id": "b", **body}, headers=TOKEN)


def test_business_answers_with_its_envelope_and_keeps_comments(
    clock: FakeClock, session: requests.Session
) -> None:
    with FakeTikTok(preset="business", clock=clock, require_auth=True) as fake:
        assert fake.base_url == "https://business-api.tiktok.com"
        account = _biz_data(_bget(session, "get"))
        assert account == {
            "display_name": fake.user["display_name"],
            "profile_image": fake.user["avatar_url"],
        }
        video = next(v["id"] for v in fake.videos if len(fake.comments(v["id"])) >= 2)
        listed = _biz_data(_bget(session, "comment/list", video_id=video))
        assert set(listed) == {"comments", "cursor", "has_more"}
        first = listed["comments"][0]
        assert {"comment_id", "video_id", "text", "likes", "status", "pinned"} <= set(first)
        cid = first["comment_id"]
        hidden = _bpost(session, "comment/hide", comment_id=cid, video_id=video, action="HIDE")
        assert _biz_data(hidden) == {}
        made = _biz_data(_bpost(session, "comment/reply/create", comment_id=cid, text="hi"))
        assert made["parent_comment_id"] == cid and made["owner"] is True
        replies = _biz_data(_bget(session, "comment/reply/list", comment_id=cid))
        assert [r["comment_id"] for r in replies["comments"]] == [made["comment_id"]]
        public = _biz_data(
            _bget(session, "comment/list", video_id=video, status="PUBLIC", max_count=30)
        )
        assert cid not in {c["comment_id"] for c in public["comments"]}
        assert fake.comment(cid).hidden
        assert [a.action for a in fake.actions] == ["hide", "create"]

        # Errors are HTTP 200 too, with the Business API's numeric codes.
        no_token = session.get(f"{BIZ}/get/", params={"business_id": "b"})
        assert no_token.status_code == 200 and no_token.json()["code"] == 40105
        missing = session.get(f"{BIZ}/comment/list/", params={"video_id": video}, headers=TOKEN)
        assert missing.json()["code"] == 40002 and "business_id" in missing.json()["message"]
        wrong_verb = session.post(f"{BIZ}/comment/list/", json={"business_id": "b"}, headers=TOKEN)
        assert wrong_verb.json()["code"] != 0


def test_business_refuses_with_40100_and_no_rate_headers(
    clock: FakeClock, session: requests.Session
) -> None:
    with FakeTikTok(preset="business", clock=clock) as fake:
        answers = [session.get(f"{BIZ}/get/", params={"business_id": "b"}) for _ in range(11)]
        assert {a.status_code for a in answers} == {200}
        assert [a.json()["code"] for a in answers] == [0] * 10 + [40100]
        refused = answers[-1].json()
        assert refused["message"] == TIKTOK_40100
        assert refused["data"] == {} and refused["request_id"]
        assert not {h for h in answers[-1].headers if h.startswith("X-RateLimit")}
        assert "Retry-After" not in answers[-1].headers
        assert fake.rate_limited == 1 and fake.count(status=429) == 0


def test_business_tiers_and_per_account_windows(
    clock: FakeClock, session: requests.Session
) -> None:
    with FakeTikTok(preset="business", tier="advanced", clock=clock) as fake:
        assert fake.app.app_limit == "20/second;1200/minute;1728000/day@utc"
        assert fake.adapter_options()["tier"] == "advanced"
    table = {"/business/comment/list/": "2/minute@account"}
    with FakeTikTok(preset="business", limits=table, app_limit=None, clock=clock):
        video = "7466857273510445541"

        def listing(account: str) -> int:
            params = {"business_id": account, "video_id": video}
            return int(session.get(f"{BIZ}/comment/list/", params=params).json()["code"])

        assert [listing("a"), listing("a"), listing("b"), listing("a")] == [0, 0, 0, 40100]


def test_research_answers_with_search_ids_and_pages(
    clock: FakeClock, session: requests.Session
) -> None:
    with FakeTikTok(preset="research", clock=clock):
        body: dict[str, Any] = {
            "query": {"and": [{"operation": "IN", "field_name": "region_code",
                               "field_values": ["US"]}]},
            "start_date": "20231101", "end_date": "20231114", "max_count": 25,
        }  # fmt: skip
        url = f"{V2}/research/video/query/?fields=id,username,like_count"
        first = _v2_data(session.post(url, json=body))
        assert len(first["videos"]) == 25 and first["has_more"] and first["search_id"]
        second = _v2_data(session.post(url, json={**body, "cursor": first["cursor"],
                                                  "search_id": first["search_id"]}))  # fmt: skip
        assert second["search_id"] == first["search_id"] and second["cursor"] == 50
        assert not {v["id"] for v in first["videos"]} & {v["id"] for v in second["videos"]}
        lost = session.post(url, json={**body, "cursor": 25})
        assert lost.status_code == 400 and lost.json()["error"]["code"] == "invalid_params"
        too_long = session.post(url, json={**body, "start_date": "20230101"})
        assert too_long.status_code == 400

        user = _v2_data(session.post(f"{V2}/research/user/info/", json={"username": "a.b"}))
        assert {"display_name", "follower_count", "following_count"} <= set(user)
        followers: list[dict[str, str]] = []
        page: dict[str, Any] = {"username": "a.b", "max_count": 100}
        while True:
            data = _v2_data(session.post(f"{V2}/research/user/followers/", json=page))
            followers += data["user_followers"]
            if not data["has_more"]:
                break
            page["cursor"] = data["cursor"]
        assert len(followers) == user["follower_count"]
        following = _v2_data(session.post(f"{V2}/research/user/following/", json=page))
        assert "user_following" in following


def test_content_posting_gives_publish_ids_that_finish(
    clock: FakeClock, session: requests.Session
) -> None:
    auth = {"Authorization": "Bearer act.creator"}
    with FakeTikTok(preset="content-posting", clock=clock):
        info = _v2_data(session.post(f"{V2}/post/publish/creator_info/query/", headers=auth))
        assert "PUBLIC_TO_EVERYONE" in info["privacy_level_options"]
        body = {"post_info": {"title": "hi", "privacy_level": "SELF_ONLY"},
                "source_info": {"source": "FILE_UPLOAD", "video_size": 1000,
                                "chunk_size": 1000, "total_chunk_count": 1}}  # fmt: skip
        init = _v2_data(session.post(f"{V2}/post/publish/video/init/", json=body, headers=auth))
        assert init["publish_id"].startswith("v_pub_file_upload~") and init["upload_url"]
        status_url = f"{V2}/post/publish/status/fetch/"
        ask = {"publish_id": init["publish_id"]}
        assert _v2_data(session.post(status_url, json=ask, headers=auth))["status"] == (
            "PROCESSING_UPLOAD"
        )
        # Processing starts once the upload host has every byte (tests/test_simulator_paths.py).
        put = session.put(init["upload_url"], data=b"v" * 1000,
                          headers={"Content-Range": "bytes 0-999/1000",
                                   "Content-Type": "video/mp4"})  # fmt: skip
        assert put.status_code == 201
        clock.advance(31)
        assert _v2_data(session.post(status_url, json=ask, headers=auth))["status"] == (
            "PUBLISH_COMPLETE"
        )
        pull = {"source_info": {"source": "PULL_FROM_URL", "video_url": "https://x.test/v.mp4"}}
        inbox = _v2_data(session.post(f"{V2}/post/publish/inbox/video/init/", json=pull,
                                      headers=auth))  # fmt: skip
        assert "upload_url" not in inbox
        bad = session.post(f"{V2}/post/publish/video/init/", json={"post_info": {}}, headers=auth)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_params"


# -- per-token counting and the daily quota ---------------------------------------------


def test_two_tokens_each_get_their_own_six_a_minute(
    clock: FakeClock, session: requests.Session
) -> None:
    body = {"source_info": {"source": "PULL_FROM_URL", "video_url": "https://x.test/v.mp4"},
            "post_info": {"privacy_level": "SELF_ONLY"}}  # fmt: skip
    url = f"{V2}/post/publish/video/init/"
    with FakeTikTok(preset="content-posting", clock=clock, rate_headers=True) as fake:

        def init(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return session.post(url, json=body, headers=headers).status_code

        assert [init("alice") for _ in range(7)] == [200] * 6 + [429]
        assert [init("bob") for _ in range(7)] == [200] * 6 + [429]
        refused = session.post(url, json=body, headers={"Authorization": "Bearer alice"})
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert refused.headers["Retry-After"] == "60"
        clock.advance(60)
        assert init("alice") == 200 and init("bob") == 200
        assert fake.rate_limited == 3


def test_the_daily_quota_resets_at_utc_midnight(
    clock: FakeClock, session: requests.Session
) -> None:
    clock.set(MIDNIGHT - 120)
    url = f"{V2}/research/user/info/"
    with FakeTikTok(preset="research", clock=clock, rate_headers=True) as fake:
        statuses = {session.post(url, json={"username": "a"}).status_code for _ in range(1000)}
        assert statuses == {200}
        spent = session.post(url, json={"username": "a"})
        assert spent.status_code == 429
        assert spent.json()["error"]["code"] == "daily_quota_limit_exceeded"
        assert spent.headers["Retry-After"] == "120"
        # Followers have a quota of their own, outside the app's 1,000.
        follow = session.post(f"{V2}/research/user/followers/", json={"username": "a"})
        assert follow.status_code == 200
        clock.advance(119)
        assert session.post(url, json={"username": "a"}).status_code == 429
        clock.advance(1)  # 00:00:00 UTC: a new day
        assert session.post(url, json={"username": "a"}).status_code == 200
        assert fake.rate_limited == 2


def test_the_adapter_waits_for_midnight_or_raises_quota_exhausted(
    clock: FakeClock, session: requests.Session
) -> None:
    url = f"{V2}/research/user/info/"
    clock.set(_utc(23, 30))
    # With rate headers, as a server that sends them: X-RateLimit-Remaining: 0 blocks it.
    with FakeTikTok(preset="research", clock=clock, rate_headers=True) as fake:
        mount(session, **fake.adapter_options(), default_priority="critical")
        for _ in range(1005):
            assert session.post(url, json={"username": "a"}).status_code == 200
        assert fake.rate_limited == 0
        assert clock.now() >= MIDNIGHT  # the last five waited for the new UTC day
    clock.set(MIDNIGHT + 3600)  # a whole day ahead of the next reset
    # Without rate headers: the adapter's own count has to spot the spent quota (with
    # X-RateLimit-Remaining: 0 it blocks the endpoint until the reset instead).
    quiet = RateHeaders(limit=False, remaining=False, reset=False)
    with FakeTikTok(preset="research", clock=clock, rate_headers=quiet) as fake, \
            requests.Session() as s:  # fmt: skip
        # A spent quota sleeps until it resets, however long, unless max_wait says otherwise.
        mount(s, **fake.adapter_options(), default_priority="critical", max_wait=3600)
        for _ in range(1000):
            s.post(url, json={"username": "a"})
        with pytest.raises(QuotaExhausted) as exhausted:
            s.post(url, json={"username": "a"})
        assert exhausted.value.response is None  # our own refusal: nothing was sent
        assert fake.rate_limited == 0 and len(fake.requests) == 1000


# -- every preset, with the adapter, over hours -----------------------------------------

Send = Callable[[requests.Session, int], requests.Response]


def _ids(fake: FakeTikTok) -> Iterator[str]:
    return iter([c.id for v in fake.videos for c in fake.comments(v["id"])])


def _seed(fake: FakeTikTok) -> list[Send]:
    ids, video = _ids(fake), fake.videos[0]["id"]
    query = {"filters": {"video_ids": [v["id"] for v in fake.videos[:20]]}}
    return [
        lambda s, n: s.get(f"{V2}/user/info/"),
        lambda s, n: s.post(f"{V2}/video/list/", json={"max_count": 5}),
        lambda s, n: s.post(f"{V2}/video/query/", json=query),
        lambda s, n: s.post(f"{V2}/video/comment/list/", json={"video_id": video}),
        lambda s, n: s.post(f"{V2}/video/comment/create/", json={"video_id": video, "text": "hi"}),
        lambda s, n: s.post(f"{V2}/video/comment/delete/", json={"comment_id": next(ids)}),
        lambda s, n: s.post(f"{V2}/video/comment/pin/", json={"comment_id": next(ids)}),
    ]


def _display(fake: FakeTikTok) -> list[Send]:
    return [lambda s, n: s.get(f"{V2}/user/info/")]


def _posting(fake: FakeTikTok) -> list[Send]:
    pull = {"source": "PULL_FROM_URL", "video_url": "https://x.test/v.mp4"}
    body = {"source_info": pull, "post_info": {"privacy_level": "SELF_ONLY"}}

    def auth(n: int) -> dict[str, str]:
        return {"Authorization": f"Bearer creator-{n % 2}"}  # two creators, alternating

    return [
        lambda s, n: s.post(f"{V2}/post/publish/creator_info/query/", headers=auth(n)),
        lambda s, n: s.post(f"{V2}/post/publish/video/init/", json=body, headers=auth(n)),
        lambda s, n: s.post(
            f"{V2}/post/publish/inbox/video/init/", json={"source_info": pull}, headers=auth(n)
        ),
    ]


def _research(fake: FakeTikTok) -> list[Send]:
    query = {"query": {"and": []}, "start_date": "20231101", "end_date": "20231110"}
    return [
        lambda s, n: s.post(f"{V2}/research/video/query/", json=query),
        lambda s, n: s.post(f"{V2}/research/user/info/", json={"username": f"u{n}"}),
        lambda s, n: s.post(f"{V2}/research/user/followers/", json={"username": f"u{n}"}),
        lambda s, n: s.post(f"{V2}/research/user/following/", json={"username": f"u{n}"}),
    ]


def _business(fake: FakeTikTok) -> list[Send]:
    ids, video = _ids(fake), fake.videos[0]["id"]
    parents = [c.id for c in fake.comments(video) if c.parent_comment_id is None]

    def account(n: int) -> str:
        return f"biz-{n % 2}"  # two business accounts, alternating

    def post(path: str, **body: object) -> Send:
        return lambda s, n: s.post(f"{BIZ}/{path}/", headers=TOKEN,
                                   json={"business_id": account(n), **body})  # fmt: skip

    def get(path: str, **params: str) -> Send:
        return lambda s, n: s.get(f"{BIZ}/{path}/", headers=TOKEN,
                                  params={"business_id": account(n), **params})  # fmt: skip

    return [
        get("get"), get("video/list"),
        get("comment/list", video_id=video), get("comment/reply/list", comment_id=parents[0]),
        post("comment/create", video_id=video, text="thanks"),
        post("comment/reply/create", comment_id=parents[0], text="thanks"),
        post("comment/like", comment_id=parents[0], action="LIKE"),
        post("comment/pin", comment_id=parents[0], video_id=video, action="PIN"),
        lambda s, n: post("comment/hide", comment_id=next(ids), video_id=video)(s, n),
        lambda s, n: post("comment/delete", comment_id=next(ids))(s, n),
    ]  # fmt: skip


# preset, tier, workload, rounds, pause after each round (s), rounds per burst and the
# idle time after each burst (s), start (UTC hour). Bursts fill the short windows; the
# pauses and idle times stretch the run over hours.
WORKLOADS = [
    ("seed", None, _seed, 160, 0.0, 160, 0.0, 9),
    ("display-v2", None, _display, 2100, 0.0, 700, 3600.0, 9),
    ("content-posting", None, _posting, 500, 0.0, 100, 1200.0, 9),
    ("research", None, _research, 1000, 8.0, 1000, 0.0, 22),
    ("business", None, _business, 150, 0.0, 150, 0.0, 9),
    ("business", "basic", _business, 150, 0.0, 150, 0.0, 9),
]


@pytest.mark.parametrize(("preset", "tier", "workload", "rounds", "pause", "burst", "idle",
                          "hour"), WORKLOADS,
                         ids=[f"{w[0]}-{w[1]}" if w[1] else w[0] for w in WORKLOADS])  # fmt: skip
def test_every_preset_runs_for_hours_with_zero_refusals(
    clock: FakeClock,
    session: requests.Session,
    preset: str,
    tier: str | None,
    workload: Callable[[FakeTikTok], list[Send]],
    rounds: int,
    pause: float,
    burst: int,
    idle: float,
    hour: int,
) -> None:
    clock.set(_utc(hour))
    with FakeTikTok(preset=preset, tier=tier, clock=clock, require_auth=False) as fake:
        adapter = mount(session, preset=preset, tier=tier, clock=clock,
                        default_priority="critical")  # fmt: skip
        assert adapter.limiter.preset.app_limit == fake.app.app_limit
        sends = workload(fake)
        start = clock.now()
        for n in range(rounds):
            for send in sends:
                response = send(session, n)
                assert response.status_code == 200, response.text
                if preset == "business":
                    assert response.json()["code"] == 0, response.text
            clock.advance(pause)
            if n % burst == burst - 1:
                clock.advance(idle)
    assert fake.rate_limited == 0
    assert adapter.stats().total.rate_limited == 0
    assert len(fake.requests) == rounds * len(sends)
    assert clock.now() - start > 1.5 * 3600
    assert sum(clock.sleeps) > 0  # the limits did bind: the adapter had to wait


# -- the command line -------------------------------------------------------------------


def test_simulate_help_names_the_families(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--api" in out and "--preset" in out and "--tier" in out and "40100" in out


@pytest.mark.parametrize(
    "argv",
    [["simulate", "--api", "graphql"], ["simulate", "--preset", "nope"],
     ["simulate", "--preset", "research", "--tier", "basic"],
     ["simulate", "--api", "business", "--tier", "gold"]],
)  # fmt: skip
def test_simulate_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--port", "0"]) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_simulate_serves_the_business_api() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tiktok_adapter", "simulate", "--api", "business", "--port", "0",
         "--tier", "basic"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert "business API" in line and "basic" in line
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        with requests.Session() as s:
            got = s.get(url + "open_api/v1.3/business/get/", params={"business_id": "b"},
                        headers=TOKEN, timeout=5)  # fmt: skip
        assert got.status_code == 200 and got.json()["code"] == 0
    finally:
        stop_process(process)
    assert process.returncode == 0
    assert process.stderr is not None
    assert "served 1 requests, 0 answered code 40100" in process.stderr.read()


def test_the_app_knows_every_preset() -> None:
    for preset in ("seed", "display-v2", "research", "content-posting", "business"):
        app = TikTokApp(preset=preset)
        assert app.limits and app.mode.preset_name == preset
    assert TikTokApp(api="business").mode.preset_name == "business"
    with pytest.raises(ValueError, match="API family"):
        TikTokApp(api="graphql")


# -- OAuth ------------------------------------------------------------------------------

CLIENT = {"client_key": "key", "client_secret": "secret"}


def _oauth(session: requests.Session, path: str, **form: str) -> requests.Response:
    # TikTok's OAuth takes a form, not JSON.
    return session.post(f"{V2}/oauth/{path}/", data={**CLIENT, **form})


def test_oauth_issues_refreshes_and_revokes_tokens_in_tiktoks_shapes(
    clock: FakeClock, session: requests.Session
) -> None:
    with FakeTikTok(clock=clock, require_auth=True) as fake:
        client = _oauth(session, "token", grant_type="client_credentials")
        assert client.status_code == 200
        assert client.json().keys() == {"access_token", "expires_in", "token_type"}
        assert client.json()["access_token"].startswith("clt.")
        assert client.json()["expires_in"] == 7200 and client.json()["token_type"] == "Bearer"

        user = _oauth(session, "token", grant_type="authorization_code", code="c1",
                      redirect_uri="https://app.example/cb").json()  # fmt: skip
        assert user.keys() == {"access_token", "expires_in", "open_id", "refresh_expires_in",
                               "refresh_token", "scope", "token_type"}  # fmt: skip
        assert user["access_token"].startswith("act.") and user["refresh_token"].startswith("rft.")
        assert (user["expires_in"], user["refresh_expires_in"]) == (86400, 31536000)
        again = _oauth(session, "token", grant_type="authorization_code", code="c1",
                       redirect_uri="https://app.example/cb").json()  # fmt: skip
        other = _oauth(session, "token", grant_type="authorization_code", code="c2",
                       redirect_uri="https://app.example/cb").json()  # fmt: skip
        assert again["open_id"] == user["open_id"] != other["open_id"]  # one code, one user
        assert again["access_token"] != user["access_token"]

        fresh = _oauth(session, "token", grant_type="refresh_token",
                       refresh_token=user["refresh_token"]).json()  # fmt: skip
        assert fresh["open_id"] == user["open_id"] and fresh["access_token"] != user["access_token"]
        assert fake.oauth.valid(fresh["access_token"], clock.now())

        revoked = _oauth(session, "revoke", token=fresh["access_token"])
        assert revoked.status_code == 200 and revoked.json() == {}
        assert fake.oauth.revoked == {fresh["access_token"]}
        assert not fake.oauth.valid(fresh["access_token"], clock.now())
        clock.advance(86400)
        assert not fake.oauth.valid(user["access_token"], clock.now())  # expired


@pytest.mark.parametrize(
    ("form", "error"),
    [({"grant_type": "password"}, "unsupported_grant_type"),
     ({}, "invalid_request"),
     ({"grant_type": "authorization_code", "redirect_uri": "x"}, "invalid_request"),
     ({"grant_type": "refresh_token", "refresh_token": "rft.unknown"}, "invalid_grant"),
     ({"grant_type": "client_credentials", "client_secret": ""}, "invalid_client")],
)  # fmt: skip
def test_oauth_errors_come_in_tiktoks_oauth_shape(
    fake: FakeTikTok, session: requests.Session, form: dict[str, str], error: str
) -> None:
    refused = _oauth(session, "token", **form)
    assert refused.status_code == 400
    body = refused.json()
    assert body.keys() == {"error", "error_description", "log_id"}
    assert body["error"] == error and body["error_description"] and body["log_id"]
    assert _oauth(session, "revoke").json()["error"] == "invalid_request"


def test_oauth_is_outside_every_limit_in_the_simulator(
    clock: FakeClock, session: requests.Session
) -> None:
    with FakeTikTok(preset="research", clock=clock) as fake:
        for _ in range(1200):  # more than the whole Research day
            assert _oauth(session, "token", grant_type="client_credentials").status_code == 200
        url = f"{V2}/research/user/info/"
        assert session.post(url, json={"username": "a"}).status_code == 200
    assert fake.rate_limited == 0
    with FakeTikTok(clock=clock, app_limit="2/hour"):
        statuses = [_oauth(session, "token", grant_type="client_credentials").status_code
                    for _ in range(5)]  # fmt: skip
        assert statuses == [200] * 5
        assert [session.get(f"{V2}/user/info/").status_code for _ in range(3)] == [200, 200, 429]


# -- Research lists ---------------------------------------------------------------------


def test_research_comments_page_by_cursor_with_tiktoks_fields(
    clock: FakeClock, session: requests.Session
) -> None:
    with FakeTikTok(preset="research", clock=clock) as fake:
        video = max(fake.videos, key=lambda v: len(fake.comments(v["id"])))
        url = f"{V2}/research/video/comment/list/"
        fields = "id,video_id,text,like_count,reply_count,parent_comment_id,create_time"
        got: list[dict[str, Any]] = []
        body: dict[str, Any] = {"video_id": int(video["id"]), "max_count": 2}
        pages = 0
        while True:
            data = _v2_data(session.post(f"{url}?fields={fields}", json=body))
            pages += 1
            assert len(data["comments"]) <= 2
            got += data["comments"]
            if not data["has_more"]:
                break
            body["cursor"] = data["cursor"]
        live = fake.comments(video["id"])
        assert {c["id"] for c in got} == {int(c.id) for c in live} and len(got) == len(live)
        assert pages == -(-len(live) // 2)
        assert all(set(c) == set(fields.split(",")) for c in got)
        assert all(c["video_id"] == int(video["id"]) for c in got)
        only = _v2_data(session.post(f"{url}?fields=id,text", json={"video_id": video["id"]}))
        assert all(set(c) == {"id", "text"} for c in only["comments"])
        too_many = session.post(url, json={"video_id": video["id"], "max_count": 101})
        assert too_many.status_code == 400
        missing = session.post(url, json={"video_id": 1})
        assert missing.json()["error"]["code"] == "invalid_params"


def test_research_liked_reposted_and_pinned_videos(
    clock: FakeClock, session: requests.Session
) -> None:
    with FakeTikTok(preset="research", clock=clock, videos=200) as fake:
        ids = {int(v["id"]) for v in fake.videos}

        def every(path: str, key: str) -> list[dict[str, Any]]:
            videos: list[dict[str, Any]] = []
            body: dict[str, Any] = {"username": "some.user", "max_count": 10}
            while True:
                data = _v2_data(session.post(f"{V2}/research/user/{path}/?fields=id,create_time",
                                             json=body))  # fmt: skip
                assert len(data[key]) <= 10 and all(set(v) == {"id", "create_time"}
                                                    for v in data[key])  # fmt: skip
                videos += data[key]
                if not data["has_more"]:
                    return videos
                body["cursor"] = data["cursor"]

        liked = every("liked_videos", "user_liked_videos")
        times = [v["create_time"] for v in liked]
        assert times == sorted(times, reverse=True) and len(set(times)) == len(times) > 10
        reposted = every("reposted_videos", "user_reposted_videos")
        assert len({v["id"] for v in reposted}) == len(reposted) > 10
        assert {v["id"] for v in liked} | {v["id"] for v in reposted} <= ids
        assert every("liked_videos", "user_liked_videos") == liked  # stable per user
        pinned = _v2_data(session.post(f"{V2}/research/user/pinned_videos/",
                                       json={"username": "some.user"}))  # fmt: skip
        assert 0 < len(pinned["pinned_videos_list"]) <= 3
        assert {"id", "region_code", "hashtag_names"} <= set(pinned["pinned_videos_list"][0])
        nobody = session.post(f"{V2}/research/user/liked_videos/", json={})
        assert nobody.status_code == 400


# -- photo posts ------------------------------------------------------------------------


def test_photo_posts_are_limited_like_video_inits(
    clock: FakeClock, session: requests.Session
) -> None:
    url = f"{V2}/post/publish/content/init/"
    photos = ["https://x.test/1.jpg", "https://x.test/2.jpg"]
    source = {"source": "PULL_FROM_URL", "photo_cover_index": 0, "photo_images": photos}
    body = {"media_type": "PHOTO", "post_mode": "DIRECT_POST", "source_info": source,
            "post_info": {"title": "hi", "privacy_level": "SELF_ONLY"}}  # fmt: skip
    alice, carol = {"Authorization": "Bearer alice"}, {"Authorization": "Bearer carol"}
    with FakeTikTok(preset="content-posting", clock=clock) as fake:
        first = _v2_data(session.post(url, json=body, headers=alice))
        assert first["publish_id"].startswith("p_pub_url~")
        statuses = [session.post(url, json=body, headers=alice).status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        bob = session.post(url, json=body, headers={"Authorization": "Bearer bob"})
        assert bob.status_code == 200
        clock.advance(31)
        ask = {"publish_id": first["publish_id"]}
        done = _v2_data(session.post(f"{V2}/post/publish/status/fetch/", json=ask, headers=alice))
        assert done["status"] == "PUBLISH_COMPLETE"
        inbox = {**body, "post_mode": "MEDIA_UPLOAD", "post_info": {"title": "draft"}}
        assert _v2_data(session.post(url, json=inbox, headers=carol))["publish_id"]
        for bad in ({**body, "media_type": "VIDEO"},
                    {**body, "source_info": {**source, "photo_images": []}},
                    {**body, "source_info": {**source, "photo_cover_index": 2}}):  # fmt: skip
            refused = session.post(url, json=bad, headers=carol)
            assert refused.status_code == 400, bad
        assert fake.rate_limited == 1


# -- the Marketing API ------------------------------------------------------------------

ADS = "https://business-api.tiktok.com/open_api/v1.3"


def _ads_get(session: requests.Session, path: str, **params: object) -> Any:
    query = {k: json.dumps(v) if isinstance(v, (list, dict)) else str(v) for k, v in params.items()}
    return _biz_data(session.get(f"{ADS}/{path}/", params={"advertiser_id": "adv-1", **query},
                                 headers=TOKEN))  # fmt: skip


def test_marketing_listings_page_with_page_info(
    clock: FakeClock, session: requests.Session
) -> None:
    with FakeTikTok(preset="business", clock=clock, require_auth=True):
        campaigns: list[dict[str, Any]] = []
        page = 1
        while True:
            data = _ads_get(session, "campaign/get", page=page, page_size=5)
            info = data["page_info"]
            assert info == {"page": page, "page_size": 5, "total_number": 12, "total_page": 3}
            campaigns += data["list"]
            if page == info["total_page"]:
                break
            page += 1
        assert len({c["campaign_id"] for c in campaigns}) == 12
        assert {"campaign_name", "advertiser_id", "operation_status", "budget",
                "objective_type", "create_time"} <= set(campaigns[0])  # fmt: skip
        first = campaigns[0]["campaign_id"]
        groups = _ads_get(session, "adgroup/get", page_size=100,
                          filtering={"campaign_ids": [first]})  # fmt: skip
        assert groups["page_info"]["total_number"] == 3
        assert {g["campaign_id"] for g in groups["list"]} == {first}
        ads = _ads_get(session, "ad/get", page_size=1000, fields=["ad_id", "adgroup_id"])
        assert ads["page_info"]["total_number"] == 72
        assert all(set(a) == {"ad_id", "adgroup_id"} for a in ads["list"])
        other = _ads_get(session, "campaign/get")["list"]
        assert _ads_get(session, "campaign/get")["list"] == other  # stable per advertiser
        clock.advance(1)  # the app's 10 a second
        made = _biz_data(session.post(f"{ADS}/campaign/create/", headers=TOKEN, json={
            "advertiser_id": "adv-1", "campaign_name": "New", "objective_type": "REACH",
            "budget_mode": "BUDGET_MODE_INFINITE"}))  # fmt: skip
        off = _biz_data(session.post(f"{ADS}/campaign/status/update/", headers=TOKEN, json={
            "advertiser_id": "adv-1", "campaign_ids": [made["campaign_id"], first],
            "operation_status": "DELETE"}))  # fmt: skip
        assert off["status"] == "DELETE"
        assert _ads_get(session, "campaign/get", page_size=100)["page_info"]["total_number"] == 11
        clock.advance(1)
        missing = session.get(f"{ADS}/campaign/get/", headers=TOKEN).json()
        assert missing["code"] == 40002 and "advertiser_id" in missing["message"]
        too_big = session.get(f"{ADS}/ad/get/", params={"advertiser_id": "a", "page_size": 1001},
                              headers=TOKEN).json()  # fmt: skip
        assert too_big["code"] == 40002
        assert session.get(f"{ADS}/ad/get/", params={"advertiser_id": "a"}).json()["code"] == 40105


def test_marketing_reports_and_the_shared_qps(clock: FakeClock, session: requests.Session) -> None:
    with FakeTikTok(preset="business", clock=clock) as fake:
        report = _ads_get(session, "report/integrated/get", report_type="BASIC",
                          data_level="AUCTION_AD", dimensions=["ad_id", "stat_time_day"],
                          metrics=["spend", "impressions", "ctr"], start_date="2023-11-01",
                          end_date="2023-11-03", page_size=1000)  # fmt: skip
        assert report["page_info"]["total_number"] == 72 * 3
        row = report["list"][0]
        assert set(row["dimensions"]) == {"ad_id", "stat_time_day"}
        assert set(row["metrics"]) == {"spend", "impressions", "ctr"}
        assert all(isinstance(v, str) for v in row["metrics"].values())  # as TikTok sends them
        lifetime = _ads_get(session, "report/integrated/get", data_level="AUCTION_CAMPAIGN",
                            dimensions=["campaign_id"], query_lifetime="true")  # fmt: skip
        assert lifetime["page_info"]["total_number"] == 12
        bad = session.get(f"{ADS}/report/integrated/get/", headers=TOKEN, params={
            "advertiser_id": "a", "dimensions": json.dumps(["campaign_id"]),
            "start_date": "2023-01-01", "end_date": "2023-03-01"}).json()  # fmt: skip
        assert bad["code"] == 40002
        app = {"app_id": "1", "secret": "s", "auth_code": "c"}
        login = _biz_data(session.post(f"{ADS}/oauth2/access_token/", json=app))
        assert login["access_token"] and login["advertiser_ids"]
        # The Marketing paths share the app's 10 a second with the rest of the Business API.
        fake.reset()
        codes = [session.get(f"{ADS}/campaign/get/", params={"advertiser_id": "a"}).json()["code"]
                 for _ in range(10)]  # fmt: skip
        codes.append(session.get(f"{BIZ}/get/", params={"business_id": "b"}).json()["code"])
        assert codes == [0] * 10 + [40100]
