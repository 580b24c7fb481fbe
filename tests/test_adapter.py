"""The adapter's behaviour, with HTTP mocked beneath super().send by responses."""

from __future__ import annotations

import logging
import pickle

import pytest
import requests
import responses

from tiktok_adapter import ConfigurationError, RateLimitExceeded, TikTokAdapter, mount
from tiktok_adapter.testing import FakeClock

BASE = "https://open.tiktokapis.com"
INFO = f"{BASE}/v2/user/info/"
QUERY = f"{BASE}/v2/video/query/"
CREATE = f"{BASE}/v2/video/comment/create/"
TOKEN = "act.SECRET-TOKEN-123"
RATE_LIMITED = {
    "data": {},
    "error": {"code": "rate_limit_exceeded", "message": "slow down", "log_id": "x"},
}
OK = {"data": {"user": {}}, "error": {"code": "ok", "message": "", "log_id": "y"}}


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


# -- construction and mounting --------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"limits": {"/video/query/": "lots"}}, "limits"),
        ({"limits": {"/video/query/": "0/minute"}}, "limits"),
        ({"app_limit": "1000/fortnight"}, "app_limit"),
        ({"on_limit": "wait"}, "on_limit='wait'"),
        ({"max_wait": -1}, "max_wait=-1"),
        ({"max_retries": -1}, "max_retries=-1"),
        ({"backoff_base": float("nan")}, "backoff_base"),
        ({"storage_uri": "sqlite:///x"}, "storage_uri='sqlite:///x'"),
        ({"preset": "nope"}, "preset='nope'"),
        ({"max_retires": 3}, "max_retires"),
    ],
)
def test_bad_settings_fail_at_construction(kwargs: dict[str, object], names: str) -> None:
    with pytest.raises(ConfigurationError, match=names.replace("[", r"\[")) as info:
        TikTokAdapter(**kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)


def test_mount_covers_exactly_the_api_host(session: requests.Session) -> None:
    adapter = mount(session)
    assert session.get_adapter(INFO) is adapter
    # Without the trailing slash a look-alike host would be covered too.
    assert session.get_adapter("https://open.tiktokapis.com.evil.example/v2/") is not adapter
    with pytest.raises(ConfigurationError, match="either an adapter or settings"):
        mount(session, adapter, on_limit="raise")


def test_mount_accepts_an_adapter(session: requests.Session) -> None:
    adapter = TikTokAdapter(on_limit="raise")
    assert mount(session, adapter) is adapter


# -- admission ------------------------------------------------------------------------


def test_sleeps_exactly_until_the_window_admits(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, json=OK)
    adapter = mount(session, clock=clock, default_priority="critical", safety_margin=0.0)
    for _ in range(10):
        session.get(INFO)
    assert clock.sleeps == []
    session.get(INFO)
    assert clock.sleeps == [pytest.approx(60.0)]
    assert len(mocked.calls) == 11
    adapter.close()


def test_hours_of_windows_in_milliseconds(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, json=OK)
    mount(session, clock=clock, default_priority="critical", safety_margin=0.0)
    start = clock.now()
    for _ in range(250):
        session.get(INFO)
    # 100/hour binds: 250 requests need two full hours plus change.
    assert 2 * 3600 <= clock.now() - start < 3 * 3600
    assert len(mocked.calls) == 250


def test_raise_mode_sends_nothing(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, json=OK)
    mount(session, clock=clock, default_priority="critical", on_limit="raise", safety_margin=0.0)
    for _ in range(10):
        session.get(INFO)
    with pytest.raises(RateLimitExceeded) as info:
        session.get(INFO, headers=_auth())
    err = info.value
    assert isinstance(err, requests.RequestException)
    assert err.response is None and err.request is not None
    assert err.endpoint == "/user/info/" and err.limit == "10/minute"
    assert err.retry_after == pytest.approx(60.0)
    assert TOKEN not in str(err)
    assert len(mocked.calls) == 10


def test_admission_is_all_or_nothing(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, json=OK)
    adapter = mount(
        session,
        clock=clock,
        default_priority="critical",
        on_limit="raise",
        app_limit="3/minute",
        safety_margin=0.0,
    )
    for _ in range(3):
        session.get(INFO)
    for _ in range(5):
        with pytest.raises(RateLimitExceeded, match="3/minute"):
            session.get(INFO)
    # The endpoint's own windows were not charged by the five refusals.
    route = adapter.resolve(session.prepare_request(requests.Request("GET", INFO)))
    used = {w.rate.text: adapter.store.usage(w, clock.now()).used for w in route.windows}
    assert used == {"3/minute": 3, "10/minute": 3, "100/hour": 3}


