"""The retry policy's pure decisions."""

from __future__ import annotations

import pytest

from tiktok_adapter.core.retry import RetryPolicy, resend_is_safe


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [
        (1, 0.0, 1.0),  # never less than half the ceiling: out of a refused second
        (1, 0.5, 1.5),
        (1, 0.999, 1.999),
        (2, 0.0, 2.0),
        (2, 0.5, 3.0),
        (3, 1.0, 8.0),
        (10, 1.0, 60.0),  # capped by backoff_max
        (10_000, 1.0, 60.0),  # no overflow for absurd attempts
        (0, 1.0, 2.0),
    ],
)
def test_equal_jitter_backoff(attempt: int, rand: float, expected: float) -> None:
    assert RetryPolicy().backoff_time(attempt, rand) == pytest.approx(expected)


def test_server_wait_is_clamped_to_a_day() -> None:
    policy = RetryPolicy()
    assert policy.clamp_server_wait(10**12) == 86_400.0
    assert policy.clamp_server_wait(-5) == 0.0


def test_retry_budget() -> None:
    policy = RetryPolicy(max_retries=2)
    assert [policy.may_retry(n) for n in range(4)] == [True, True, False, False]


@pytest.mark.parametrize(
    ("method", "read_only", "body", "safe"),
    [
        ("GET", False, None, True),
        ("HEAD", False, None, True),
        ("OPTIONS", False, None, True),
        ("POST", True, b'{"filters": {}}', True),  # read-only endpoint such as video/query
        ("POST", False, b'{"text": "hi"}', False),  # comment create
        ("DELETE", False, None, False),
        ("POST", True, iter([b"chunk"]), False),  # a streamed body cannot be replayed
    ],
)
def test_resend_is_safe(method: str, read_only: bool, body: object, safe: bool) -> None:
    assert resend_is_safe(method, read_only, body) is safe


MIDNIGHT = 1_700_006_400.0  # a 00:00 UTC


@pytest.mark.parametrize(
    ("server_moment", "quota", "rand", "expected"),
    [
        (MIDNIGHT - 100 + 30, False, 0.9, MIDNIGHT - 100 + 30),  # the server's word wins
        (None, True, 0.9, MIDNIGHT),  # a spent daily quota rests until 00:00 UTC
        (None, False, 0.5, MIDNIGHT - 100 + 1.5),  # otherwise a jittered backoff
        (MIDNIGHT + 10 * 86_400, False, 0.5, MIDNIGHT - 100 + 86_400),  # at most a day
        (MIDNIGHT - 500, False, 0.5, MIDNIGHT - 100),  # a moment in the past: go now
    ],
)
def test_pause_until(
    server_moment: float | None, quota: bool, rand: float, expected: float
) -> None:
    now = MIDNIGHT - 100
    assert RetryPolicy().pause_until(now, server_moment, quota, rand) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("failures", "retries", "took", "again"),
    [
        (1, 1, 0.001, True),  # refused at once: one more try, on a fresh connection
        (2, 1, 0.001, False),  # the retry failed too
        (1, 0, 0.001, False),  # a cluster client: no retry
        (1, 1, 0.49, True),  # still quick: under half the socket timeout
        (1, 1, 0.5, False),  # slow: it cost half the budget already
        (1, 1, 1.0, False),  # a timeout: never tried again
    ],
)
def test_a_store_call_goes_again_only_after_a_quick_failure(
    failures: int, retries: int, took: float, again: bool
) -> None:
    from tiktok_adapter.storage._redis_client import goes_again

    assert goes_again(failures, retries, 100.0, 100.0 + took) is again
