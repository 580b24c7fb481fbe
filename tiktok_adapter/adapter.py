"""TikTokAdapter: a requests transport adapter that keeps every call inside TikTok's limits."""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter

from ._admission import QUOTA_WAIT_CAP, Admitter
from ._budget import Budget, take_budget
from ._clock import SYSTEM_CLOCK, Clock
from ._endpoints import EndpointTable, get_preset
from ._errors import server_refused
from ._events import Event, Hook, Hooks
from ._fallback import FallbackStore
from ._headers import RateInfo, parse_rate_headers
from ._identity import derive_secret
from ._limiter import StorageError, Store, open_store, storage_scheme
from ._refusal import QUOTA, Refusal, RefusalPolicy, TikTokRefusals
from ._retry import RetryPolicy, resend_is_safe
from ._routes import Route, RouteTable
from ._settings import Settings
from ._stats import Stats, StatsRecorder
from .priority import PRIORITY_HEADER, Priority, current_priority

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._settings import SettingsKwargs

logger = logging.getLogger("tiktok_adapter")

OPEN_API_BASE = "https://open.tiktokapis.com/"


class TikTokAdapter(HTTPAdapter):
    """An HTTPAdapter that admits each attempt through the rate windows before sending.

    ``send`` is a recipe of overridable steps: :meth:`resolve` the endpoint,
    :meth:`admit` (sleep, queue by priority, or raise), send, :meth:`observe` the
    response, and decide whether to re-send. Settings come as keywords (see
    :class:`Settings`) or as a ``settings`` object; keywords win. Hooks
    (``on_wait``, ``on_rate_limited``, ``on_retry``) take an :class:`Event`.
    """

    __attrs__ = [*HTTPAdapter.__attrs__, "settings", "clock", "refusal_policy"]

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        refusal_policy: RefusalPolicy | None = None,
        on_wait: Hook | None = None,
        on_rate_limited: Hook | None = None,
        on_retry: Hook | None = None,
        pool_connections: int = 10,
        pool_maxsize: int = 10,
        pool_block: bool = False,
        **options: Unpack[SettingsKwargs],
    ) -> None:
        base = settings if settings is not None else Settings()
        self.settings = base.replace(**options) if options else base
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self.refusal_policy: RefusalPolicy = refusal_policy or TikTokRefusals(
            business_codes=self.settings.rate_limit_codes
        )
        # urllib3 must never re-send on its own: every attempt on the wire has to
        # pass admission, so its retries are off and ours run in send().
        super().__init__(
            pool_connections=pool_connections,
            pool_maxsize=pool_maxsize,
            max_retries=0,
            pool_block=pool_block,
        )
        self._setup()
        for name, hook in (("on_wait", on_wait), ("on_rate_limited", on_rate_limited),
                           ("on_retry", on_retry)):  # fmt: skip
            if hook is not None:
                self.hooks.add(name, hook)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> TikTokAdapter:
        return cls(settings, **kwargs)

    def _setup(self) -> None:
        s = self.settings
        self.retry_policy = RetryPolicy(s.max_retries, s.backoff_base, s.backoff_max)
        self.preset = get_preset(s.preset, getattr(s, "tier", None))
        table = EndpointTable.build(self.preset, s.limits)
        self.routes = RouteTable(table, s.effective_app_limit, derive_secret(s.key_prefix))
        self.table = table
        self.default_priority = Priority.coerce(s.default_priority, "default_priority")
        self._random = random.Random()
        self._server_info: dict[str, RateInfo] = {}
        self._stats = StatsRecorder(self.clock.now())
        self.hooks = Hooks()
        shared = storage_scheme(s.storage_uri) != "memory"
        store: Store = open_store(
            s.storage_uri,
            key_prefix=s.key_prefix,
            margin=s.safety_margin,
            use_storage_time=s.storage_time,
        )
        if shared:
            store = FallbackStore(
                store, self.clock, margin=s.safety_margin,
                raise_errors=s.on_storage_error == "raise",
            )  # fmt: skip
        self.store = store
        self.admitter = Admitter(
            store, self.clock, s, self._stats, self.hooks,
            pass_now=not (shared and s.storage_time),
        )  # fmt: skip

    def __setstate__(self, state: dict[str, Any]) -> None:
        # HTTPAdapter restores __attrs__ and its pools; we rebuild what derives from them.
        super().__setstate__(state)  # type: ignore[misc]
        self._setup()

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
        level = self.request_priority(request)
        attempt = 0
        while True:
            self.admit(request, route, level)
            try:
                response = super().send(
                    request, stream=stream, timeout=timeout, verify=verify, cert=cert,
                    proxies=proxies,
                )  # fmt: skip
            except (requests.ConnectionError, requests.Timeout) as exc:
                if not self.should_resend_after_error(request, route, exc, attempt):
                    raise
                attempt += 1
                self._retrying(route, level, self._backoff(attempt), type(exc).__name__)
                continue
            self._stats.add(route.name, "sent")
            refusal = self.observe(request, route, response, stream)
            if refusal is None:
                return response
            self._stats.add(route.name, "rate_limited")
            if self.settings.on_limit == "raise" or self._quota_wait_too_long(refusal):
                self._stats.add(route.name, "refusals")
                raise server_refused(request, route, response, refusal, self.clock.now())
            if not self.should_resend_after_refusal(request, refusal, attempt):
                # After the last retry the caller gets the final refusal itself, as plain
                # requests would give it: a response, never None.
                return response
            attempt += 1
            _discard(response)
            self._retrying(route, level, 0.0, refusal.code)

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
        self, request: requests.PreparedRequest, route: Route, level: Priority | None = None
    ) -> float:
        """Wait until every window admits the request, or raise; returns seconds waited."""
        windows, queue = self.routes.windows_for(route, request)
        return self.admitter.admit(request, route, level or self.default_priority, windows, queue)

    def observe(
        self,
        request: requests.PreparedRequest,
        route: Route,
        response: requests.Response,
        stream: bool,
    ) -> Refusal | None:
        """Read the server's rate information; block the endpoint where it says so."""
        now = self.clock.now()
        info = parse_rate_headers(response.headers, now)
        if info is not None:
            self._server_info[route.name] = info
        refusal = self.refusal_policy.classify(response, info, may_read_body=not stream)
        if refusal is not None:
            return self._pause(route, refusal, now)
        if info is not None and info.remaining == 0 and info.reset_at is not None:
            wait = self.retry_policy.clamp_server_wait(info.reset_at - now)
            # A window that resets hours away is a daily quota, not a pause to sleep off.
            self._block(route, now + wait, now, quota=wait > QUOTA_WAIT_CAP)
        return None

    def should_resend_after_error(
        self, request: requests.PreparedRequest, route: Route, exc: Exception, attempt: int
    ) -> bool:
        """Re-send after a connection error only where a duplicate cannot hurt."""
        if isinstance(exc, requests.exceptions.SSLError):
            return False
        return self.retry_policy.may_retry(attempt) and resend_is_safe(
            request.method, route.read_only, request.body
        )

    def should_resend_after_refusal(
        self, request: requests.PreparedRequest, refusal: Refusal, attempt: int
    ) -> bool:
        """A refusal means the server did not process the request, so any method may go again."""
        replayable = request.body is None or isinstance(request.body, (bytes, str))
        return replayable and self.retry_policy.may_retry(attempt)

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
        self._stats.add(self.resolve(request).name, "cache_hits" if hit else "cache_misses")

    def close(self) -> None:
        super().close()
        self.store.close()

    # -- helpers --------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        return self.retry_policy.backoff_time(attempt, self._random.random())

    def _quota_wait_too_long(self, refusal: Refusal) -> bool:
        """A spent quota is not slept off for hours: past the cap the caller hears of it."""
        if refusal.kind != QUOTA or refusal.retry_at is None:
            return False
        cap = self.settings.max_wait if self.settings.max_wait is not None else QUOTA_WAIT_CAP
        return refusal.retry_at - self.clock.now() > cap

    def _retrying(self, route: Route, level: Priority, seconds: float, why: str) -> None:
        self._stats.add(route.name, "retries")
        self.hooks.emit("on_retry", Event("retry", route.name, level, seconds, why))
        if seconds > 0:
            self.clock.sleep(seconds)

    def _block(self, route: Route, until: float, now: float, *, quota: bool = False) -> None:
        try:
            self.store.block(route.blocks[1 if quota else 0], until, now)
        except StorageError as exc:
            logger.warning("could not share the block of %s: %s", route.name, exc)

    def _pause(self, route: Route, refusal: Refusal, now: float) -> Refusal:
        """Block the endpoint for as long as the refusal says; returns it with that moment."""
        until = self.retry_policy.pause_until(
            now, refusal.retry_at, refusal.kind == QUOTA, self._random.random()
        )
        seconds = until - now
        logger.warning(
            "%s refused by the server (%s); pausing it for %.1f s",
            route.name, refusal.code, seconds,
        )  # fmt: skip
        level = current_priority() or self.default_priority
        self.hooks.emit(
            "on_rate_limited", Event("rate_limited", route.name, level, seconds, refusal.code)
        )
        self._block(route, until, now, quota=refusal.kind == QUOTA)
        return replace(refusal, retry_at=until)


def mount(
    session: requests.Session,
    adapter: TikTokAdapter | None = None,
    *,
    base_url: str | None = None,
    **kwargs: Any,
) -> TikTokAdapter:
    """Mount ``adapter`` (or a new one built from ``kwargs``) on exactly ``base_url``.

    ``base_url`` defaults to the preset's API host (``https://open.tiktokapis.com/``,
    or ``https://business-api.tiktok.com/`` for ``preset="business"``). The trailing
    slash matters: a prefix without it would also cover look-alike hosts such as
    ``open.tiktokapis.com.evil.example``.
    """
    if adapter is None:
        adapter = TikTokAdapter(**kwargs)
    elif kwargs:
        raise TypeError("pass either an adapter or settings for a new one, not both")
    if base_url is None:
        base_url = adapter.preset.base_url
    if not base_url.endswith("/"):
        base_url += "/"
    session.mount(base_url, adapter)
    return adapter


def _discard(response: requests.Response) -> None:
    """Release a refused response's connection before the next attempt."""
    try:
        response.content  # noqa: B018 - reading drains the body so the connection is reused
    except (requests.RequestException, RuntimeError):
        pass
    response.close()
