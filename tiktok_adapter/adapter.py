"""TikTokAdapter: a requests transport adapter that keeps every call inside TikTok's limits."""

from __future__ import annotations

import datetime
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from ._clock import SYSTEM_CLOCK, Clock
from ._endpoints import Endpoint, EndpointTable, get_preset, normalize_path
from ._fallback import FallbackStore
from ._headers import RateInfo, parse_rate_headers
from ._limiter import (
    Admission,
    StorageError,
    Store,
    Window,
    open_store,
    parse_rates,
    storage_scheme,
)
from ._refusal import QUOTA, Refusal, RefusalPolicy, TikTokRefusals
from ._retry import RetryPolicy, resend_is_safe
from ._settings import Settings
from .exceptions import QuotaExhausted, RateLimitExceeded, StorageUnavailable

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._settings import SettingsKwargs

logger = logging.getLogger("tiktok_adapter")

OPEN_API_BASE = "https://open.tiktokapis.com/"
# A quota that resets at midnight should not silently park a worker for hours.
QUOTA_WAIT_CAP = 3600.0
_LONG_WAIT = 60.0
_ROUTE_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Route:
    """Everything admission needs to know about one URL path, computed once."""

    name: str
    read_only: bool
    windows: tuple[Window, ...]
    blocks: tuple[str, ...]


