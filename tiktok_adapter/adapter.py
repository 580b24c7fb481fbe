"""TikTokAdapter: a requests transport adapter that keeps every call inside TikTok's limits."""

from __future__ import annotations

import logging
import random
import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter

from ._admission import Admitter
from ._body import read_prefix, release
from ._budget import Budget, take_budget
from ._clock import SYSTEM_CLOCK, Clock
from ._endpoints import EndpointTable, get_preset
from ._errors import to_exception
from ._events import Event, EventKind, Hook, Hooks
from ._settings import Settings
from .core.decide import Attempt, Raise, Return, Rules, Wait
from .core.headers import RateInfo, parse_rate_headers
from .core.identity import derive_secret
from .core.refusal import Answer, Refusal, RefusalKind, RefusalPolicy, TikTokRefusals, exhausted
from .core.retry import RetryPolicy, resend_is_safe
from .core.routes import OTHER, Route, RouteTable
from .core.stats import Counter, Stats, StatsRecorder
from .core.windows import StorageError
from .exceptions import ConfigurationError
from .priority import PRIORITY_HEADER, Priority, current_priority
from .storage import is_shared, open_store

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._settings import SettingsKwargs

logger = logging.getLogger("tiktok_adapter")

OPEN_API_BASE = "https://open.tiktokapis.com/"
# Server rate information is kept per table row plus one row for every other path.
_SERVER_INFO_SIZE = 256

# Adapters alive in this process by id: a copy unpickled here (copy.deepcopy of a
# session, a pickle round trip) shares the original's windows, stats and hooks, so two
# copies never each allow the whole limit.
_LIVE: weakref.WeakValueDictionary[str, TikTokAdapter] = weakref.WeakValueDictionary()


