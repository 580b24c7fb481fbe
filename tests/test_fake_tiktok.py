"""The simulator answers like TikTok, and the adapter stays inside its limits against it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from tiktok_adapter import TikTokAdapter, mount
from tiktok_adapter.testing import (
    FakeClock,
    FakeTikTok,
    RateHeaders,
    ScaledClock,
    SimulatorServer,
    ThreadedFakeClock,
    TikTokApp,
)
from tiktok_adapter.testing._app import PRESET
from tiktok_adapter.testing.server import LimitFile, load_limits, read_limit_file

BASE = "https://open.tiktokapis.com"
LIST = f"{BASE}/v2/video/list/"
QUERY = f"{BASE}/v2/video/query/"
INFO = f"{BASE}/v2/user/info/"
COMMENTS = f"{BASE}/v2/video/comment"


def _ok(response: requests.Response) -> dict[str, Any]:
    body = response.json()
    assert response.status_code == 200, body
    assert body["error"]["code"] == "ok"
    assert body["error"]["message"] == ""
    assert body["error"]["log_id"]
    data: dict[str, Any] = body["data"]
    return data


# -- answers like TikTok ----------------------------------------------------------------


def test_user_info_by_get_and_post_returns_the_fields_asked(
    fake: FakeTikTok, session: requests.Session
) -> None:
    got = _ok(session.get(INFO, params={"fields": "open_id,display_name,follower_count"}))
    assert set(got["user"]) == {"open_id", "display_name", "follower_count"}
    posted = _ok(session.post(INFO, params={"fields": "open_id"}))
    assert posted["user"] == {"open_id": fake.user["open_id"]}


def test_video_list_pages_through_every_video_by_cursor(
    fake: FakeTikTok, session: requests.Session
) -> None:
    seen: list[str] = []
    body: dict[str, object] = {"max_count": 20}
    cursors = []
    while True:
        data = _ok(session.post(LIST, params={"fields": "id,create_time"}, json=body))
        seen += [v["id"] for v in data["videos"]]
        cursors.append(data["cursor"])
        if not data["has_more"]:
            break
        body["cursor"] = data["cursor"]
    assert seen == [v["id"] for v in fake.videos]
    assert len(seen) == 60 and len(set(seen)) == 60
    assert cursors == sorted(cursors, reverse=True)  # a time in ms, going back


def test_video_query_returns_known_ids_and_drops_unknown_ones(
    fake: FakeTikTok, session: requests.Session
) -> None:
    ids = [fake.videos[3]["id"], "123", fake.videos[0]["id"]]
    data = _ok(
        session.post(QUERY, params={"fields": "id,title"}, json={"filters": {"video_ids": ids}})
    )
    assert {v["id"] for v in data["videos"]} == {ids[0], ids[2]}
    assert all(set(v) == {"id", "title"} for v in data["videos"])


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"filters": {"video_ids": [str(i) for i in range(21)]}}, "id"),
        ({"filters": {"video_ids": []}}, "id"),
        ({"filters": {}}, "id"),
        ({"filters": {"video_ids": ["1"]}}, "id,colour"),
    ],
)
def test_video_query_rejects_bad_input_with_an_error_envelope(
    fake: FakeTikTok, session: requests.Session, body: dict[str, object], fields: str
) -> None:
    response = session.post(QUERY, params={"fields": fields}, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_params"
    assert response.json()["data"] == {}


def test_twenty_ids_is_allowed(fake: FakeTikTok, session: requests.Session) -> None:
    ids = [v["id"] for v in fake.videos[:20]]
    data = _ok(session.post(QUERY, json={"filters": {"video_ids": ids}}))
    assert len(data["videos"]) == 20


def test_comments_persist_and_record_the_moderation_done(
    fake: FakeTikTok, session: requests.Session
) -> None:
    video = next(v["id"] for v in fake.videos if len(fake.comments(v["id"])) >= 3)
    listed = _ok(session.post(f"{COMMENTS}/list/", json={"video_id": video, "max_count": 50}))
    comments = listed["comments"]
    assert [c["id"] for c in comments] == sorted(
        (c.id for c in fake.comments(video)), key=lambda i: -fake.comment(i).create_time
    )
    first, second = comments[0]["id"], comments[1]["id"]
    _ok(session.post(f"{COMMENTS}/delete/", json={"video_id": video, "comment_id": first}))
    _ok(session.post(f"{COMMENTS}/pin/", json={"video_id": video, "comment_id": second}))
    body = {"video_id": video, "text": "thanks!"}
    created = _ok(session.post(f"{COMMENTS}/create/", json=body))["comment"]

    assert fake.comment(first).deleted
    assert fake.comment(second).pinned
    assert created["text"] == "thanks!" and created["create_time"] == int(fake.clock.now())
    assert [(a.action, a.comment_id) for a in fake.actions] == [
        ("delete", first), ("pin", second), ("create", created["id"]),
    ]  # fmt: skip
    again = _ok(session.post(f"{COMMENTS}/list/", json={"video_id": video, "max_count": 50}))
    ids = [c["id"] for c in again["comments"]]
    assert first not in ids and ids[0] == second  # the pinned comment comes first
    assert created["id"] in ids
    gone = session.post(f"{COMMENTS}/delete/", json={"video_id": video, "comment_id": first})
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"


def test_pinning_a_comment_unpins_the_previous_one(
    fake: FakeTikTok, session: requests.Session
) -> None:
    video = next(v["id"] for v in fake.videos if len(fake.comments(v["id"])) >= 2)
    a, b = (c.id for c in fake.comments(video)[:2])
    _ok(session.post(f"{COMMENTS}/pin/", json={"comment_id": a}))
    _ok(session.post(f"{COMMENTS}/pin/", json={"comment_id": b, "action": "PIN"}))
    assert not fake.comment(a).pinned and fake.comment(b).pinned
    _ok(session.post(f"{COMMENTS}/pin/", json={"comment_id": b, "action": "UNPIN"}))
    assert not fake.comment(b).pinned


def test_every_request_is_recorded_with_time_body_and_status(
    fake: FakeTikTok, session: requests.Session, clock: FakeClock
) -> None:
    session.post(LIST, params={"fields": "id"}, json={"max_count": 2})
    clock.advance(12.5)
    session.get(INFO)
    session.post(f"{BASE}/v2/nowhere/")
    first, second, third = fake.requests
    assert (first.method, first.path, first.json, first.status) == (
        "POST", "/v2/video/list/", {"max_count": 2}, 200,
    )  # fmt: skip
    assert first.query == {"fields": "id"} and first.endpoint == "/video/list/"
    assert second.time - first.time == 12.5 and second.json is None
    assert (third.status, third.endpoint) == (404, None)
    assert fake.count("/video/list/") == 1 and fake.count(status=404) == 1


# -- limits, 429s and headers -----------------------------------------------------------


def test_past_the_limit_it_answers_429_with_tiktoks_body_and_no_rate_header(
    fake: FakeTikTok, session: requests.Session, clock: FakeClock
) -> None:
    # TikTok documents no rate header, so by default the simulator sends none.
    answers = [session.post(LIST, json={}) for _ in range(5)]
    clock.advance(20)
    refused = session.post(LIST, json={})
    assert refused.status_code == 429
    body = refused.json()
    assert body["data"] == {}
    assert body["error"]["code"] == "rate_limit_exceeded"
    assert body["error"]["message"] == "The API rate limit was exceeded. Please try again later."
    assert body["error"]["log_id"]
    for answer in [*answers, refused]:
        assert not {"retry-after", "x-ratelimit-limit", "x-ratelimit-remaining",
                    "x-ratelimit-reset"} & {h.lower() for h in answer.headers}  # fmt: skip
    assert answers[0].headers["Date"] == "Tue, 14 Nov 2023 22:13:20 GMT"  # the fake's clock
    assert refused.headers["Date"] == "Tue, 14 Nov 2023 22:13:40 GMT"
    assert fake.rate_limited == 1
    clock.advance(40)
    assert session.post(LIST, json={}).status_code == 200  # 429s did not count


def test_rate_headers_true_sends_them_all(session: requests.Session, clock: FakeClock) -> None:
    with FakeTikTok(clock=clock, rate_headers=True) as fake:
        remaining = [session.post(LIST, json={}).headers["X-RateLimit-Remaining"] for _ in range(5)]
        assert remaining == ["4", "3", "2", "1", "0"]
        clock.advance(20)
        refused = session.post(LIST, json={})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "40"
    assert refused.headers["X-RateLimit-Limit"] == "5"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert int(refused.headers["X-RateLimit-Reset"]) == int(clock.now()) + 40
    assert fake.rate_limited == 1


def test_the_hour_window_and_the_app_window_bind_too(clock: FakeClock) -> None:
    with FakeTikTok(clock=clock, app_limit="12/hour") as fake, requests.Session() as s:
        statuses = []
        for _ in range(12):
            statuses.append(s.get(INFO).status_code)
            clock.advance(61)
        statuses.append(s.post(QUERY, json={"filters": {"video_ids": ["1"]}}).status_code)
        assert statuses == [200] * 12 + [429]
        assert fake.count(status=429) == 1


@pytest.mark.parametrize("off", ["limit", "remaining", "reset", "retry_after", "date"])
def test_each_rate_header_can_be_turned_off(
    clock: FakeClock, session: requests.Session, off: str
) -> None:
    names = {
        "limit": "X-RateLimit-Limit", "remaining": "X-RateLimit-Remaining",
        "reset": "X-RateLimit-Reset", "retry_after": "Retry-After", "date": "Date",
    }  # fmt: skip
    with FakeTikTok(clock=clock, limits={"/user/info/": "1/minute"},
                    rate_headers=RateHeaders(**{off: False})):  # fmt: skip
        session.get(INFO)
        refused = session.get(INFO)
    assert refused.status_code == 429
    assert names[off] not in refused.headers
    assert all(refused.headers.get(h) for k, h in names.items() if k != off)


def test_any_table_on_request_with_calendar_and_per_token_windows(
    clock: FakeClock, session: requests.Session
) -> None:
    clock.set(86400 * 20000 - 10)  # ten seconds before a UTC midnight
    table = {"/video/query/": "2/day@utc", "/user/info/": "1/minute@token"}
    with FakeTikTok(clock=clock, limits=table, app_limit=None):
        body = {"filters": {"video_ids": ["1"]}}
        assert [session.post(QUERY, json=body).status_code for _ in range(3)] == [200, 200, 429]
        clock.advance(10)
        assert session.post(QUERY, json=body).status_code == 200  # a new UTC day
        alice, bob = {"Authorization": "Bearer a"}, {"Authorization": "Bearer b"}
        assert session.get(INFO, headers=alice).status_code == 200
        assert session.get(INFO, headers=bob).status_code == 200
        assert session.get(INFO, headers=alice).status_code == 429
        # The table is merged over the seed's: video/list keeps its 5 a minute ...
        assert [session.post(LIST, json={}).status_code for _ in range(6)] == [200] * 5 + [429]
        # ... and a path outside the table still answers, without a limit.
        research = f"{BASE}/v2/research/user/followers/"
        replies = {session.post(research, json={"username": "a"}).status_code for _ in range(20)}
        assert replies == {200}


def test_custom_host_and_prefix_are_matched_by_path(clock: FakeClock) -> None:
    with (
        FakeTikTok(clock=clock, base_url="http://sandbox.test/proxy") as fake,
        requests.Session() as s,
    ):
        assert s.get("http://sandbox.test/proxy/v2/user/info/").status_code == 200
        assert fake.requests[0].path == "/v2/user/info/"
        with pytest.raises(requests.ConnectionError):
            s.get(INFO)  # not the fake's host: responses refuses it


def test_responses_of_your_own_answer_first_and_the_fake_serves_the_rest(
    clock: FakeClock, session: requests.Session
) -> None:
    comments = f"{BASE}/v2/research/video/comment/list/"
    stub = {"data": {"comments": [], "cursor": 0, "has_more": False},
            "error": {"code": "ok", "message": "", "log_id": "stub"}}  # fmt: skip
    with FakeTikTok(preset="research", clock=clock) as fake:
        fake.mock.post(comments, json=stub)
        fake.mock.get(f"{BASE}/v2/anything/else/", body="mine")
        for _ in range(3):  # the stub answers every time, never shadowed
            assert session.post(comments, json={"video_id": 1}).json() == stub
        assert session.get(f"{BASE}/v2/anything/else/").text == "mine"
        # Every other request, POST or GET, is still the fake's (no ConnectionError).
        user = session.post(f"{BASE}/v2/research/user/info/", json={"username": "a"})
        assert user.status_code == 200 and user.json()["data"]["follower_count"]
        query = {"query": {"and": []}, "start_date": "20231101", "end_date": "20231102"}
        assert session.post(f"{BASE}/v2/research/video/query/", json=query).status_code == 200
        assert session.get(INFO).status_code == 200
        assert fake.count("/research/video/comment/list/") == 0 and len(fake.requests) == 3
        # Take the stub away and the fake answers that URL again.
        fake.mock.remove("POST", comments)
        video = int(fake.videos[0]["id"])
        real = session.post(comments, json={"video_id": video})
        assert real.json()["error"]["log_id"] != "stub"
        assert fake.count("/research/video/comment/list/") == 1


def test_on_a_shared_mock_earlier_responses_win_and_stop_leaves_them(
    mocked: responses.RequestsMock, clock: FakeClock, session: requests.Session
) -> None:
    mocked.post(INFO, json={"mine": True})
    fake = FakeTikTok(clock=clock, mock=mocked).start()
    assert session.post(INFO).json() == {"mine": True}
    assert session.post(INFO).json() == {"mine": True}
    assert session.get(INFO).json()["data"]["user"]  # the fake: another method
    fake.stop()
    assert session.post(INFO).json() == {"mine": True}
    with pytest.raises(requests.ConnectionError):
        session.get(INFO)  # the fake's registrations left with it


def test_limits_merge_into_the_preset_as_the_adapters_do(
    clock: FakeClock, session: requests.Session
) -> None:
    with FakeTikTok(clock=clock, limits={"/video/query/": "3/minute"}) as fake:
        assert fake.app.limits["/video/query/"] == "3/minute"
        assert fake.app.limits["/user/info/"] == "10/minute;100/hour"  # the seed's, kept
        options = fake.adapter_options()
        assert options["limits"] == fake.app.limits and options["preset"] == "seed"
        adapter = mount(requests.Session(), **options)
        assert {e.path: e.limits for e in adapter.limiter.table} == fake.app.limits
        statuses = [session.get(INFO).status_code for _ in range(11)]
        assert statuses == [200] * 10 + [429]
    with FakeTikTok(preset="research", clock=clock, limits={"/research/user/info/": "5/day"}) as r:
        assert r.app.limits["/research/video/query/"] == "1000/day@utc"
        assert r.app.table.match("/research/user/followers/").counts_toward_app is False  # type: ignore[union-attr]


def test_it_can_share_a_requests_mock_and_require_a_token(
    mocked: responses.RequestsMock, clock: FakeClock, session: requests.Session
) -> None:
    mocked.get("https://example.test/", body="elsewhere")
    with FakeTikTok(clock=clock, mock=mocked, require_auth=True):
        refused = session.get(INFO)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "access_token_invalid"
        assert session.get(INFO, headers={"Authorization": "Bearer t"}).status_code == 200
        assert session.get("https://example.test/").text == "elsewhere"


def test_the_fixture_from_the_plugin(fake_tiktok: FakeTikTok, session: requests.Session) -> None:
    assert isinstance(fake_tiktok.clock, FakeClock)
    mount(session, **fake_tiktok.adapter_options())
    for _ in range(11):
        assert session.get(INFO).status_code == 200
    assert fake_tiktok.rate_limited == 0
    assert fake_tiktok.clock.now() - fake_tiktok.requests[0].time >= 60


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_fake_tiktok_without_responses_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['responses'] = None\n"
        "from tiktok_adapter.testing import FakeTikTok\n"
        "try:\n"
        "    with FakeTikTok():\n"
        "        pass\n"
        "except ImportError as exc:\n"
        "    assert type(exc).__name__ == 'MissingDependency', type(exc)\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "pip install 'tiktok-adapter[testing]'" in done.stdout
    assert "No module named" not in done.stdout + done.stderr


def test_the_session_fixture(fake_tiktok: FakeTikTok, tiktok_session: requests.Session) -> None:
    for _ in range(11):
        assert tiktok_session.get(INFO).status_code == 200
    assert fake_tiktok.rate_limited == 0
    assert fake_tiktok.clock.now() - fake_tiktok.requests[0].time >= 60  # it waited, on the clock


README_BOT = """
import requests

