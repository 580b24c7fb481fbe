"""The rules of a call, as a table: plain values in, one decision out; no I/O, no sleeping."""

from __future__ import annotations

import pytest

from tiktok_adapter import Priority
from tiktok_adapter.core.decide import Cause, Raise, Return, Rules, Send, Wait
from tiktok_adapter.core.rates import Rate
from tiktok_adapter.core.refusal import Refusal, RefusalKind
from tiktok_adapter.core.retry import RetryPolicy
from tiktok_adapter.core.windows import Admission

NOW = 1_000_000.0
TEN = Rate(10, 60.0, False, "10/minute")
DAY = Rate(1000, 86_400.0, True, "1000/day@utc")


def rules(raise_on_limit: bool = False, max_wait: float | None = None, retries: int = 3) -> Rules:
    return Rules(raise_on_limit, max_wait, RetryPolicy(retries, 2.0, 60.0))


@pytest.mark.parametrize(
    ("policy", "verdict", "share", "expected"),
    [
        (rules(), Admission(True), 1.0, Send()),
        (rules(), Admission(False, 5.0, "10/minute", False, TEN), 1.0, Wait(5.0, Cause.WINDOW)),
        (rules(), Admission(False, 9.0, "server", False), 1.0, Wait(9.0, Cause.SERVER)),
        # A spent quota is slept off in sleep mode however long, unless max_wait says no.
        (rules(), Admission(False, 36_000.0, "1000/day@utc", True, DAY), 1.0,
         Wait(36_000.0, Cause.QUOTA)),
        (rules(max_wait=3600), Admission(False, 36_000.0, "1000/day@utc", True, DAY), 1.0,
         "quota 1000/day@utc is spent"),
        (rules(max_wait=30), Admission(False, 29.0, "10/minute", False, TEN), 1.0,
         Wait(29.0, Cause.WINDOW)),
        (rules(max_wait=30), Admission(False, 31.0, "10/minute", False, TEN), 1.0,
         "limit 10/minute reached; retry in 31.00 s"),
        (rules(raise_on_limit=True), Admission(False, 1.0, "10/minute", False, TEN), 0.5,
         "LOW may use 5 of 10/minute"),
    ],
)  # fmt: skip
def test_admission(policy: Rules, verdict: Admission, share: float, expected: object) -> None:
    attempt = policy.start("/video/query/", Priority.LOW, NOW)
    decision = policy.admission(attempt, verdict, share, NOW)
    if isinstance(expected, str):
        assert isinstance(decision, Raise) and decision.problem is not None
        assert expected in decision.problem.message
    else:
        assert decision == expected


def test_the_deadline_counts_from_the_start_of_the_call() -> None:
    policy = rules(max_wait=10)
    attempt = policy.start("/x/", Priority.MEDIUM, NOW)
    verdict = Admission(False, 4.0, "10/minute", False, TEN)
    assert isinstance(policy.admission(attempt, verdict, 1.0, NOW + 5), Wait)
    assert isinstance(policy.admission(attempt, verdict, 1.0, NOW + 7), Raise)


def test_a_refusal_is_raised_returned_or_sent_again() -> None:
    refusal = Refusal(RefusalKind.RATE, "http_429", NOW + 5)
    policy = rules(retries=1)
    first = policy.start("/x/", Priority.MEDIUM, NOW)
    decision, second = policy.refusal(first, refusal, True, NOW)
    assert decision == Send() and second.resends == 1
    assert policy.refusal(second, refusal, True, NOW)[0] == Return()
    assert policy.refusal(first, refusal, False, NOW)[0] == Return()  # a stream cannot replay
    raised, _ = rules(raise_on_limit=True).refusal(first, refusal, True, NOW)
    assert isinstance(raised, Raise) and raised.problem is not None
    assert raised.problem.cause is Cause.SERVER and raised.problem.retry_after == 5.0
    quota = Refusal(RefusalKind.QUOTA, "daily_quota_limit_exceeded", NOW + 50_000)
    capped_rules = rules(max_wait=60)
    capped, _ = capped_rules.refusal(capped_rules.start("/x/", Priority.MEDIUM, NOW), quota,
                                     True, NOW)  # fmt: skip
    assert isinstance(capped, Raise) and capped.problem is not None and capped.problem.quota


def test_pauses_double_with_each_refusal_of_a_call() -> None:
    policy = rules(retries=6)
    attempt = policy.start("/x/", Priority.MEDIUM, NOW)
    refusal = Refusal(RefusalKind.RATE, "http_429")
    pauses = []
    for _ in range(5):
        pauses.append(policy.pause(attempt, refusal, 1.0, NOW) - NOW)
        attempt = attempt.again()
    assert pauses == [2.0, 4.0, 8.0, 16.0, 32.0]


def test_connection_errors_back_off_only_where_safe_and_within_the_deadline() -> None:
    policy = rules(max_wait=3)
    attempt = policy.start("/x/", Priority.MEDIUM, NOW)
    assert policy.connection_error(attempt, False, 0.5, NOW)[0] == Raise(None)
    decision, following = policy.connection_error(attempt, True, 0.5, NOW)
    assert decision == Wait(1.5, Cause.BACKOFF) and following.resends == 1
    assert policy.connection_error(following, True, 1.0, NOW)[0] == Raise(None)  # 4 s > 3 s