def test_unknown_paths_count_against_the_app_limit_only(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    url = f"{BASE}/v2/some/new/endpoint/"
    mocked.post(url, json={})
    mount(session, clock=clock, default_priority="critical", on_limit="raise", app_limit="4/hour")
    for _ in range(4):
        session.post(url)
    with pytest.raises(RateLimitExceeded, match="4/hour"):
        session.post(url)


def test_max_wait_raises_instead_of_sleeping_long(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, json=OK)
    mount(session, clock=clock, default_priority="critical", max_wait=30)
    for _ in range(10):
        session.get(INFO)
    with pytest.raises(RateLimitExceeded) as info:
        session.get(INFO)
    assert info.value.retry_after > 30
    assert clock.sleeps == []


def test_long_waits_are_logged_at_info(
    session: requests.Session,
    clock: FakeClock,
    mocked: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mocked.get(INFO, json=OK)
    mount(session, clock=clock, default_priority="critical")
    caplog.set_level(logging.INFO, logger="tiktok_adapter")
    for _ in range(11):
        session.get(INFO, headers=_auth())
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any("/user/info/" in m and "10/minute" in m and "resets at" in m for m in messages)
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


# -- after the response -----------------------------------------------------------------


def test_429_with_retry_after_blocks_then_resends(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, json=RATE_LIMITED, status=429, headers={"Retry-After": "17"})
    mocked.get(INFO, json=OK)
    mount(session, clock=clock, default_priority="critical")
    response = session.get(INFO)
    assert response.status_code == 200
    assert clock.sleeps == [pytest.approx(17.0)]
    assert len(mocked.calls) == 2


def test_429_block_holds_for_every_caller(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, json=RATE_LIMITED, status=429, headers={"Retry-After": "40"})
    adapter = mount(session, clock=clock, default_priority="critical", on_limit="raise")
    with pytest.raises(RateLimitExceeded) as first:
        session.get(INFO)
    assert first.value.response is not None and first.value.response.status_code == 429
    assert first.value.limit == "server"
    with pytest.raises(RateLimitExceeded) as second:
        session.get(INFO)
    assert second.value.response is None and second.value.retry_after == pytest.approx(40)
    assert len(mocked.calls) == 1
    clock.advance(41)
    mocked.replace(responses.GET, INFO, json=OK)
    assert session.get(INFO).status_code == 200
    adapter.close()


def test_429_without_headers_backs_off_with_jitter(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, status=429)
    mount(session, clock=clock, max_retries=3, backoff_base=2.0, random_source=lambda: 0.5)
    response = session.get(INFO)
    # After the last retry the final 429 comes back as the response.
    assert response.status_code == 429
    assert len(mocked.calls) == 4
    # Three quarters (equal jitter at 0.5) of a ceiling that doubles per refusal: 2, 4, 8 s.
    assert clock.sleeps == pytest.approx([1.5, 3.0, 6.0])


def test_backoff_ceiling_doubles_per_refusal_up_to_backoff_max(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, status=429)
    mount(session, clock=clock, max_retries=6, backoff_base=0.5, backoff_max=5.0,
          random_source=lambda: 0.999)  # fmt: skip
    session.get(INFO)
    ceilings = [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert clock.sleeps == pytest.approx([c * 0.9995 for c in ceilings])  # (1 + 0.999) / 2


def test_rate_limit_body_inside_200_counts_as_refusal(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, json=RATE_LIMITED, status=200)
    mount(session, clock=clock, default_priority="critical", on_limit="raise")
    with pytest.raises(RateLimitExceeded):
        session.get(INFO)


def test_a_streamed_200_is_never_read(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, json=RATE_LIMITED, status=200)
    mount(session, clock=clock, default_priority="critical", on_limit="raise")
    response = session.get(INFO, stream=True)
    assert not response._content_consumed
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


def test_remaining_zero_blocks_until_reset(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    reset = int(clock.now()) + 25
    mocked.get(
        INFO,
        json=OK,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    mount(session, clock=clock, default_priority="critical")
    session.get(INFO)
    session.get(INFO)
    assert clock.sleeps == [pytest.approx(reset - 1_700_000_000.0)]


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "garbage"},
        {"Retry-After": "-10"},
        {"Retry-After": "1e309"},
        {"Retry-After": ""},
        {"X-RateLimit-Remaining": "zero", "X-RateLimit-Reset": "\x00\x01"},
        {"X-RateLimit-Limit": "9" * 5000},
    ],
)
def test_hostile_headers_never_crash(
    session: requests.Session,
    clock: FakeClock,
    mocked: responses.RequestsMock,
    headers: dict[str, str],
) -> None:
    mocked.get(INFO, json=OK, headers=headers)
    mount(session, clock=clock, default_priority="critical", on_limit="raise")
    for _ in range(10):
        assert session.get(INFO).status_code == 200
    with pytest.raises(RateLimitExceeded):  # local limits still hold
        session.get(INFO)


def test_huge_server_wait_is_clamped_to_a_day(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, status=429, headers={"Retry-After": str(10**9)})
    mocked.get(INFO, json=OK)
    mount(session, clock=clock, default_priority="critical")
    assert session.get(INFO).status_code == 200
    assert clock.sleeps == [pytest.approx(86_400.0)]


def test_huge_server_wait_with_max_wait_raises(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, status=429, headers={"Retry-After": "7200"})
    mount(session, clock=clock, default_priority="critical", max_wait=600)
    with pytest.raises(RateLimitExceeded) as info:
        session.get(INFO)
    assert info.value.retry_after == pytest.approx(7200)


def test_writes_are_resent_after_429(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.post(CREATE, status=429, headers={"Retry-After": "1"})
    mocked.post(CREATE, json=OK)
    mount(session, clock=clock, default_priority="critical")
    assert session.post(CREATE, json={"video_id": "1", "text": "hi"}).status_code == 200
    assert len(mocked.calls) == 2


# -- connection errors --------------------------------------------------------------------


def test_reads_are_resent_after_connection_errors(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.post(QUERY, body=requests.ConnectionError("reset by peer"))
    mocked.post(QUERY, json=OK)
    adapter = mount(session, clock=clock, default_priority="critical", on_limit="raise")
    assert session.post(QUERY, json={"filters": {"video_ids": ["1"]}}).status_code == 200
    assert len(mocked.calls) == 2
    # Each attempt on the wire was one admission.
    route = adapter.resolve(session.prepare_request(requests.Request("POST", QUERY)))
    assert adapter.store.usage(route.windows[-1], clock.now()).used == 2


@pytest.mark.parametrize("error", [requests.ConnectionError, requests.ReadTimeout])
def test_writes_are_never_resent_after_connection_errors(
    session: requests.Session,
    clock: FakeClock,
    mocked: responses.RequestsMock,
    error: type[Exception],
) -> None:
    mocked.post(CREATE, body=error("lost"))
    mocked.post(CREATE, json=OK)
    mount(session, clock=clock, default_priority="critical")
    with pytest.raises(error):
        session.post(CREATE, json={"video_id": "1", "text": "hi"})
    assert len(mocked.calls) == 1


def test_connection_errors_raise_after_the_retry_budget(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, body=requests.ConnectionError("down"))
    mount(session, clock=clock, default_priority="critical", max_retries=2)
    with pytest.raises(requests.ConnectionError):
        session.get(INFO)
    assert len(mocked.calls) == 3


def test_urllib3_retries_are_off() -> None:
    adapter = TikTokAdapter(max_retries=5)
    assert adapter.max_retries.total == 0
    assert adapter.limiter.retry_policy.max_retries == 5


# -- requests conventions ----------------------------------------------------------------


def test_every_send_keyword_is_forwarded(
    session: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, object] = {}

    def fake_send(self: object, request: object, **kwargs: object) -> requests.Response:
        seen.update(kwargs)
        response = requests.Response()
        response.status_code = 200
        return response

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", fake_send)
    mount(session)
    session.get(
        INFO,
        timeout=(1, 2),
        verify=False,
        cert="c.pem",
        stream=True,
        proxies={"https": "http://proxy:3128"},
    )
    assert seen["timeout"] == (1, 2) and seen["verify"] is False and seen["cert"] == "c.pem"
    assert seen["stream"] is True and seen["proxies"] == {"https": "http://proxy:3128"}


def test_session_with_adapter_pickles(session: requests.Session) -> None:
    adapter = mount(session, on_limit="raise", limits={"/video/query/": "2/second"})
    clone = pickle.loads(pickle.dumps(session))
    copy = clone.get_adapter(INFO)
    assert isinstance(copy, TikTokAdapter)
    assert copy.settings == adapter.settings
    assert copy.max_retries.total == 0
    copy.close()


def test_close_releases_pools_and_keeps_the_windows(clock: FakeClock) -> None:
    adapter = TikTokAdapter(clock=clock)
    adapter.poolmanager.connection_from_url(INFO)
    route = adapter.resolve(requests.Request("GET", INFO).prepare())
    adapter.store.acquire(route.windows, route.blocks, clock.now())
    adapter.close()
    adapter.close()  # any number of times
    assert len(adapter.poolmanager.pools) == 0
    assert adapter.store.usage(route.windows[0], clock.now()).used == 1


def test_one_adapter_on_short_lived_sessions_keeps_one_set_of_windows(
    clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.get(INFO, json={})
    adapter = TikTokAdapter(clock=clock, on_limit="raise", limits={"/user/info/": "5/10 seconds"})
    for _ in range(5):
        with requests.Session() as short:  # Session.close() closes every mounted adapter
            mount(short, adapter)
            short.get(INFO)
    with requests.Session() as short, pytest.raises(RateLimitExceeded, match="5/10 seconds"):
        mount(short, adapter)
        short.get(INFO)
    assert len(mocked.calls) == 5