class TikTokAdapter(HTTPAdapter):
    """An HTTPAdapter that admits each attempt through the rate windows before sending.

    ``send`` is a recipe of overridable steps: :meth:`resolve` the endpoint,
    :meth:`admit` (sleep or raise), send, :meth:`observe` the response, and decide
    whether to re-send. Settings come as keywords (see :class:`Settings`) or as a
    ``settings`` object; keywords win.
    """

    __attrs__ = [*HTTPAdapter.__attrs__, "settings", "clock", "refusal_policy"]

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        refusal_policy: RefusalPolicy | None = None,
        pool_connections: int = 10,
        pool_maxsize: int = 10,
        pool_block: bool = False,
        **options: Unpack[SettingsKwargs],
    ) -> None:
        base = settings if settings is not None else Settings()
        self.settings = base.replace(**options) if options else base
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self.refusal_policy: RefusalPolicy = refusal_policy or TikTokRefusals()
        # urllib3 must never re-send on its own: every attempt on the wire has to
        # pass admission, so its retries are off and ours run in send().
        super().__init__(
            pool_connections=pool_connections,
            pool_maxsize=pool_maxsize,
            max_retries=0,
            pool_block=pool_block,
        )
        self._setup()

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> TikTokAdapter:
        return cls(settings, **kwargs)

    def _setup(self) -> None:
        s = self.settings
        self.retry_policy = RetryPolicy(s.max_retries, s.backoff_base, s.backoff_max)
        self.table = EndpointTable.build(get_preset(s.preset), s.limits)
        app = s.effective_app_limit
        self._app_windows = tuple(
            Window(_window_key("app", r.amount, r.period, r.calendar), r)
            for r in (parse_rates(app, "app_limit") if app else ())
        )
        self._routes: dict[str, Route] = {}
        self._random = random.Random()
        self._use_now = not (s.storage_time and storage_scheme(s.storage_uri) != "memory")
        store = open_store(
            s.storage_uri,
            key_prefix=s.key_prefix,
            margin=s.safety_margin,
            use_storage_time=s.storage_time,
        )
        if storage_scheme(s.storage_uri) != "memory":
            store = FallbackStore(
                store,
                self.clock,
                margin=s.safety_margin,
                raise_errors=s.on_storage_error == "raise",
            )
        self.store: Store = store

    def __setstate__(self, state: dict[str, Any]) -> None:
        # HTTPAdapter restores __attrs__ and its pools; we rebuild what derives from them.
        super().__setstate__(state)  # type: ignore[misc]
        self._setup()

    # -- the recipe ---------------------------------------------------------------

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
        attempt = 0
        while True:
            self.admit(request, route)
            try:
                response = super().send(
                    request,
                    stream=stream,
                    timeout=timeout,
                    verify=verify,
                    cert=cert,
                    proxies=proxies,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if not self.should_resend_after_error(request, route, exc, attempt):
                    raise
                attempt += 1
                self.clock.sleep(self._backoff(attempt))
                continue
            refusal = self.observe(request, route, response, stream)
            if refusal is None:
                return response
            if self.settings.on_limit == "raise":
                raise self._server_refused(request, route, response, refusal)
            if not self.should_resend_after_refusal(request, refusal, attempt):
                # After the last retry the caller gets the final refusal itself,
                # as plain requests would give it: a response, never None.
                return response
            attempt += 1
            _discard(response)

    def resolve(self, request: requests.PreparedRequest) -> Route:
        """The route (windows and blocks) for the request's URL path."""
        url = request.url or ""
        key = url.split("?", 1)[0]
        route = self._routes.get(key)
        if route is None:
            route = self._build_route(key)
            if len(self._routes) >= _ROUTE_CACHE_SIZE:
                self._routes.clear()
            self._routes[key] = route
        return route

    def admit(self, request: requests.PreparedRequest, route: Route) -> float:
        """Wait until every window admits the request, or raise; returns seconds waited."""
        waited = 0.0
        clock = self.clock
        s = self.settings
        while True:
            now = clock.now()
            try:
                verdict = self.store.acquire(
                    route.windows, route.blocks, now if self._use_now else None
                )
            except StorageError as exc:
                raise StorageUnavailable(
                    f"rate-limit storage unavailable for {route.name} and "
                    f"on_storage_error='raise'; nothing was sent ({exc})",
                    retry_after=0.0,
                    endpoint=route.name,
                    limit="storage",
                    request=request,
                ) from None
            if verdict.admitted:
                return waited
            wait = verdict.wait
            cap = s.max_wait
            if cap is None and verdict.calendar:
                cap = QUOTA_WAIT_CAP
            if s.on_limit == "raise" or (cap is not None and waited + wait > cap):
                raise self._refused(request, route, verdict, now)
            if wait > _LONG_WAIT:
                logger.info(
                    "waiting %.0f s for %s: limit %s resets at %s",
                    wait,
                    route.name,
                    verdict.limit,
                    _utc(now + wait).isoformat(timespec="seconds"),
                )
            clock.sleep(wait)
            waited += wait

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
        refusal = self.refusal_policy.classify(response, info, may_read_body=not stream)
        if refusal is not None:
            self._block_for_refusal(route, refusal, info, now)
        elif info is not None and info.remaining == 0 and info.reset_at is not None:
            self._block(route, info.reset_at, now)
        return refusal

    def should_resend_after_error(
        self,
        request: requests.PreparedRequest,
        route: Route,
        exc: Exception,
        attempt: int,
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
        body_replayable = request.body is None or isinstance(request.body, (bytes, str))
        return body_replayable and self.retry_policy.may_retry(attempt)

    def record_cache(self, request: requests.PreparedRequest, hit: bool) -> None:
        """Count a cache hit or miss for the request's endpoint (called by the cache layer)."""

    def close(self) -> None:
        super().close()
        self.store.close()

    # -- helpers ------------------------------------------------------------------

    def _build_route(self, url_path: str) -> Route:
        path = urlsplit(url_path).path or "/"
        endpoint: Endpoint | None = self.table.match(path)
        name = endpoint.path if endpoint else normalize_path(path)
        windows: list[Window] = []
        if endpoint is None or endpoint.counts_toward_app:
            windows.extend(self._app_windows)
        if endpoint is not None:
            for r in parse_rates(endpoint.limits, f"limits[{endpoint.path!r}]"):
                windows.append(Window(_window_key(name, r.amount, r.period, r.calendar), r))
        return Route(
            name=name,
            read_only=endpoint.read_only if endpoint else False,
            windows=tuple(windows),
            blocks=("ep:" + name,),
        )

    def _backoff(self, attempt: int) -> float:
        return self.retry_policy.backoff_time(attempt, self._random.random())

    def _block(self, route: Route, until: float, now: float) -> None:
        until = now + self.retry_policy.clamp_server_wait(until - now)
        try:
            self.store.block(route.blocks[0], until, now)
        except StorageError as exc:
            logger.warning("could not share the block of %s: %s", route.name, exc)

    def _block_for_refusal(
        self, route: Route, refusal: Refusal, info: RateInfo | None, now: float
    ) -> None:
        if refusal.retry_at is not None:
            until = refusal.retry_at
        elif refusal.kind == QUOTA:
            until = _next_utc_midnight(now)
        else:
            until = now + self._backoff(1)
        logger.warning(
            "%s refused by the server (%s); pausing it for %.1f s",
            route.name,
            refusal.code,
            max(until - now, 0.0),
        )
        self._block(route, until, now)

    def _refused(
        self,
        request: requests.PreparedRequest,
        route: Route,
        verdict: Admission,
        now: float,
    ) -> RateLimitExceeded:
        reset_at = _utc(now + verdict.wait)
        if verdict.calendar:
            return QuotaExhausted(
                f"{route.name}: the quota {verdict.limit} is spent; it comes back at "
                f"{reset_at.isoformat(timespec='seconds')}",
                retry_after=verdict.wait,
                endpoint=route.name,
                limit=verdict.limit,
                request=request,
                reset_at=reset_at,
            )
        return RateLimitExceeded(
            f"{route.name}: limit {verdict.limit} reached; retry in {verdict.wait:.2f} s",
            retry_after=verdict.wait,
            endpoint=route.name,
            limit=verdict.limit,
            request=request,
            reset_at=reset_at,
        )

    def _server_refused(
        self,
        request: requests.PreparedRequest,
        route: Route,
        response: requests.Response,
        refusal: Refusal,
    ) -> RateLimitExceeded:
        now = self.clock.now()
        until = self.store.blocked_until(route.blocks[0], now)
        wait = max(until - now, 0.0)
        cls = QuotaExhausted if refusal.kind == QUOTA else RateLimitExceeded
        return cls(
            f"{route.name}: refused by the server ({refusal.code}); retry in {wait:.2f} s",
            retry_after=wait,
            endpoint=route.name,
            limit="server",
            request=request,
            response=response,
            reset_at=_utc(now + wait),
        )


def mount(
    session: requests.Session,
    adapter: TikTokAdapter | None = None,
    *,
    base_url: str = OPEN_API_BASE,
    **kwargs: Any,
) -> TikTokAdapter:
    """Mount ``adapter`` (or a new one built from ``kwargs``) on exactly ``base_url``.

    The trailing slash matters: a prefix without it would also cover look-alike
    hosts such as ``open.tiktokapis.com.evil.example``.
    """
    if adapter is None:
        adapter = TikTokAdapter(**kwargs)
    elif kwargs:
        raise TypeError("pass either an adapter or settings for a new one, not both")
    if not base_url.endswith("/"):
        base_url += "/"
    session.mount(base_url, adapter)
    return adapter


def _window_key(scope: str, amount: int, period: float, calendar: bool) -> str:
    return f"{scope}|{amount}/{period:g}{'@utc' if calendar else ''}"


def _utc(timestamp: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)


def _next_utc_midnight(now: float) -> float:
    return (now // 86400 + 1) * 86400


def _discard(response: requests.Response) -> None:
    """Release a refused response's connection before the next attempt."""
    try:
        response.content  # noqa: B018 - reading drains the body so the connection is reused
    except (requests.RequestException, RuntimeError):
        pass
    response.close()
