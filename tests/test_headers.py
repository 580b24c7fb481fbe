"""Table-driven tests of the pure header parsers."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import responses
from requests.structures import CaseInsensitiveDict

import tiktok_adapter
from tiktok_adapter.core.headers import (
    LowerHeaders,
    RateInfo,
    parse_rate_headers,
    parse_reset,
    parse_retry_after,
    reset_slack,
)
from tiktok_adapter.core.refusal import Answer, OwnWindow, TikTokRefusals, exhausted
from tiktok_adapter.core.retry import RetryPolicy

NOW = 1_700_000_000.0
DATE_NOW = "Tue, 14 Nov 2023 22:13:20 GMT"  # == NOW


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30", 30.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("Tue, 14 Nov 2023 22:14:20 GMT", 60.0),
        ("Tue, 14 Nov 2023 22:12:20 GMT", 0.0),  # in the past: go now
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1e309", None),
        ("nan", None),
        ("inf", None),
        ("9" * 200, None),
        ("Mon, 99 Foo 2023 99:99:99 GMT", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_retry_after_date_is_measured_against_the_servers_date() -> None:
    # The server's clock is 100 s behind ours; its "one minute from now" is still a minute.
    server_now = NOW - 100
    wait = parse_retry_after("Tue, 14 Nov 2023 22:12:40 GMT", NOW, server_date=server_now)
    # No second added for Date's resolution: Date is rounded down, so the span errs late.
    assert wait == pytest.approx(60.0, abs=1e-6)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (str(int(NOW + 90)), NOW + 90),  # epoch seconds
        (str(int((NOW + 90) * 1000)), NOW + 90),  # epoch milliseconds
        ("45", NOW + 45),  # delta seconds
        ("12.5", NOW + 12.5),
        ("", None),
        ("garbage", None),
        ("-1", None),
        ("1e309", None),
        (None, None),
    ],
)
def test_parse_reset(value: str | None, expected: float | None) -> None:
    assert parse_reset(value, NOW) == expected


def test_reset_epoch_is_corrected_for_clock_skew() -> None:
    server_now = NOW + 300  # server's clock is 5 minutes ahead of ours
    reset_at = parse_reset(str(int(server_now + 30)), NOW, server_date=server_now)
    assert reset_at == pytest.approx(NOW + 30, abs=1e-6)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Content-Type": "application/json"}, None),
        (
            {
                "X-RateLimit-Limit": "100",
                "X-RateLimit-Remaining": "95",
                "X-RateLimit-Reset": str(int(NOW + 60)),
            },
            RateInfo(limit=100, remaining=95, reset_at=NOW + 60),
        ),
        (
            {"X-RateLimit-Remaining": "0", "Retry-After": "7"},
            RateInfo(remaining=0, retry_at=NOW + 7),
        ),
        (
            {"X-RateLimit-Limit": "ten", "X-RateLimit-Remaining": "1.5", "Retry-After": "x"},
            RateInfo(),
        ),
        ({"X-RateLimit-Remaining": "-3"}, RateInfo()),
        ({"X-RateLimit-Limit": "1" * 100}, RateInfo()),
        ({"X-RateLimit-Limit": "99999999999999999999"}, RateInfo()),
    ],
)
def test_parse_rate_headers(headers: dict[str, str], expected: RateInfo | None) -> None:
    assert parse_rate_headers(headers, NOW) == expected


def test_parse_rate_headers_uses_date_for_epoch_reset() -> None:
    info = parse_rate_headers({"Date": DATE_NOW, "X-RateLimit-Reset": str(int(NOW + 10))}, NOW + 50)
    # Our clock is 50 s ahead of the server's; the reset is 10 s after the server's now.
    assert info is not None and info.reset_at == pytest.approx(NOW + 50 + 10, abs=1e-6)


@pytest.mark.parametrize(
    ("value", "server_date", "expected"),
    [
        # Whole seconds are rounded up: the true reset is up to a second earlier...
        ("3", None, 1.0),
        (str(int(NOW + 2)), None, 1.0),
        # ... and up to a second more when measured from a Date, which is rounded down.
        (str(int(NOW + 2)), NOW, 2.0),
        ("3", NOW, 1.0),  # a delta is not measured from Date
        # Values finer than a second name their moment as it is (Date's second remains).
        ("2.5", None, 0.0),
        (str(int(NOW + 2) * 1000), None, 0.0),
        (str(int(NOW + 2) * 1000 + 250), NOW, 1.0),
        (None, NOW, 0.0),
        ("garbage", NOW, 0.0),
    ],
)
def test_reset_slack(value: str | None, server_date: float | None, expected: float) -> None:
    assert reset_slack(value, server_date) == expected


def test_a_spent_window_in_whole_seconds_carries_its_slack() -> None:
    headers = {
        "Date": DATE_NOW,
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int(NOW + 2)),
    }
    info = parse_rate_headers(headers, NOW + 0.4)
    assert info == RateInfo(remaining=0, reset_at=pytest.approx(NOW + 2.4), reset_slack=2.0)
    # Only a spent window's reset is acted on: no slack is worked out for the others.
    headers["X-RateLimit-Remaining"] = "3"
    assert parse_rate_headers(headers, NOW).reset_slack == 0.0  # type: ignore[union-attr]


# ``Remaining: 0`` at NOW, Reset and Date in whole seconds: the server's reset is named
# as NOW + 2 but may truly be as early as NOW (slack 2).
SPENT = RateInfo(limit=10, remaining=0, reset_at=NOW + 2.0, reset_slack=2.0)
RETRY = RetryPolicy()


@pytest.mark.parametrize(
    ("info", "own", "until"),
    [
        # Our 10/second window is full with the server's 10 and frees within the slack:
        # it explains the 0, and the endpoint closes only until it frees.
        pytest.param(SPENT, [OwnWindow(10, 10, NOW + 1.03)], NOW + 1.03, id="explained"),
        # Another window of ours (the app's 1000/hour) neither helps nor hinders.
        pytest.param(
            SPENT,
            [OwnWindow(1000, 10, NOW + 3600), OwnWindow(10, 10, NOW + 0.5)],
            NOW + 0.5,
            id="explained, beside an app window",
        ),
        # Ours frees after the server's named reset: the server's moment (ours still holds).
        pytest.param(SPENT, [OwnWindow(10, 10, NOW + 2.5)], NOW + 2.0, id="ours later"),
        # Not full: the server counts something ours does not (someone else's calls).
        pytest.param(SPENT, [OwnWindow(20, 10, NOW + 1.03)], NOW + 2.0, id="ours not full"),
        # Full, but with fewer than the server's Limit: a lower window of ours, and the
        # server's holds calls we did not make.
        pytest.param(SPENT, [OwnWindow(5, 5, NOW + 1.03)], NOW + 2.0, id="fewer than Limit"),
        # Frees before the server's reset could be, whatever the rounding: a server window
        # shifted later or longer than ours. Its reset stands.
        pytest.param(SPENT, [OwnWindow(10, 10, NOW - 0.1)], NOW + 2.0, id="ours frees too early"),
        pytest.param(SPENT, [], NOW + 2.0, id="no count of ours"),
        # A precise reset (slack 0) is taken as it is.
        pytest.param(
            RateInfo(limit=10, remaining=0, reset_at=NOW + 2.0),
            [OwnWindow(10, 10, NOW + 1.03)],
            NOW + 2.0,
            id="precise reset",
        ),
        # Without a Limit, a full window that frees within the slack explains it.
        pytest.param(
            RateInfo(remaining=0, reset_at=NOW + 2.0, reset_slack=2.0),
            [OwnWindow(10, 10, NOW + 1.03)],
            NOW + 1.03,
            id="no Limit",
        ),
    ],
)
def test_exhausted_closes_until_our_window_frees_only_when_it_explains_the_zero(
    info: RateInfo, own: list[OwnWindow], until: float
) -> None:
    closed = exhausted(info, NOW, RETRY, own)
    assert closed is not None and not closed.quota
    assert closed.until == pytest.approx(until, abs=1e-6)


def test_exhausted_ignores_a_window_with_room_left() -> None:
    info = RateInfo(limit=10, remaining=1, reset_at=NOW + 2.0, reset_slack=2.0)
    assert exhausted(info, NOW, RETRY, [OwnWindow(10, 10, NOW + 1.0)]) is None


@pytest.mark.parametrize(
    "spell",
    [
        pytest.param(lambda h: h, id="plain dict"),
        pytest.param(lambda h: {k.upper(): v for k, v in h.items()}, id="upper-case dict"),
        pytest.param(
            lambda h: LowerHeaders(CaseInsensitiveDict(h).lower_items()), id="requests' headers"
        ),
        pytest.param(lambda h: CaseInsensitiveDict(h), id="bare CaseInsensitiveDict"),
    ],
)
def test_rate_headers_and_refusals_are_read_whatever_the_case(spell: Any) -> None:
    headers = {"X-RateLimit-Remaining": "0", "Retry-After": "7", "Content-Type": "application/json"}
    assert parse_rate_headers(spell(headers), NOW) == RateInfo(remaining=0, retry_at=NOW + 7)
    body = b'{"error": {"code": "rate_limit_exceeded"}}'
    refusal = TikTokRefusals().classify(Answer(200, spell(headers), body), None)
    assert refusal is not None and refusal.code == "rate_limit_exceeded"


def test_lower_headers_with_no_rate_header_have_no_rate_information() -> None:
    headers = LowerHeaders({"content-type": "application/json", "date": "x"})
    assert parse_rate_headers(headers, NOW) is None
    assert parse_rate_headers(LowerHeaders({"retry-after": "7"}), NOW) == RateInfo(retry_at=NOW + 7)


def test_the_requests_adapter_reads_rate_headers_in_any_case() -> None:
    url = "https://open.tiktokapis.com/v2/user/info/"
    session = requests.Session()
    adapter = tiktok_adapter.mount(session)
    with responses.RequestsMock() as mock:
        mock.add("GET", url, status=200, json={},
                 headers={"X-RATELIMIT-Remaining": "0", "x-ratelimit-RESET": "30"})  # fmt: skip
        assert session.get(url).status_code == 200
    server = adapter.budget().endpoints["/user/info/"].server
    assert server is not None and server.remaining == 0
