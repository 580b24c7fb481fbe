"""The adapter configured only from TIKTOK_ADAPTER_* variables, end to end (tox -e settings)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
import responses

from tiktok_adapter import RateLimitExceeded, Settings, TikTokAdapter
from tiktok_adapter.testing import FakeClock

# These tests prove the environment path, so they run only where the environment
# configures the adapter; TIKTOK_ADAPTER_TEST_* belongs to the test suite and does not count.
CONFIGURED = sorted(
    name
    for name in os.environ
    if name.startswith("TIKTOK_ADAPTER_") and not name.startswith("TIKTOK_ADAPTER_TEST_")
)
pytestmark = pytest.mark.skipif(
    not CONFIGURED, reason="no TIKTOK_ADAPTER_* settings in the environment (tox -e settings)"
)

QUERY = "https://open.tiktokapis.com/v2/video/query/"
INFO = "https://open.tiktokapis.com/v2/user/info/"
# What tox.ini's [testenv:settings] exports, read by hand. The limit of /video/query/ is
# 3 a minute, and critical priority (TIKTOK_ADAPTER_DEFAULT_PRIORITY) may fill all of it.
QUERY_ALLOWED = 3
EXPECTED = dict(
    on_limit="raise",
    default_priority="critical",
    limits={"/video/query/": "3/minute;100/hour", "/user/info/": "5/minute;50/hour"},
    app_limit=None,
    max_retries=0,
    max_wait=None,
    storage_uri="memory://",
    storage_time=False,
    key_prefix="tox-settings",
    rate_limit_codes=frozenset({40100, 40101}),
    cache_expire_after=300.0,  # TIKTOK_ADAPTER_CACHE_DURATION_MINUTES=5
)


@pytest.fixture
def env_session(clock: FakeClock) -> Iterator[tuple[requests.Session, TikTokAdapter]]:
    adapter = TikTokAdapter(settings=Settings.from_env(), clock=clock)
    with requests.Session() as session:
        session.mount("https://open.tiktokapis.com/", adapter)
        yield session, adapter


def test_the_environment_gives_the_tox_settings() -> None:
    settings = Settings.from_env()
    given = {name: getattr(settings, name) for name in EXPECTED}
    given["limits"] = dict(given["limits"])
    assert given == EXPECTED, "tox.ini's [testenv:settings] and this test disagree"
    assert settings == Settings(**EXPECTED)  # type: ignore[arg-type]


def test_over_the_limit_raises_at_once(
    env_session: tuple[requests.Session, TikTokAdapter],
    clock: FakeClock,
    mocked: responses.RequestsMock,
) -> None:
    session, _ = env_session
    mocked.get(QUERY, json={"data": {}, "error": {"code": "ok"}})
    for _ in range(QUERY_ALLOWED):
        assert session.get(QUERY).status_code == 200
    with pytest.raises(RateLimitExceeded, match="3/minute") as refused:
        session.get(QUERY)
    assert clock.sleeps == [], "raise mode must not sleep"
    assert refused.value.response is None and 0 < refused.value.retry_after <= 60 + 1
    assert len(mocked.calls) == QUERY_ALLOWED


def test_a_server_block_raises_without_resending(
    env_session: tuple[requests.Session, TikTokAdapter], mocked: responses.RequestsMock
) -> None:
    session, _ = env_session
    mocked.get(INFO, status=429, headers={"Retry-After": "40"})
    with pytest.raises(RateLimitExceeded) as first:
        session.get(INFO)
    assert first.value.response is not None and first.value.response.status_code == 429
    with pytest.raises(RateLimitExceeded) as second:
        session.get(INFO)
    assert second.value.response is None and 39 <= second.value.retry_after <= 41
    assert len(mocked.calls) == 1