closed = []
_close = requests.Session.close


def _recording_close(self):
    closed.append(self)
    _close(self)


requests.Session.close = _recording_close
seen = []


def run_my_bot(session):
    base = "https://open.tiktokapis.com/v2"
    listing = session.post(f"{base}/video/list/", json={"max_count": 20}).json()
    for video in listing["data"]["videos"]:
        page = session.post(f"{base}/video/comment/list/", json={"video_id": video["id"]}).json()
        ids = [c["id"] for c in page["data"]["comments"]]
        if len(ids) > 1:
            session.post(f"{base}/video/comment/pin/", json={"comment_id": ids[0]})
            session.post(f"{base}/video/comment/delete/", json={"comment_id": ids[1]})


def test_my_bot(fake_tiktok, tiktok_session):
    seen.append(tiktok_session)
    run_my_bot(tiktok_session)
    assert fake_tiktok.rate_limited == 0
    assert {a.action for a in fake_tiktok.actions} == {"delete", "pin"}


def test_the_session_was_closed():
    assert seen and seen[0] in closed
"""


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_the_readme_pytest_example_runs_with_the_plugins_fixtures(tmp_path: Path) -> None:
    (tmp_path / "test_bot.py").write_text(README_BOT)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_bot.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_the_plugin_loads_without_responses() -> None:
    code = (
        "import sys; sys.modules['responses'] = None\n"
        "import tiktok_adapter.testing.plugin\n"
        "assert 'rich' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- the adapter against the simulator --------------------------------------------------


def _workload(session: requests.Session, fake: FakeTikTok, rounds: int) -> None:
    video, ids = fake.videos[0]["id"], [v["id"] for v in fake.videos[:20]]
    comment_ids = iter([c.id for v in fake.videos for c in fake.comments(v["id"])])
    for n in range(rounds):
        assert session.post(QUERY, json={"filters": {"video_ids": ids}}).status_code == 200
        assert session.post(f"{COMMENTS}/list/", json={"video_id": video}).status_code == 200
        if n % 2 == 0:
            assert session.get(INFO).status_code == 200
            assert session.post(LIST, json={"max_count": 5}).status_code == 200
            body = {"video_id": video, "text": f"reply {n}"}
            assert session.post(f"{COMMENTS}/create/", json=body).status_code == 200
            body = {"comment_id": next(comment_ids)}
            assert session.post(f"{COMMENTS}/delete/", json=body).status_code == 200


@pytest.mark.parametrize("headers", [RateHeaders(), RateHeaders(False, False, False, False, False)])
def test_the_adapter_gets_zero_429s_over_hours(
    clock: FakeClock, session: requests.Session, headers: RateHeaders
) -> None:
    with FakeTikTok(clock=clock, rate_headers=headers) as fake:
        mount(session, **fake.adapter_options(), default_priority="critical")
        _workload(session, fake, rounds=500)
    assert fake.rate_limited == 0
    assert len(fake.requests) == 2000
    # 500 comment lists at 100 an hour: five hours of windows, simulated.
    assert clock.now() - fake.requests[0].time > 4 * 3600


def test_the_adapter_gets_zero_429s_from_several_threads(session: requests.Session) -> None:
    # The threads share a clock that never moves while a request is on its way (see
    # ThreadedFakeClock): on a plain FakeClock another thread's sleep could make one late.
    clock = ThreadedFakeClock()
    with FakeTikTok(clock=clock) as fake:
        mount(session, **fake.adapter_options(), default_priority="critical")
        ids = [v["id"] for v in fake.videos[:20]]
        statuses: list[int] = []

        def worker() -> None:
            for _ in range(60):
                response = session.post(QUERY, json={"filters": {"video_ids": ids}})
                statuses.append(response.status_code)

        clock.run([worker] * 4)
    assert statuses == [200] * 240
    assert fake.rate_limited == 0 and fake.count("/video/query/") == 240


def test_the_adapter_recovers_when_the_server_is_stricter(
    clock: FakeClock, session: requests.Session
) -> None:
    # Only Retry-After: the other headers would let the adapter stop before the 429.
    only_retry_after = RateHeaders(limit=False, remaining=False, reset=False)
    with FakeTikTok(clock=clock, limits={"/video/query/": "3/minute"}, app_limit=None,
                    rate_headers=only_retry_after) as fake:  # fmt: skip
        adapter = TikTokAdapter(clock=clock, limits={"/video/query/": "100/minute"})
        mount(session, adapter, base_url=BASE + "/")
        body = {"filters": {"video_ids": ["1"]}}
        assert all(session.post(QUERY, json=body).status_code == 200 for _ in range(9))
    assert fake.rate_limited >= 1
    assert adapter.stats().total.rate_limited == fake.rate_limited
    assert fake.count("/video/query/", 200) == 9


# -- the HTTP server and the scaled clock -----------------------------------------------


def test_the_http_server_shares_the_core(clock: FakeClock) -> None:
    app = TikTokApp(clock=clock, limits={"/user/info/": "2/minute"}, headers=True)
    with SimulatorServer(app) as server, requests.Session() as s:
        url = server.url + "v2/user/info/?fields=open_id"
        assert s.get(url).json()["data"]["user"]["open_id"] == app.world.user["open_id"]
        assert s.post(url, json={}).status_code == 200
        refused = s.post(url, data=b"not json")
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
        assert refused.headers["Date"] == "Tue, 14 Nov 2023 22:13:20 GMT"  # the app's clock
        assert s.post(server.url + "v2/video/list/", json={"cursor": -1}).status_code == 400
    assert [r.status for r in app.requests] == [200, 200, 429, 400]


def test_the_scaled_clock_runs_faster() -> None:
    clock = ScaledClock(1000.0, start=50.0)
    before = clock.now()
    clock.sleep(20.0)  # 20 simulated seconds: 20 ms real
    assert 20.0 <= clock.now() - before < 200.0
    assert clock.real(60.0) == 0.06
    with pytest.raises(ValueError):
        ScaledClock(0)


def test_limit_files(tmp_path: Path) -> None:
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"/video/query/": "2/minute"}))
    table, app = load_limits(flat)  # merged over the seed's table, as the adapter merges
    assert table["/video/query/"] == "2/minute" and table["/user/info/"] == "10/minute;100/hour"
    assert app == "1000/hour"
    assert read_limit_file(flat) == LimitFile(None, {"/video/query/": "2/minute"}, PRESET)
    full = tmp_path / "full.json"
    full.write_text(json.dumps({"limits": {"/user/info/": "1/second"}, "app_limit": None}))
    table, app = load_limits(full)
    assert table["/user/info/"] == "1/second" and app is None
    assert read_limit_file(full).app_limit is None
    preset = tmp_path / "preset.json"
    preset.write_text(json.dumps({"preset": "display-v2", "limits": {"/user/info/": "1/hour"}}))
    table, app = load_limits(preset)
    assert table["/user/info/"] == "1/hour" and table["/video/list/"] == "600/minute"
    assert app is None
    assert read_limit_file(preset).preset == "display-v2"
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"preset": "nope"}))
    with pytest.raises(ValueError, match="preset"):
        read_limit_file(unknown)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"limits": {"/user/info/": 5}}))
    with pytest.raises(ValueError, match="limits"):
        load_limits(bad)
    with pytest.raises(ValueError, match="not a limit"):
        TikTokApp(limits={"/user/info/": "lots"})


def test_per_token_windows_tell_body_tokens_apart(clock: FakeClock) -> None:
    # Content Posting: 6 inits a minute per token, the token in a form or JSON body.
    url = "https://open.tiktokapis.com/v2/post/publish/content/init/"
    body = {"post_info": {"title": "t"}, "source_info": {"source": "PULL_FROM_URL",
            "photo_images": ["https://example.com/a.jpg"]}, "post_mode": "DIRECT_POST",
            "media_type": "PHOTO"}  # fmt: skip
    with FakeTikTok(preset="content-posting", clock=clock) as fake, requests.Session() as s:
        for user in ("act.one", "act.two"):
            for _ in range(6):
                s.post(url, json={**body, "access_token": user})
        assert fake.rate_limited == 0
        s.post(url, json={**body, "access_token": "act.one"})
        assert fake.rate_limited == 1
