"""Drop-in means never worse: default settings use every configured slot, and no caller loses."""

from __future__ import annotations

import pytest
import requests
import responses

import tiktok_adapter
from tiktok_adapter import RateLimitExceeded, TikTokAdapter, install, mount, uninstall
from tiktok_adapter.testing import FakeClock

BASE = "https://open.tiktokapis.com"
QUERY = f"{BASE}/v2/video/query/"
RESEARCH = f"{BASE}/v2/research/video/query/"
TOKEN = f"{BASE}/v2/oauth/token/"
REVOKE = f"{BASE}/v2/oauth/revoke/"
INIT = f"{BASE}/v2/post/publish/content/init/"


def sent_before_refusal(session: requests.Session, url: str, limit: int) -> int:
    sent = 0
    try:
        for _ in range(limit + 1):
            session.post(url, headers={"Authorization": "Bearer act.one"})
            sent += 1
    except RateLimitExceeded:
        pass
    return sent


def test_every_preset_admits_exactly_tiktoks_numbers(
    clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    for url in (QUERY, RESEARCH, INIT):
        mocked.post(url, json={})
    cases = [("seed", QUERY, 20), ("research", RESEARCH, 1000), ("content-posting", INIT, 6)]
    for preset, url, expected in cases:
        with requests.Session() as session:
            mount(session, preset=preset, clock=FakeClock(clock.now()), on_limit="raise")
            assert sent_before_refusal(session, url, expected) == expected, preset


def test_quickstart_the_21st_video_query_of_a_minute_sleeps(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.post(QUERY, json={})
    mount(session, clock=clock)
    for _ in range(20):
        session.post(QUERY)
    assert clock.sleeps == []
    session.post(QUERY)
    assert len(clock.sleeps) == 1 and 60 <= clock.sleeps[0] <= 60.1


def test_oauth_calls_never_spend_an_app_quota(
    clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.post(TOKEN, json={"access_token": "clt.x"})
    mocked.post(REVOKE, json={})
    mocked.post(RESEARCH, json={})
    mocked.post(QUERY, json={})
    for preset, url in (("research", RESEARCH), ("seed", QUERY)):
        with requests.Session() as s:
            adapter = mount(s, preset=preset, clock=FakeClock(clock.now()), on_limit="raise",
                            app_limit="3/day@utc")  # fmt: skip
            for _ in range(10):
                s.post(TOKEN, data={"grant_type": "client_credentials"})
                s.post(REVOKE, data={"token": "x"})
            for _ in range(3):
                s.post(url)
            assert adapter.budget().app[0].used == 3, preset


def test_the_research_quota_counts_research_endpoints_only(
    session: requests.Session, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    other = f"{BASE}/v2/user/info/"
    mocked.get(other, json={})
    mocked.post(RESEARCH, json={})
    adapter = mount(session, preset="research", clock=clock, on_limit="raise")
    for _ in range(5):
        session.get(other)
    session.post(RESEARCH)
    assert adapter.budget().app[0].used == 1
    research = tiktok_adapter.PRESETS["research"]
    assert research.app_counts("/research/user/info/")
    assert research.app_counts("/proxy/research/video/query/")
    assert not research.app_counts("/user/info/")
    assert not tiktok_adapter.PRESETS["seed"].app_counts("/oauth/token/")
    assert tiktok_adapter.PRESETS["seed"].app_counts("/some/new/endpoint/")


def test_install_covers_module_level_calls_and_library_sessions(
    clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.post(QUERY, json={})
    with install(clock=clock, on_limit="raise", limits={"/video/query/": "3/minute"}) as adapter:
        assert tiktok_adapter.installed() is adapter
        requests.post(QUERY)  # a module-level call: no Session of ours anywhere
        with requests.Session() as inner:  # a Session a library builds inside itself
            inner.post(QUERY)
        requests.request("POST", QUERY)
        try:
            requests.post(QUERY)
        except RateLimitExceeded as exc:
            assert "3/minute" in str(exc)
        else:
            raise AssertionError("the fourth call should have been refused")
        assert adapter.stats().endpoints["/video/query/"].sent == 3
    assert tiktok_adapter.installed() is None
    requests.post(QUERY)  # uninstalled: plain requests again
    assert len(mocked.calls) == 4


def test_install_touches_only_the_api_host(
    clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    other = "https://open.tiktokapis.com.evil.example/v2/video/query/"
    mocked.post(other, json={})
    with install(clock=clock, on_limit="raise", limits={"/video/query/": "1/minute"}):
        for _ in range(3):
            requests.post(other)
    assert len(mocked.calls) == 3


def test_install_twice_is_an_error_and_uninstall_is_idempotent(clock: FakeClock) -> None:
    install(clock=clock)
    try:
        try:
            install(clock=clock)
        except tiktok_adapter.TikTokAdapterError as exc:
            assert "already installed" in str(exc)
        else:
            raise AssertionError("a second install should fail")
    finally:
        uninstall()
    uninstall()
    assert requests.Session.__init__ is requests.sessions.Session.__init__


def test_uninstall_unmounts_the_sessions_made_meanwhile(clock: FakeClock) -> None:
    with install(clock=clock) as adapter:
        session = requests.Session()
        assert session.get_adapter(QUERY) is adapter
    assert not isinstance(session.get_adapter(QUERY), TikTokAdapter)
    assert not isinstance(session.adapters["https://"], tiktok_adapter.adapter.HostRouter)


def test_a_typo_in_an_endpoint_key_warns_with_the_closest_match(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING", logger="tiktok_adapter"):
        TikTokAdapter(limits={"/video/qurey/": "3/minute"})
    assert "did you mean '/video/query/'" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="tiktok_adapter"):
        adapter = TikTokAdapter(limits={"/my/own/thing/": "3/minute"})
    assert "custom endpoint" in caplog.text  # accepted all the same
    assert any(e.path == "/my/own/thing/" for e in adapter.limiter.table)


def test_a_positional_argument_in_the_wrong_place_names_the_parameter() -> None:
    with pytest.raises(tiktok_adapter.ConfigurationError, match=r"adapter='raise'.*on_limit"):
        mount(requests.Session(), "raise")  # type: ignore[arg-type]
    with pytest.raises(tiktok_adapter.ConfigurationError, match=r"settings='raise'"):
        TikTokAdapter("raise")  # type: ignore[arg-type]
    from tiktok_adapter.httpx import AsyncTikTokTransport, TikTokTransport

    for transport in (TikTokTransport, AsyncTikTokTransport):
        with pytest.raises(
            tiktok_adapter.ConfigurationError,
            match=rf"{transport.__name__}\(settings='raise'\).*on_limit='raise'",
        ):
            transport("raise")  # type: ignore[arg-type]
