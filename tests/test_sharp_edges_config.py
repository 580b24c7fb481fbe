"""Configuration sharp edges a newcomer hit (#26): a second mount, a base_url that limits
nothing, keyword typos, and a full URL as a limits key."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tiktok_adapter import (
    ConfigurationError,
    RateLimitExceeded,
    Settings,
    TikTokAdapter,
    install,
    installed,
    mount,
    uninstall,
)
from tiktok_adapter.settings import ConfigurationWarning, RemountWarning, UnknownHostWarning
from tiktok_adapter.testing import FakeClock, FakeTikTok, RateHeaders

INFO = "https://open.tiktokapis.com/v2/user/info/"
# As TikTok documents none, the simulator sends no rate header: the adapter alone keeps
# the count, so a second set of windows shows at the server.
NO_HEADERS = RateHeaders(limit=False, remaining=False, reset=False, retry_after=False)


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeTikTok]:
    with FakeTikTok(clock=clock, rate_headers=NO_HEADERS) as started:
        yield started


@pytest.fixture
def no_install() -> Iterator[None]:
    yield
    uninstall()


def send(session: requests.Session, times: int) -> int:
    """GET /user/info/ ``times`` times; how many went before the adapter refused one."""
    sent = 0
    try:
        for _ in range(times):
            session.get(INFO, params={"fields": "open_id"})
            sent += 1
    except RateLimitExceeded:
        pass
    return sent


def settings_warnings(action: Callable[[], object]) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
    return [w for w in caught if issubclass(w.category, ConfigurationWarning)]


# -- 1. a second mount() on the same session -------------------------------------------


def test_a_second_mount_with_the_same_settings_keeps_the_windows(
    fake: FakeTikTok, session: requests.Session
) -> None:
    # The seed's /user/info/ allows 10 a minute; the fake clock never moves here.
    options: dict[str, Any] = {**fake.adapter_options(), "on_limit": "raise"}
    first = mount(session, **options)
    assert send(session, 6) == 6
    caught = settings_warnings(lambda: mount(session, **options))
    assert caught == []
    assert mount(session, **options) is first
    assert send(session, 5) == 4  # the 11th is refused here, not sent
    assert fake.count("/user/info/") == 10
    assert fake.rate_limited == 0


def test_mounting_the_same_adapter_again_changes_nothing(
    fake: FakeTikTok, session: requests.Session
) -> None:
    adapter = TikTokAdapter(clock=fake.clock, on_limit="raise")
    mount(session, adapter)
    assert send(session, 6) == 6
    assert settings_warnings(lambda: mount(session, adapter)) == []
    assert send(session, 6) == 4
    assert fake.count("/user/info/") == 10


def test_a_second_mount_with_other_settings_warns_and_says_what_to_do(
    fake: FakeTikTok, session: requests.Session
) -> None:
    first = mount(session, clock=fake.clock, on_limit="raise")
    with pytest.warns(RemountWarning) as caught:
        second = mount(session, clock=fake.clock, on_limit="raise", max_retries=1)
    assert second is not first
    assert session.get_adapter(INFO) is second
    message = str(caught[0].message)
    assert issubclass(RemountWarning, UserWarning)
    assert "max_retries=3 -> 1" in message and "empty windows" in message
    assert "Mount once per session" in message and "storage_uri" in message
    # Another adapter object, even with equal settings, is another set of windows.
    with pytest.warns(RemountWarning, match="another adapter"):
        mount(session, TikTokAdapter(clock=fake.clock, on_limit="raise", max_retries=1))


def test_a_second_mount_after_install_gives_back_the_installed_adapter(
    clock: FakeClock, no_install: None
) -> None:
    with install(clock=clock) as adapter, requests.Session() as session:
        assert settings_warnings(lambda: mount(session, clock=clock)) == []
        assert mount(session, clock=clock) is adapter


@pytest.mark.redis
def test_a_remount_on_the_same_shared_store_does_not_warn(
    redis_url: str, key_prefix: str, clock: FakeClock, session: requests.Session
) -> None:
    shared: dict[str, Any] = {"storage_uri": redis_url, "key_prefix": key_prefix, "clock": clock}
    first = mount(session, **shared)
    caught = settings_warnings(lambda: mount(session, on_limit="raise", **shared))
    assert caught == []  # both count in the same Redis windows
    assert session.get_adapter(INFO) is not first


# -- 2. a base_url that limits nothing ---------------------------------------------------


@pytest.mark.parametrize(
    "base_url", ["open.tiktokapis.com", "open.tiktokapis.com/v2/", "ftp://open.tiktokapis.com/",
                 "https://", "https://open.tiktokapis.com:99999/"],
)  # fmt: skip
def test_a_base_url_without_a_scheme_or_host_is_refused(
    base_url: str, session: requests.Session
) -> None:
    before = dict(session.adapters)
    with pytest.raises(ConfigurationError, match=r"base_url=.*http:// or https://") as err:
        mount(session, base_url=base_url)
    assert repr(base_url) in str(err.value)
    assert session.adapters == before  # nothing half-mounted


def test_a_schemeless_base_url_suggests_the_url(session: requests.Session) -> None:
    with pytest.raises(ConfigurationError, match=r"did you mean 'https://open\.tiktokapis\.com'"):
        mount(session, base_url="open.tiktokapis.com")


def test_install_refuses_a_schemeless_base_url_at_once(no_install: None) -> None:
    with pytest.raises(ConfigurationError, match=r"base_url='open\.tiktokapis\.com'"):
        install(base_url="open.tiktokapis.com")
    assert installed() is None


def test_the_aiohttp_middleware_refuses_a_schemeless_base_url() -> None:
    from tiktok_adapter.aiohttp import TikTokMiddleware

    with pytest.raises(ConfigurationError, match="TikTokMiddleware: base_url="):
        TikTokMiddleware(base_url="open.tiktokapis.com")


def test_a_host_that_is_not_tiktoks_warns_but_mounts(session: requests.Session) -> None:
    with pytest.warns(UnknownHostWarning) as caught:
        adapter = mount(session, base_url="https://open.tiktokapis.com.evil.example/")
    message = str(caught[0].message)
    assert issubclass(UnknownHostWarning, UserWarning)
    assert "'open.tiktokapis.com.evil.example'" in message
    assert "did you mean 'open.tiktokapis.com'" in message and "proxy" in message
    assert session.get_adapter("https://open.tiktokapis.com.evil.example/v2/user/info/") is adapter


@pytest.mark.parametrize(
    "base_url",
    ["https://open.tiktokapis.com/", "https://OPEN.tiktokapis.com.", "http://127.0.0.1:8080/",
     "https://business-api.tiktok.com/open_api/", "http://localhost:9000", "http://[::1]:80/"],
)  # fmt: skip
def test_tiktoks_hosts_and_loopback_do_not_warn(base_url: str, session: requests.Session) -> None:
    assert settings_warnings(lambda: mount(session, base_url=base_url)) == []


# -- 3. keyword typos ----------------------------------------------------------------------


def _transport(name: str) -> Callable[..., object]:
    if name == "aiohttp":
        from tiktok_adapter.aiohttp import TikTokMiddleware

        return TikTokMiddleware
    from tiktok_adapter.httpx import AsyncTikTokTransport, TikTokTransport

    return TikTokTransport if name == "httpx" else AsyncTikTokTransport


ENTRY_POINTS: dict[str, Callable[..., object]] = {
    "Settings": lambda **kw: Settings(**kw),
    "Settings.replace": lambda **kw: Settings().replace(**kw),
    "mount": lambda **kw: mount(requests.Session(), **kw),
    "install": lambda **kw: install(**kw),
    "TikTokAdapter": lambda **kw: TikTokAdapter(**kw),
    "TikTokTransport": lambda **kw: _transport("httpx")(**kw),
    "AsyncTikTokTransport": lambda **kw: _transport("httpx-async")(**kw),
    "TikTokMiddleware": lambda **kw: _transport("aiohttp")(**kw),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize(
    ("typo", "meant"), [("on_limt", "on_limit"), ("storage_url", "storage_uri"),
                        ("max_retry", "max_retries")],
)  # fmt: skip
def test_a_mistyped_setting_says_did_you_mean_everywhere(
    entry: str, typo: str, meant: str, no_install: None
) -> None:
    with pytest.raises(ConfigurationError) as err:
        ENTRY_POINTS[entry](**{typo: "redis://:hunter2@cache.example:6379/0"})
    message = str(err.value)
    assert message.startswith(f"{entry}({typo}=")
    assert f"unknown keyword {typo!r}; did you mean {meant!r}?" in message
    assert "valid settings: app_limit, backoff_base" in message
    assert "hunter2" not in message
    assert installed() is None


@pytest.mark.parametrize(
    ("entry", "typo", "meant"),
    [("mount", "base_ur", "base_url"), ("mount", "clok", "clock"),
     ("install", "base_ulr", "base_url"), ("TikTokAdapter", "on_rate_limit", "on_rate_limited"),
     ("TikTokTransport", "transprt", "transport"), ("TikTokMiddleware", "base_uri", "base_url")],
)  # fmt: skip
def test_a_mistyped_keyword_of_the_entry_point_itself_says_did_you_mean(
    entry: str, typo: str, meant: str, no_install: None
) -> None:
    with pytest.raises(ConfigurationError, match=f"did you mean {meant!r}") as err:
        ENTRY_POINTS[entry](**{typo: None})
    assert "other keywords: " in str(err.value)


def test_the_keyword_and_the_loaders_suggest_alike() -> None:
    with pytest.raises(ConfigurationError, match="did you mean 'storage_uri'"):
        Settings.from_mapping({"storage_url": "memory://"})
    with pytest.raises(ConfigurationError, match="did you mean 'storage_uri'"):
        Settings(storage_url="memory://")  # type: ignore[call-arg]


def test_valid_keywords_still_build() -> None:
    settings = Settings(on_limit="raise", storage_uri="memory://")
    assert settings.on_limit == "raise" and settings.replace(max_retries=1).max_retries == 1
    assert TikTokAdapter(settings, clock=FakeClock(), pool_maxsize=4).settings == settings


# -- 4. a full URL as a limits key -----------------------------------------------------


def test_a_full_url_as_a_limits_key_becomes_its_path() -> None:
    url = "https://open.tiktokapis.com/v2/user/info/?fields=open_id"
    assert dict(Settings(limits={url: "5/minute"}).limits) == {"/v2/user/info/": "5/minute"}
    assert dict(Settings(limits={"open.tiktokapis.com/v2/video/list/": "1/minute"}).limits) == {
        "/v2/video/list/": "1/minute"
    }
    loaded = Settings.from_mapping({"limits": {url: "5/minute"}, "requests_per_minute": 8})
    assert loaded.limits["/v2/user/info/"] == "5/minute"
    assert "/user/info/" not in loaded.limits  # the ceiling does not add a second row


def test_a_full_url_as_a_limits_key_limits_its_endpoint(
    fake: FakeTikTok, session: requests.Session
) -> None:
    mount(session, clock=fake.clock, on_limit="raise", limits={INFO: "5/minute"})
    assert send(session, 7) == 5
    assert fake.count("/user/info/") == 5


@pytest.mark.parametrize(
    ("key", "error"),
    [("https://example.com/v2/user/info/", "not one on a TikTok API host"),
     ("https://open.tiktokapis.com/", "names no endpoint"),
     ("ftp://open.tiktokapis.com/v2/user/info/", "not one on a TikTok API host")],
)  # fmt: skip
def test_a_url_key_that_names_no_tiktok_endpoint_is_refused(key: str, error: str) -> None:
    with pytest.raises(ConfigurationError, match=error) as err:
        Settings(limits={key: "5/minute"})
    assert repr(key) in str(err.value) and "'/user/info/'" in str(err.value)


def test_a_url_key_and_its_path_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="both name '/v2/user/info/'"):
        Settings(limits={INFO: "5/minute", "/v2/user/info/": "4/minute"})
