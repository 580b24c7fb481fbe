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
from typing import Any

from ..core.budget import Budget, take_budget
from ..core.clock import Clock
from ..core.decide import Attempt, Rules
from ..core.endpoints import EndpointTable, get_preset
from ..core.events import Event, EventKind, Hooks
from ..core.headers import RateInfo, parse_rate_headers
from ..core.identity import RequestLike, derive_secret
from ..core.refusal import Answer, Refusal, RefusalKind, RefusalPolicy, TikTokRefusals, exhausted
from ..core.retry import RetryPolicy
from ..core.routes import OTHER, Route, RouteTable
from ..core.stats import Counter, Stats, StatsRecorder
from ..core.windows import StorageError
from ..priority import PRIORITY_HEADER, Priority, current_priority
from ..settings import Settings
from ..storage import is_shared, open_store
from .waiting import Admitter, ErrorFactory

logger = logging.getLogger("tiktok_adapter")

# Server rate information is kept per table row plus one row for every other path.
_SERVER_INFO_SIZE = 256

# Limiters alive in this process by id: a transport unpickled here (copy.deepcopy of a
# session, a pickle round trip) shares the original's windows, stats and hooks, so two
# copies never each allow the whole limit.
_LIVE: weakref.WeakValueDictionary[str, Limiter] = weakref.WeakValueDictionary()


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
            self.table, s.effective_app_limit, derive_secret(s.key_prefix), self.preset.app_counts
        )
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
        # A shared store on its own clock (Redis TIME) is not handed ours.
        self.pass_now = not (is_shared(s.storage_uri) and s.storage_time)
        self.admitter = Admitter(
            self.store, clock, s, self.recorder, self.hooks, rules=self.rules, errors=errors,
            pass_now=self.pass_now,
        )  # fmt: skip
        self.id = ident or uuid.uuid4().hex
        _LIVE[self.id] = self

    @staticmethod
    def alive(ident: str) -> Limiter | None:
        """The limiter with ``ident`` in this process, if it still exists."""
        return _LIVE.get(ident)

    # -- before sending -----------------------------------------------------------------

    def resolve(self, url: str) -> Route:
        return self.routes.resolve(url)

    def priority_of(self, headers: Any) -> Priority:
        """The priority header (removed before sending), else the context, else the default."""
        # A membership test first: popping a missing key costs a KeyError on every request.
        if PRIORITY_HEADER in headers:
            value = headers.pop(PRIORITY_HEADER)
            try:
                return Priority.coerce(value, PRIORITY_HEADER)
            except ValueError:
                logger.debug("ignoring unknown %s value", PRIORITY_HEADER)
        return current_priority() or self.default_priority

    def start(self, route: Route, level: Priority) -> Attempt:
        return self.rules.start(route.name, level, self.clock.now())

    def admit(self, request: RequestLike, route: Route, attempt: Attempt) -> float:
        """Block until every window admits the request (sync), or raise."""
        windows, queue = self.routes.windows_for(route, request)
        return self.admitter.admit(request, route, attempt, windows, queue)

    # -- after the server answered --------------------------------------------------------

    def observe(self, route: Route, answer: Answer, attempt: Attempt) -> Refusal | None:
        """Read the server's rate information; block the endpoint where it says so, and
        return the refusal (with when the endpoint reopens) if the answer is one."""
        now = self.clock.now()
        self.count(route, Counter.SENT)
        info = parse_rate_headers(answer.headers, now)
        if info is not None:
            self._remember(route, info)
        refusal = self.refusal_policy.classify(answer, info)
        if refusal is not None:
            self.count(route, Counter.RATE_LIMITED)
            return self._pause(route, refusal, attempt, now)
        closed = exhausted(info, now, self.retry_policy)
        if closed is not None:
            self._block(route, closed.until, now, quota=closed.quota)
        return None

    def retrying(self, route: Route, attempt: Attempt, seconds: float, why: str) -> None:
        """Count a re-send and tell the hooks; the transport sleeps ``seconds`` itself."""
        self.count(route, Counter.RETRIES)
        self.hooks.emit(Event(EventKind.RETRY, route.report, attempt.level, seconds, why))

    def count(self, route: Route, counter: Counter) -> None:
        self.recorder.add(route.report, counter)

    # -- monitoring -----------------------------------------------------------------------

    def stats(self) -> Stats:
        return self.recorder.snapshot(self.clock.now())

    def budget(self) -> Budget:
        return take_budget(
            self.store, self.routes.app_windows, self.routes.known_routes(),
            dict(self.server_info), self.clock.now(),
        )  # fmt: skip

    def record_cache(self, route: Route, hit: bool) -> None:
        self.count(route, Counter.CACHE_HITS if hit else Counter.CACHE_MISSES)

    # -- helpers --------------------------------------------------------------------------

    def _remember(self, route: Route, info: RateInfo) -> None:
        if route.report not in self.server_info and len(self.server_info) >= _SERVER_INFO_SIZE:
            self.server_info.pop(OTHER, None)
            if len(self.server_info) >= _SERVER_INFO_SIZE:
                return
        self.server_info[route.report] = info

    def _block(self, route: Route, until: float, now: float, *, quota: bool = False) -> None:
        try:
            self.store.block(route.blocks[1 if quota else 0], until, now)
        except StorageError as exc:
            logger.warning("could not share the block of %s: %s", route.name, exc)

    def _pause(self, route: Route, refusal: Refusal, attempt: Attempt, now: float) -> Refusal:
        """Block the endpoint for as long as the refusal says; returns it with that moment."""
        until = self.rules.pause(attempt, refusal, self.rand(), now)
        seconds = until - now
        logger.warning(
            "%s refused by the server (%s); pausing it for %.1f s",
            route.name, refusal.code, seconds,
        )  # fmt: skip
        self.hooks.emit(
            Event(EventKind.RATE_LIMITED, route.report, attempt.level, seconds, refusal.code)
        )
        self._block(route, until, now, quota=refusal.kind is RefusalKind.QUOTA)
        return replace(refusal, retry_at=until)


def replayable(body: object) -> bool:
    """A refused request can go again only when its body can be sent again."""
    return body is None or isinstance(body, (bytes, str))
