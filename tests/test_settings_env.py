"""The adapter configured only from TIKTOK_ADAPTER_* variables, end to end (tox -e settings)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
import requests
import responses

from tiktok_adapter import RateLimitExceeded, Settings, TikTokAdapter
from tiktok_adapter._limiter import cap_for, parse_rates

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


@pytest.fixture
def env_session() -> Iterator[tuple[requests.Session, TikTokAdapter]]:
    adapter = TikTokAdapter(settings=Settings.from_env())
    with requests.Session() as session:
        session.mount("https://open.tiktokapis.com/", adapter)
        yield session, adapter


def test_the_environment_asks_for_raise_mode() -> None:
    settings = Settings.from_env()
    assert settings.on_limit == "raise", (
        "the settings env must export TIKTOK_ADAPTER_ON_LIMIT=raise"
    )
    assert settings != Settings(on_limit="raise"), "the environment should set more than on_limit"


def test_over_the_limit_raises_at_once(
    env_session: tuple[requests.Session, TikTokAdapter], mocked: responses.RequestsMock
) -> None:
    session, adapter = env_session
    settings = adapter.settings
    share = settings.priority_shares[settings.default_priority]
    endpoint = adapter.table.match("/video/query/")
    assert endpoint is not None
    allowed = min(cap_for(rate, share) for rate in parse_rates(endpoint.limits, "limits"))
    assert allowed <= 20, "keep the settings env's /video/query/ limit small"
    mocked.get(QUERY, json={"data": {}, "error": {"code": "ok"}})
    for _ in range(allowed):
        assert session.get(QUERY).status_code == 200
    started = time.monotonic()
    with pytest.raises(RateLimitExceeded) as refused:
        session.get(QUERY)
    assert time.monotonic() - started < 1.0, "raise mode must not sleep"
    assert refused.value.response is None and refused.value.retry_after > 0
    assert len(mocked.calls) == allowed


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
    assert second.value.response is None and second.value.retry_after > 30
    assert len(mocked.calls) == 1
