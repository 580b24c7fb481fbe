"""The limiter's answer step returns what to do as data: the refusal, and the work on the
store (effects) that the transport runs with its own runner. Nothing touches the store
until the transport runs them."""

from __future__ import annotations

from requests.structures import CaseInsensitiveDict

from tiktok_adapter import Settings
from tiktok_adapter.core.refusal import Answer
from tiktok_adapter.engine.effects import BlockWrite, Outcome, run
from tiktok_adapter.engine.limiter import Limiter
from tiktok_adapter.testing import FakeClock

INFO = "https://open.tiktokapis.com/v2/user/info/"


def _limiter(clock: FakeClock) -> Limiter:
    return Limiter(Settings(on_limit="raise"), clock, errors=lambda problem, _: RuntimeError())


def test_a_429_returns_its_block_as_an_effect_that_only_the_runner_writes() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    route = limiter.resolve(INFO)
    attempt = limiter.start(route, limiter.default_priority)
    answer = Answer(429, CaseInsensitiveDict({"Retry-After": "30"}), b"")
    outcome = limiter.observe(route, answer, attempt)
    assert outcome.refusal is not None and outcome.refusal.retry_at == clock.now() + 30
    (block,) = [e for e in outcome.effects if isinstance(e, BlockWrite)]  # and what it teaches
    assert (block.key, block.until) == (route.blocks[0], clock.now() + 30)
    assert limiter.store.blocked_until(route.blocks[0], clock.now()) == 0.0  # not yet
    run(outcome.effects)
    assert limiter.store.blocked_until(route.blocks[0], clock.now()) == clock.now() + 30


def test_a_plain_200_calls_for_nothing() -> None:
    limiter = _limiter(FakeClock())
    route = limiter.resolve(INFO)
    attempt = limiter.start(route, limiter.default_priority)
    outcome = limiter.observe(route, Answer(200, CaseInsensitiveDict(), b"{}"), attempt)
    assert outcome == Outcome()