class TikTokAdapter(HTTPAdapter):
    """An HTTPAdapter that admits each attempt through the rate windows before sending.

    ``send`` is a recipe of overridable steps: :meth:`resolve` the endpoint,
    :meth:`admit` (sleep, queue by priority, or raise), send, :meth:`observe` the
    response, and decide whether to re-send. Settings come as keywords (see
    :class:`Settings`) or as a ``settings`` object; keywords win. Hooks
    (``on_wait``, ``on_rate_limited``, ``on_retry``) take an :class:`Event`.
    ``random_source`` (a function returning a float in [0, 1)) draws the backoff jitter.
    """

    __attrs__ = [*HTTPAdapter.__attrs__, "settings", "clock", "refusal_policy", "_id"]

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        refusal_policy: RefusalPolicy | None = None,
        on_wait: Hook | None = None,
        on_rate_limited: Hook | None = None,
        on_retry: Hook | None = None,
        random_source: Callable[[], float] | None = None,
        pool_connections: int = 10,
        pool_maxsize: int = 10,
        pool_block: bool = False,
        **options: Unpack[SettingsKwargs],
    ) -> None:
        if settings is not None and not isinstance(settings, Settings):
            raise ConfigurationError(
                f"TikTokAdapter(settings={settings!r}): the first argument must be a Settings "
                "object or None; pass settings as keywords, such as on_limit='raise'"
            )
        base = settings if settings is not None else Settings()
        self.settings = base.replace(**options) if options else base
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self.refusal_policy: RefusalPolicy = refusal_policy or TikTokRefusals(
            business_codes=self.settings.rate_limit_codes
        )
        self._id = uuid.uuid4().hex
        # urllib3 must never re-send on its own: every attempt on the wire has to
        # pass admission, so its retries are off and ours run in send().
        super().__init__(
            pool_connections=pool_connections,
            pool_maxsize=pool_maxsize,
            max_retries=0,
            pool_block=pool_block,
        )
        self._setup(Hooks(), random_source)
        for name, hook in (("on_wait", on_wait), ("on_rate_limited", on_rate_limited),
                           ("on_retry", on_retry)):  # fmt: skip
            if hook is not None:
                self.hooks.add(name, hook)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> TikTokAdapter:
        return cls(settings, **kwargs)

    def _setup(self, hooks: Hooks, rand: Callable[[], float] | None = None) -> None:
        s = self.settings
        self.retry_policy = RetryPolicy(s.max_retries, s.backoff_base, s.backoff_max)
        self.rules = Rules(s.on_limit == "raise", s.max_wait, self.retry_policy)
        self.preset = get_preset(s.preset, getattr(s, "tier", None))
        table = EndpointTable.build(self.preset, s.limits)
        self.routes = RouteTable(
            table, s.effective_app_limit, derive_secret(s.key_prefix), self.preset.app_counts
        )
        self.table = table
        self.default_priority = Priority.coerce(s.default_priority, "default_priority")
        self._rand: Callable[[], float] = rand or random.Random().random
        self._server_info: dict[str, RateInfo] = {}
        self._stats = StatsRecorder(self.clock.now())
        self.hooks = hooks
        store = open_store(
            s.storage_uri, key_prefix=s.key_prefix, margin=s.safety_margin,
            use_storage_time=s.storage_time, clock=self.clock,
            on_error="raise" if s.on_storage_error == "raise" else "fallback",
        )  # fmt: skip
        shared = is_shared(s.storage_uri)
        self.store = store
        self.admitter = Admitter(
            store, self.clock, s, self._stats, self.hooks, rules=self.rules,
            errors=to_exception, pass_now=not (shared and s.storage_time),
        )  # fmt: skip
        _LIVE[self._id] = self

    _SHARED = ("retry_policy", "rules", "preset", "routes", "table", "default_priority", "_rand",
               "_server_info", "_stats", "hooks", "store", "admitter")  # fmt: skip

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()  # type: ignore[misc]
        state["_hooks"] = self.hooks.picklable()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # HTTPAdapter restores __attrs__ and its pools; we rebuild what derives from them,
        # or share it with the adapter we are a copy of when it lives in this process.
        hooks = state.pop("_hooks", {})
        super().__setstate__(state)  # type: ignore[misc]
        original = _LIVE.get(self._id)
        if original is not None:
            for name in self._SHARED:
                setattr(self, name, getattr(original, name))
            return
        self._setup(Hooks.restore(hooks))

    # -- the recipe ---------------------------------------------------------------------

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        route = self.resolve(request)
        attempt = self.rules.start(route.name, self.request_priority(request), self.clock.now())
        while True:
            self.admit(request, route, attempt)
            try:
                response = super().send(
                    request, stream=stream, timeout=timeout, verify=verify, cert=cert,
                    proxies=proxies,
                )  # fmt: skip
            except (requests.ConnectionError, requests.Timeout) as exc:
                decision, attempt = self.rules.connection_error(
                    attempt, self.may_resend_after_error(request, route, exc), self._rand(),
                    self.clock.now(),
                )  # fmt: skip
                if not isinstance(decision, Wait):
                    raise
                self._retrying(route, attempt, decision.seconds, type(exc).__name__)
                continue
            self._stats.add(route.report, Counter.SENT)
            refusal = self.observe(request, route, response, stream, attempt)
            if refusal is None:
                return response
            self._stats.add(route.report, Counter.RATE_LIMITED)
            replayable = request.body is None or isinstance(request.body, (bytes, str))
            decision, attempt = self.rules.refusal(attempt, refusal, replayable, self.clock.now())
            if isinstance(decision, Raise):
                self._stats.add(route.report, Counter.REFUSALS)
                assert decision.problem is not None
                raise to_exception(decision.problem, request, response)
            if isinstance(decision, Return):
                return response
            release(response)
            self._retrying(route, attempt, 0.0, refusal.code)

    def resolve(self, request: requests.PreparedRequest) -> Route:
        """The route (windows and block keys) for the request's URL path."""
        return self.routes.resolve(request.url or "")

    def request_priority(self, request: requests.PreparedRequest) -> Priority:
        """The header (removed before sending), else the context, else the default."""
        # A membership test first: popping a missing key costs a KeyError on every request.
        if PRIORITY_HEADER in request.headers:
            header = request.headers.pop(PRIORITY_HEADER)
            try:
                return Priority.coerce(header, PRIORITY_HEADER)
            except ValueError:
                logger.debug("ignoring unknown %s value", PRIORITY_HEADER)
        return current_priority() or self.default_priority

    def admit(
        self, request: requests.PreparedRequest, route: Route, attempt: Attempt | None = None
    ) -> float:
        """Wait until every window admits the request, or raise; returns seconds waited."""
        if attempt is None:
            attempt = self.rules.start(route.name, self.default_priority, self.clock.now())
        windows, queue = self.routes.windows_for(route, request)
        return self.admitter.admit(request, route, attempt, windows, queue)

    def observe(
        self,
        request: requests.PreparedRequest,
        route: Route,
        response: requests.Response,
        stream: bool,
        attempt: Attempt,
    ) -> Refusal | None:
        """Read the server's rate information; block the endpoint where it says so."""
        now = self.clock.now()
        info = parse_rate_headers(response.headers, now)
        if info is not None:
            self._remember(route, info)
        refusal = self.refusal_policy.classify(self.answer(response, stream), info)
        if refusal is not None:
            return self._pause(route, refusal, attempt, now)
        closed = exhausted(info, now, self.retry_policy)
        if closed is not None:
            self._block(route, closed.until, now, quota=closed.quota)
        return None

    def answer(self, response: requests.Response, stream: bool) -> Answer:
        """The response as plain values for the refusal policy; a 429's body is read up to
        the cap whether or not the caller streams, and a streamed 200's never."""
        if response.status_code == 429:
            body = read_prefix(response)
        elif stream:
            body = None
        else:
            body = response.content
        return Answer(response.status_code, response.headers, body)

    def may_resend_after_error(
        self, request: requests.PreparedRequest, route: Route, exc: Exception
    ) -> bool:
        """Whether a request that may have reached the server can go again: safe methods
        and read-only endpoints only, so that no comment is ever posted twice."""
        if isinstance(exc, requests.exceptions.SSLError):
            return False
        return resend_is_safe(request.method, route.read_only, request.body)

    # -- monitoring -----------------------------------------------------------------------

    def stats(self) -> Stats:
        """A frozen snapshot of the counters, per endpoint and in total."""
        return self._stats.snapshot(self.clock.now())

    def budget(self) -> Budget:
        """Each window's limit, remaining and reset, from the storage (the fleet's on Redis)."""
        return take_budget(
            self.store, self.routes.app_windows, self.routes.known_routes(),
            dict(self._server_info), self.clock.now(),
        )  # fmt: skip

    def add_hook(self, name: str, hook: Hook) -> None:
        """Register ``hook`` for "on_wait", "on_rate_limited" or "on_retry"."""
        self.hooks.add(name, hook)

    def record_cache(self, request: requests.PreparedRequest, hit: bool) -> None:
        """Count a cache hit or miss for the request's endpoint (called by the cache layer)."""
        counter = Counter.CACHE_HITS if hit else Counter.CACHE_MISSES
        self._stats.add(self.resolve(request).report, counter)

    def close(self) -> None:
        """Release connections; the windows, blocks and stats live as long as the adapter.

        requests' ``Session.close()`` (and every ``with Session()`` block) closes each
        mounted adapter, and one adapter may serve many sessions, so closing never
        forgets what was admitted. Safe to call any number of times.
        """
        super().close()
        self.store.close()

    # -- helpers --------------------------------------------------------------------------

    def _remember(self, route: Route, info: RateInfo) -> None:
        if route.report not in self._server_info and len(self._server_info) >= _SERVER_INFO_SIZE:
            self._server_info.pop(OTHER, None)
            if len(self._server_info) >= _SERVER_INFO_SIZE:
                return
        self._server_info[route.report] = info

    def _retrying(self, route: Route, attempt: Attempt, seconds: float, why: str) -> None:
        self._stats.add(route.report, Counter.RETRIES)
        self.hooks.emit(Event(EventKind.RETRY, route.report, attempt.level, seconds, why))
        if seconds > 0:
            self.clock.sleep(seconds)

    def _block(self, route: Route, until: float, now: float, *, quota: bool = False) -> None:
        try:
            self.store.block(route.blocks[1 if quota else 0], until, now)
        except StorageError as exc:
            logger.warning("could not share the block of %s: %s", route.name, exc)

    def _pause(self, route: Route, refusal: Refusal, attempt: Attempt, now: float) -> Refusal:
        """Block the endpoint for as long as the refusal says; returns it with that moment."""
        until = self.rules.pause(attempt, refusal, self._rand(), now)
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
