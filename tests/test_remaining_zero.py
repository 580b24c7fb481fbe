"""``Remaining: 0`` in whole seconds: the limiter blocks the endpoint only as long as the
server's reset may truly be, and no longer than our own window when that explains the 0.

A server that rounds Reset up and Date down names a moment up to two seconds late. When
our own window is spent with the server's count and frees within that rounding, the next
request goes when our window frees (not a second or two later); any other 0 (a server
window that holds calls we did not make, or frees later than ours could) still closes the
endpoint until the server's reset. Fake clock, memory store, the sync engine.
"""

from __future__ import annotations

import email.utils
import math
from types import SimpleNamespace

import pytest
from requests.structures import CaseInsensitiveDict

from tiktok_adapter import Settings
from tiktok_adapter.core.refusal import Answer
from tiktok_adapter.engine.effects import run
from tiktok_adapter.engine.limiter import Limiter
from tiktok_adapter.settings.base import DEFAULT_SAFETY_MARGIN
from tiktok_adapter.testing import FakeClock

INFO = "https://open.tiktokapis.com/v2/user/info/"
# Far enough into a second that a whole-second Reset and Date round a long way.
START = 1_700_000_000.3
ANSWER_TIME = 0.01  # from admission to the answer
MARGIN = DEFAULT_SAFETY_MARGIN


@pytest.fixture(params=[{}, {"app_limit": None}], ids=["with the app's window", "alone"])
def limiter(request: pytest.FixtureRequest) -> Limiter:
    """Our 10/second window of /v2/user/info/, beside the app's 1000/hour or alone."""
    settings = Settings(
        limits={"/v2/user/info/": "10/second"}, on_limit="sleep", max_wait=60, **request.param
    )
    return Limiter(settings, FakeClock(START), errors=lambda problem, _: RuntimeError(problem))


def _send(limiter: Limiter, count: int) -> None:
    """Admit ``count`` requests to /v2/user/info/ (each waits as the engine says)."""
    route = limiter.resolve(INFO)
    for _ in range(count):
        request = SimpleNamespace(url=INFO, headers={}, body=None)
        limiter.admit(request, route, limiter.start(route, limiter.default_priority))


def _spent(limiter: Limiter, reset_in: float, limit: int = 10) -> float:
    """The server answers now: ``Remaining: 0``, its window freeing ``reset_in`` from now
    on its clock (which is ours), Reset rounded up and Date down, as servers write them.
    Returns the moment the server's own rounding names on our clock."""
    now = limiter.clock.now()
    reset, date = math.ceil(now + reset_in), math.floor(now)
    headers = CaseInsensitiveDict({
        "Date": email.utils.formatdate(date, usegmt=True),
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(reset),
    })  # fmt: skip
    route = limiter.resolve(INFO)
    attempt = limiter.start(route, limiter.default_priority)
    outcome = limiter.observe(route, Answer(200, headers, b"{}"), attempt)
    assert outcome.refusal is None
    run(outcome.effects)
    return now + (reset - date)


def test_a_zero_our_window_explains_does_not_block_past_our_window(limiter: Limiter) -> None:
    clock = limiter.clock
    _send(limiter, 10)  # our 10/second window is spent at START
    clock.sleep(ANSWER_TIME)
    named = _spent(limiter, reset_in=1.0 - ANSWER_TIME)  # the server's window: the same
    assert named - START >= 2.0  # the headers' rounding names a moment 2 s away or more
    _send(limiter, 1)
    # The 11th goes when our window frees (its margin included), not at the named moment.
    assert clock.now() == pytest.approx(START + 1.0 + MARGIN, abs=0.01)


def test_a_zero_our_window_does_not_explain_blocks_to_the_servers_reset(limiter: Limiter) -> None:
    clock = limiter.clock
    _send(limiter, 3)  # we sent 3; the server counted 10: someone else sent the rest
    clock.sleep(ANSWER_TIME)
    named = _spent(limiter, reset_in=1.0 - ANSWER_TIME)
    _send(limiter, 1)
    assert clock.now() >= named  # the server's moment, as its headers name it


def test_a_zero_from_a_server_window_longer_than_ours_blocks_to_its_reset(limiter: Limiter) -> None:
    clock = limiter.clock
    _send(limiter, 10)  # spent with the server's count, but the server's window
    clock.sleep(0.9)  # frees 3 s after this answer, long after ours could
    named = _spent(limiter, reset_in=3.0)
    _send(limiter, 1)
    assert clock.now() >= named


def test_a_zero_with_a_lower_server_limit_blocks_to_its_reset(limiter: Limiter) -> None:
    clock = limiter.clock
    _send(limiter, 5)  # the server allows 5 a second; ours, 10, has room left
    clock.sleep(ANSWER_TIME)
    named = _spent(limiter, reset_in=1.0 - ANSWER_TIME, limit=5)
    _send(limiter, 1)
    assert clock.now() >= named


def test_a_zero_counting_more_than_we_sent_blocks_to_its_reset(limiter: Limiter) -> None:
    clock = limiter.clock
    _send(limiter, 10)  # our window is spent, but the server counted 20 in its own:
    clock.sleep(ANSWER_TIME)  # half of them someone else's, which ours cannot see leave
    named = _spent(limiter, reset_in=1.0 - ANSWER_TIME, limit=20)
    _send(limiter, 1)
    assert clock.now() >= named


def test_on_redis_the_block_is_decided_on_the_shared_count(redis_url: str, key_prefix: str) -> None:
    clock = FakeClock(START)
    settings = Settings(
        limits={"/v2/user/info/": "10/second"}, storage_uri=redis_url, key_prefix=key_prefix,
        storage_time=False, on_limit="sleep", max_wait=60,
    )  # fmt: skip
    shared = Limiter(settings, clock, errors=lambda problem, _: RuntimeError(problem))
    try:
        _send(shared, 10)
        clock.sleep(ANSWER_TIME)
        _spent(shared, reset_in=1.0 - ANSWER_TIME)
        _send(shared, 1)
        assert clock.now() == pytest.approx(START + 1.0 + MARGIN, abs=0.01)
    finally:
        shared.store.close()
