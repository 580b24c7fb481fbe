"""The limiter every transport shares: built once from Settings, it knows no HTTP library.

It holds the routes, the rules, the store, the counters and the hooks, and turns a
server's answer (plain values) into blocks and refusals. The requests adapter and the
httpx transports each wrap one and do only their own I/O: send, read, sleep, raise.
"""

from __future__ import annotations

import logging
import random
import uuid
import weakref
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from ..core.budget import Budget
from ..core.clock import Clock
from ..core.decide import Attempt, Decision, Raise, Return, Rules, Wait
from ..core.endpoints import EndpointTable, get_preset
from ..core.events import Event, EventKind, Hooks
from ..core.headers import RATE_HEADERS, LowerHeaders, RateInfo, parse_rate_headers
from ..core.identity import RequestLike, derive_secret
from ..core.learning import Learned, LearningPolicy
from ..core.priority import _current as _context_priority
from ..core.refusal import Answer, Refusal, RefusalKind, RefusalPolicy, TikTokRefusals, exhausted
from ..core.retry import RetryPolicy
from ..core.routes import OTHER, Route, RouteTable
from ..core.stats import Counter, Stats, StatsRecorder
from ..core.windows import Window
from ..priority import PRIORITY_HEADER, Priority
from ..settings import Settings
from ..storage import is_shared, open_store
from .budget import take_budget
from .effects import BlockWrite, Effect, Effects, Outcome
from .late import LateAnswers
from .learner import Learner
from .spent import SpentBlock
from .steps import RESERVED, ErrorFactory, Steps, reserve
from .waiting import Admitter

logger = logging.getLogger("tiktok_adapter")

# Server rate information is kept per table row plus one row for every other path.
_SERVER_INFO_SIZE = 256

# Limiters alive in this process by id: a transport unpickled here (copy.deepcopy of a
# session, a pickle round trip) shares the original's windows, stats and hooks, so two
# copies never each allow the whole limit.
_LIVE: weakref.WeakValueDictionary[str, Limiter] = weakref.WeakValueDictionary()

# The outcome of most answers: no refusal, nothing to do.
_NOTHING = Outcome()


