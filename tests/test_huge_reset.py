"""A Reset no rate limit could name is ignored; a merely long one is clamped to a day."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import responses

from tiktok_adapter import mount
from tiktok_adapter.core.headers import parse_reset
from tiktok_adapter.testing import FakeClock

NOW = 1_700_000_000.0
DAY = 86_400.0
INFO = "https://open.tiktokapis.com/v2/user/info/"
OK = {"data": {"user": {}}, "error": {"code": "ok", "message": "", "log_id": "y"}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1e308", None),  # read as epoch milliseconds: a moment 10**297 years away
        ("99999999999999", None),  # epoch milliseconds in the year 5138
        ("9999999999", None),  # epoch seconds in the year 2286
        (str(int(NOW + 32 * DAY)), None),  # epoch seconds, 32 days away
        ("2764800", None),  # delta seconds: 32 days
        (str(int(NOW + 30 * DAY)), NOW + 30 * DAY),  # a month away at most: kept
        ("108000", NOW + 108_000),  # 30 hours: kept (a block clamps it to a day)
        (str(int((NOW + 90) * 1000)), NOW + 90),
        ("45", NOW + 45),
    ],
)
def test_a_reset_more_than_a_month_away_is_ignored(value: str, expected: float | None) -> None:
    assert parse_reset(value, NOW) == expected


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_remaining_zero_with_a_garbage_reset_blocks_nothing(
    mocked: responses.RequestsMock, clock: FakeClock
) -> None:
    mocked.get(INFO, json=OK, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1e308"})
    mocked.get(INFO, json=OK)
    with requests.Session() as session:
        mount(session, clock=clock, default_priority="critical")
        assert session.get(INFO).status_code == 200
        assert session.get(INFO).status_code == 200
    assert clock.sleeps == []  # was a 24-hour block of /user/info/
    assert len(mocked.calls) == 2


def test_remaining_zero_with_a_long_reset_blocks_for_a_day(
    mocked: responses.RequestsMock, clock: FakeClock
) -> None:
    mocked.get(INFO, json=OK, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "108000"})
    mocked.get(INFO, json=OK)
    with requests.Session() as session:
        mount(session, clock=clock, default_priority="critical")
        assert session.get(INFO).status_code == 200
        assert session.get(INFO).status_code == 200
    assert clock.sleeps == [pytest.approx(DAY)]
