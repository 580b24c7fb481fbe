"""Learned limits, as plain values: how far below the configured rate a scope runs, and why.

A *scope* is one endpoint (its own moving windows) or the whole app (the app's moving
windows). Its learned state is one factor in (0, 1]: every moving window of the scope
admits ``floor(amount * factor)`` (at least 1) instead of ``amount``, so the effective
rate is never above the configured one. Calendar quotas (``@utc``) are never scaled: a
spent daily quota is a block until 00:00 UTC, not a rate to find out by trying.

- One refusal is only a pause (as without learning): servers refuse now and then for
  reasons of their own. A second one within ``confirm_within`` seconds (at least ten of
  the scope's shortest window) shows the limit is lower than configured, and lowers the
  factor by ``decrease``, but never below what the scope's own windows say the server
  accepted (the fullest window's count before the refused request, over its amount),
  so it settles at the real limit instead of overshooting below it.
- While the server accepts and the scope is busy at its learned rate, the factor rises
  one step after ``raise_every`` seconds without a refusal. A refusal within that time
  of a raise is a failed probe: the wait before the next raise doubles, up to
  ``raise_every_max``. A probe that holds resets the wait.
- Nothing is ever raised for a scope that is not read-only (see the Learner).

Nothing here reads a clock or a store: ``tiktok_adapter.engine.learner`` does, and
hands what it read to these functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from .errors import ConfigurationError
from .rates import Rate
from .routes import Route
from .windows import Window

APP_SCOPE = "app"
RefusalScope = Literal["endpoint", "app"]
# Busy means a window of the scope holds at least this share of its learned amount: a
# scope that does not use its learned rate has nothing to probe with.
BUSY = 0.8


@dataclass(frozen=True)
class LearningPolicy:
    """How limits are learned; the defaults change nothing for a correctly configured app.

    ``enabled``: learn at all. ``raise_every``: seconds without a refusal, while busy at
    the learned rate, before one step up. ``raise_every_max``: the longest wait between
    probes after failed ones. ``step``: a raise adds this fraction of the factor, and at
    least one request to the scope's smallest window. ``decrease``: the factor after a
    refusal that the windows cannot explain. ``floor``: the lowest factor.
    ``cache_for``: seconds a process trusts its copy of values shared through Redis.
    ``forget_after``: seconds after its last change that a shared value expires.
    ``confirm_within``: a refusal lowers only when another came this recently.
    """

    enabled: bool = True
    raise_every: float = 300.0
    raise_every_max: float = 3600.0
    step: float = 0.05
    decrease: float = 0.8
    floor: float = 0.05
    cache_for: float = 1.0
    forget_after: float = 86_400.0
    confirm_within: float = 60.0

    def __post_init__(self) -> None:
        for name in ("raise_every", "raise_every_max", "cache_for", "forget_after",
                     "confirm_within"):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigurationError(f"learning {name}={value!r} must be seconds above 0")
        if self.raise_every_max < self.raise_every:
            raise ConfigurationError(
                f"learning raise_every_max={self.raise_every_max!r} must be at least "
                f"raise_every={self.raise_every!r}"
            )
        for name in ("step", "decrease", "floor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigurationError(f"learning {name}={value!r} must be a fraction")
            if not 0 < value < 1:
                raise ConfigurationError(f"learning {name}={value!r} must be in (0, 1)")


class LearnedPlace(Protocol):
    """Where a store keeps learned values (declared by each store: ``learned_place``)."""

    # True when reading costs a round trip that may time out: the learner then reads in
    # the background after the first time; False for a dict in process.
    remote: bool

    def load(self) -> dict[str, Learned]:
        """Every scope's state; raises StorageError when the store cannot be reached."""

    def lower(self, scope: str, state: Learned) -> Learned:
        """Store ``state`` unless a lower factor is stored already; returns what is stored."""

    def swap(self, scope: str, expected: float, state: Learned) -> bool:
        """Store ``state`` only if the stored factor is still ``expected`` (a raise)."""


@dataclass(frozen=True)
class Learned:
    """One scope's learned state; ``changed_at`` is wall time, so processes compare it."""

    factor: float = 1.0
    changed_at: float = 0.0
    # The wait before the next raise (0: the policy's raise_every).
    interval: float = 0.0
    # The last change was a raise that no full interval has confirmed yet.
    probing: bool = False

    def encode(self) -> str:
        return f"{self.factor!r} {self.changed_at!r} {self.interval!r} {int(self.probing)}"

    @classmethod
    def decode(cls, text: str) -> Learned | None:
        """The state written by :meth:`encode`, or None for anything else."""
        try:
            factor, changed, interval, probing = text.split()
            state = cls(float(factor), float(changed), float(interval), probing == "1")
        except ValueError:
            return None
        finite = all(math.isfinite(x) for x in (state.factor, state.changed_at, state.interval))
        return state if finite and 0 < state.factor <= 1 else None


UNLEARNED = Learned()