class Limiter:
    """Windows, rules, counters and hooks for one configuration; safe to share by threads."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        *,
        errors: ErrorFactory,
        refusal_policy: RefusalPolicy | None = None,
        hooks: Hooks | None = None,
        random_source: Callable[[], float] | None = None,
        ident: str | None = None,
        learning: LearningPolicy | None = None,
    ) -> None:
        s = self.settings = settings
        self.clock = clock
        self.refusal_policy: RefusalPolicy = refusal_policy or TikTokRefusals(
            business_codes=s.rate_limit_codes
        )
        self.retry_policy = RetryPolicy(s.max_retries, s.backoff_base, s.backoff_max)
        self.rules = Rules(s.on_limit == "raise", s.max_wait, self.retry_policy)
        self.preset = get_preset(s.preset, s.tier)
        self.table = EndpointTable.build(self.preset, s.limits)
        self.routes = RouteTable(
            self.table, s.effective_app_limit, derive_secret(s.key_prefix),
            self.preset.app_counts, self.preset.hosts,
        )  # fmt: skip
        self.default_priority = Priority.coerce(s.default_priority, "default_priority")
        self.rand: Callable[[], float] = random_source or random.Random().random
        self.server_info: dict[str, RateInfo] = {}
        self.recorder = StatsRecorder(clock.now())
        self.hooks = hooks or Hooks()
        self.store = open_store(
            s.storage_uri, key_prefix=s.key_prefix, margin=s.safety_margin,
            use_storage_time=s.storage_time, clock=clock,
            on_error="raise" if s.on_storage_error == "raise" else "fallback",
        )  # fmt: skip
        # Learned limits: the effective windows are built before the store sees them.
        policy = learning or LearningPolicy(enabled=s.learn_limits)
        self.learner = Learner(
            policy, self.store.learned_place(s.key_prefix, policy), self.store, clock,
            frozenset(w.key for w in self.routes.app_windows),
        )  # fmt: skip
        self.routes.adjust = self.learner.adjust
        # Late answers move their entries (core/lateness.py), on stores that can.
        self.late = LateAnswers(self.store, clock, s.safety_margin)
        # A shared store on its own clock (Redis TIME) is not handed ours.
        self.pass_now = not (is_shared(s.storage_uri) and s.storage_time)
        self.steps = Steps(
            self.store, clock, s, self.recorder, self.hooks, rules=self.rules, errors=errors,
            pass_now=self.pass_now,
        )  # fmt: skip
        self.id = ident or uuid.uuid4().hex
        self.admitter = Admitter(self.steps, self.routes, self.learner, self.id)
        # Block until every window admits a request (sync), or raise; the seconds waited.
        # The admitter's own method, so that admitting costs the transport one call.
        self.admit: Callable[[RequestLike, Route, Attempt], float] = self.admitter.admit
        _LIVE[self.id] = self

    @staticmethod
    def alive(ident: str) -> Limiter | None:
        """The limiter with ``ident`` in this process, if it still exists."""
        return _LIVE.get(ident)

    # -- before sending -----------------------------------------------------------------

    def resolve(self, url: str) -> Route:
        return self.routes.resolve(url)

    def priority_for(self, value: str | None) -> Priority:
        """The level a priority header's ``value`` names, else the context's, else the default."""
        if value is not None:
            try:
                return Priority.coerce(value, PRIORITY_HEADER)
            except ValueError:
                logger.debug("ignoring unknown %s value", PRIORITY_HEADER)
        # The context's level read here, not through current_priority(): once per request.
        return _context_priority.get() or self.default_priority

    def start(self, route: Route, level: Priority) -> Attempt:
        if self.rules.max_wait is None:  # no deadline: no clock reading
            return Attempt(route.name, level)
        return self.rules.start(route.name, level, self.clock.now())

    def begin(self, url: str, priority: str | None = None) -> tuple[Route, Attempt]:
        """The route of ``url`` and a new attempt at the level ``priority`` (a priority
        header's value, or None) names: :meth:`resolve`, :meth:`priority_for` and
        :meth:`start` in one call, as every transport begins a call."""
        route = self.routes.resolve(url)
        if priority is None:  # the common case, spelled out: no call
            level = _context_priority.get() or self.default_priority
        else:
            level = self.priority_for(priority)
        if self.rules.max_wait is None:
            return route, Attempt(route.name, level)
        return route, self.rules.start(route.name, level, self.clock.now())

    def reserve(self, route: Route, windows: tuple[Window, ...]) -> None:
        """Remember the records that admitting ``windows`` just reserved for ``route``, so
        that its answer refunds what does not come back. Every transport calls it right
        after an admission, in the thread or task that then sends (a context variable)."""
        reserve(self.id, self.store, self.clock, route, windows)

    # -- after the server answered --------------------------------------------------------

    def observe(self, route: Route, answer: Answer, attempt: Attempt) -> Outcome:
        """Read the server's rate information: the refusal (with when the endpoint
        reopens) if the answer is one, and the work on the store it calls for (blocking
        the endpoint where the server says so), for the transport to run."""
        now = self.clock.now()
        self.recorder.add(route.report, Counter.SENT)
        effects: list[Effect] = []
        late = self.late.after(route, now)
        if late is not None:
            effects.append(late)
        if route.cost is not None:
            self._settle(route, answer, effects)
        headers = answer.headers
        # Most answers carry no rate header: told apart here, with no call.
        if type(headers) is LowerHeaders and RATE_HEADERS.isdisjoint(headers):
            info = None
        else:
            info = parse_rate_headers(headers, now)
        if info is not None:
            self._remember(route, info)
        refusal = self.refusal_policy.classify(answer, info)
        learner = self.learner
        if refusal is not None:
            self.count(route, Counter.RATE_LIMITED)
            if refusal.kind is RefusalKind.RATE and learner.policy.enabled:
                effects.append(partial(learner.refused, route, refusal.scope, now))
            return Outcome(self._pause(route, refusal, attempt, now, effects), tuple(effects))
        # ``due`` asks no store: the common answer (nothing learned) calls for nothing.
        if answer.status < 400 and not learner.idle and learner.due(route):
            effects.append(partial(learner.accepted, route, now))
        if info is not None:  # most answers carry no rate headers
            if info.remaining == 0 and info.reset_slack and route.windows:
                # A whole-second reset: our own count decides how long (engine/spent.py).
                effects.append(self._spent(route, info))
            else:
                closed = exhausted(info, now, self.retry_policy)
                if closed is not None:
                    effects.append(self._block(route, closed.until, now, quota=closed.quota))
        return Outcome(None, tuple(effects)) if effects else _NOTHING

    def retrying(self, route: Route, attempt: Attempt, seconds: float, why: str) -> None:
        """Count a re-send and tell the hooks; the transport sleeps ``seconds`` itself."""
        self.count(route, Counter.RETRIES)
        self.hooks.emit(Event(EventKind.RETRY, route.report, attempt.level, seconds, why))

    def after_error(
        self, route: Route, attempt: Attempt, safe: bool, why: str
    ) -> tuple[float | None, Attempt, Effects]:
        """A connection error: the seconds to wait before sending again (counted and told
        to the hooks), or None when the transport must raise it; and the work on the
        store it calls for (a late call's entries move), to run before either."""
        now = self.clock.now()
        late = self.late.after(route, now, answered=False)
        effects: Effects = () if late is None else (late,)
        decision, attempt = self.rules.connection_error(attempt, safe, self.rand(), now)
        if not isinstance(decision, Wait):
            return None, attempt, effects
        self.retrying(route, attempt, decision.seconds, why)
        return decision.seconds, attempt, effects

    def after_refusal(
        self, route: Route, attempt: Attempt, refusal: Refusal, replayable: bool
    ) -> tuple[Decision, Attempt]:
        """A refusal: Raise (counted), Return the answer, or Send again (counted and told
        to the hooks; the block :meth:`observe` wrote makes the admission wait)."""
        decision, attempt = self.rules.refusal(attempt, refusal, replayable, self.clock.now())
        if isinstance(decision, Raise):
            self.count(route, Counter.REFUSALS)
        elif not isinstance(decision, Return):
            self.retrying(route, attempt, 0.0, refusal.code)
        return decision, attempt

    def count(self, route: Route, counter: Counter) -> None:
        self.recorder.add(route.report, counter)

    # -- monitoring -----------------------------------------------------------------------

    def stats(self) -> Stats:
        return replace(self.recorder.snapshot(self.clock.now()), learned=self.learned(),
                       storage=self.store.health())  # fmt: skip

    def budget(self) -> Budget:
        return take_budget(
            self.store, self.routes.app_windows, self.routes.known_routes(),
            dict(self.server_info), self.clock.now(), adjust=self.learner.adjust,
            costs=self.routes.count_costs,
        )  # fmt: skip

    def learned(self) -> dict[str, float]:
        """Each scope ("app" or an endpoint) that runs below its configured limit, with the
        fraction of it that it runs at; empty when nothing was learned."""
        values: dict[str, Learned] = dict(self.learner.values())
        return {scope: state.factor for scope, state in sorted(values.items())}

    def record_cache(self, route: Route, hit: bool) -> None:
        self.count(route, Counter.CACHE_HITS if hit else Counter.CACHE_MISSES)

    # -- helpers --------------------------------------------------------------------------

    def _settle(self, route: Route, answer: Answer, effects: list[Effect]) -> None:
        """Refund the records a request reserved and did not get: all of them for a
        refusal or an error, the rest when the body shows how many came back."""
        held = RESERVED.get()
        if held is None or held[0] != self.id or held[1] != route.name or route.cost is None:
            return
        RESERVED.set(None)
        _, _, windows, wall = held
        if answer.status >= 400 or self.refusal_policy.classify(answer, None) is not None:
            came: int | None = 0
        else:
            came = route.cost.came_back(answer.body)
        if came is None:
            return
        for window in windows:
            if window.cost > came:
                effects.append(partial(self.store.refund, window, window.cost - came, wall))

    def _remember(self, route: Route, info: RateInfo) -> None:
        if route.report not in self.server_info and len(self.server_info) >= _SERVER_INFO_SIZE:
            self.server_info.pop(OTHER, None)
            if len(self.server_info) >= _SERVER_INFO_SIZE:
                return
        self.server_info[route.report] = info

    def _block(self, route: Route, until: float, now: float, *, quota: bool = False) -> BlockWrite:
        key = route.blocks[1 if quota else 0]
        return BlockWrite(self.store, route.name, key, until, now)

    def _spent(self, route: Route, info: RateInfo) -> SpentBlock:
        windows = self.learner.adjust(route, route.windows)
        return SpentBlock(self.store, self.clock, route.name, route.blocks, windows, info,
                          self.retry_policy)  # fmt: skip

    def _pause(
        self, route: Route, refusal: Refusal, attempt: Attempt, now: float, effects: list[Effect]
    ) -> Refusal:
        """Block the endpoint for as long as the refusal says (an effect); returns the
        refusal with that moment."""
        until = self.rules.pause(attempt, refusal, self.rand(), now)
        seconds = until - now
        logger.warning(
            "%s refused by the server (%s); pausing it for %.1f s",
            route.name, refusal.code, seconds,
        )  # fmt: skip
        self.hooks.emit(
            Event(EventKind.RATE_LIMITED, route.report, attempt.level, seconds, refusal.code)
        )
        effects.append(self._block(route, until, now, quota=refusal.kind is RefusalKind.QUOTA))
        return replace(refusal, retry_at=until)


def take_priority(headers: Any) -> str | None:
    """The priority header's value in a transport's mutable, case-insensitive ``headers``,
    removed (it is ours alone and never goes out), or None."""
    # A membership test first: popping a missing key costs a KeyError on every request.
    return headers.pop(PRIORITY_HEADER) if PRIORITY_HEADER in headers else None


def replayable(body: object) -> bool:
    """A refused request can go again only when its body can be sent again."""
    return body is None or isinstance(body, (bytes, str))