def scaled_amount(rate: Rate, factor: float) -> int:
    """The amount a moving window admits at ``factor``; calendar quotas never change."""
    if rate.calendar or factor >= 1.0:
        return rate.amount
    # The epsilon keeps 20 * 0.55 at 11, not 10.999...
    return max(1, min(rate.amount, math.floor(rate.amount * factor + 1e-9)))


def scaled_rate(rate: Rate, factor: float) -> Rate:
    """``rate`` at ``factor``; its text names both the learned and the configured amount."""
    amount = scaled_amount(rate, factor)
    if amount == rate.amount:
        return rate
    text = f"{amount}/{rate.period:g}s (learned; configured {rate.text})"
    return replace(rate, amount=amount, text=text)


def reading(rates_used: list[tuple[Rate, int]]) -> float | None:
    """The factor the server's refusal points at: for the fullest window, the requests
    it held before the refused one, over its configured amount."""
    best: float | None = None
    for rate, used in rates_used:
        if rate.calendar or used < 1:
            continue
        estimate = (used - 1) / rate.amount
        if best is None or estimate > best:
            best = estimate
    return best


def lowered(
    current: Learned,
    estimate: float | None,
    now: float,
    cooldown: float,
    policy: LearningPolicy,
) -> Learned | None:
    """The state after a rate refusal, or None when it changes nothing.

    Refusals within ``cooldown`` (the scope's shortest window) of a decrease answer
    requests admitted before it and say nothing new; a refusal after a raise always
    counts, since it is the probe failing.
    """
    if not current.probing and current.factor < 1.0 and now < current.changed_at + cooldown:
        return None
    target = current.factor * policy.decrease
    # The server took ``estimate``: never go below it, and where it is one step away,
    # settle on it rather than stepping past it.
    if estimate is not None and target * policy.decrease <= estimate < current.factor:
        target = estimate
    target = max(target, policy.floor)
    if target >= current.factor:
        return None
    interval = current.interval or policy.raise_every
    if current.probing:
        interval = min(interval * 2, policy.raise_every_max)
    return Learned(target, now, interval, probing=False)


def raise_due(current: Learned, now: float, policy: LearningPolicy) -> bool:
    """Whether enough time has passed without a refusal for one step up."""
    if current.factor >= 1.0:
        return False
    return now >= current.changed_at + (current.interval or policy.raise_every)


def raised(current: Learned, smallest: int, now: float, policy: LearningPolicy) -> Learned:
    """One step up: ``policy.step`` of the factor, and at least one request more in the
    smallest window of ``smallest`` requests; never above 1."""
    step = max(current.factor * policy.step, 1.0 / max(smallest, 1))
    factor = min(1.0, current.factor + step)
    # A probe that held for a whole interval confirms its level: the next wait is short again.
    interval = policy.raise_every if current.probing else (current.interval or policy.raise_every)
    return Learned(factor, now, interval, probing=True)


def scope_windows(
    route: Route, scope: RefusalScope, app_keys: frozenset[str]
) -> tuple[str, tuple[Window, ...]]:
    """The scope to learn for, and its moving windows at their configured rates; the
    other scope when the named one has no moving window on this route."""
    app = tuple(w for w in route.windows if w.key in app_keys and not w.rate.calendar)
    own = tuple(w for w in route.windows if w.key not in app_keys and not w.rate.calendar)
    if scope == "app":
        return (APP_SCOPE, app) if app else (route.name, own)
    return (route.name, own) if own else (APP_SCOPE, app)


def cooldown_of(windows: tuple[Window, ...]) -> float:
    """A scope's shortest moving window, at least one second (``windows`` not empty)."""
    return max(1.0, min(w.rate.period for w in windows))


def confirmed(
    current: Learned,
    used: list[tuple[Rate, int]],
    since_last: float,
    cooldown: float,
    policy: LearningPolicy,
) -> bool:
    """Whether a refusal may lower ``current``, ``since_last`` seconds after the scope's
    previous refusal here, with ``used`` the count its windows held (empty when unread).

    A failed probe lowers at once; otherwise a refusal must follow another. Refused with
    our own window full, the server may enforce the very limit we hold and a request
    reached it late (jitter at the window's edge): that lowers only when it recurs within
    two windows, as a lower real limit does in every window, so a correct configuration
    does not drift on rare late arrivals.
    """
    confirm = max(policy.confirm_within, 10 * cooldown)
    if at_our_limit(used, current.factor):
        confirm = 2 * cooldown
    return current.probing or since_last <= confirm


def at_our_limit(used: list[tuple[Rate, int]], factor: float) -> bool:
    """Whether some moving window held as many requests as we allow it at ``factor``."""
    return any(not rate.calendar and count >= scaled_amount(rate, factor) for rate, count in used)


def busy(rate: Rate, used: int, factor: float) -> bool:
    """Whether a window holding ``used`` requests is busy at ``factor`` (worth a probe)."""
    return used >= BUSY * scaled_amount(rate, factor)


def describe(windows: tuple[Window, ...], factor: float) -> str:
    """``windows`` at ``factor``, for the log."""
    return (
        ", ".join(f"{scaled_amount(w.rate, factor)} of {w.rate.text}" for w in windows)
        + f" ({factor:.0%})"
    )
